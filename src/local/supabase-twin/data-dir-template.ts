import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive } from './data-dir-lock.ts';

/** Where templates live: beside Node's compile cache, per installed checkout, never in git. */
export const TEMPLATE_CACHE_DIR = fileURLToPath(
  new URL('../../../node_modules/.cache/vyxbot-pglite-template/', import.meta.url),
);

/** Bumped when what a template holds or how it is checked changes. */
const FORMAT = 1;

interface Manifest {
  format: number;
  key: string;
  /** Migration files applied in the template, in order. */
  migrations: string[];
  dirs: string[];
  files: { path: string; size: number; mode: number; sha256: string }[];
}

/**
 * A freshly initialised, fully migrated PGlite data directory kept once per checkout, so a new data
 * directory is a verified copy (tens of milliseconds) instead of initdb and every migration
 * (seconds). The key names the PGlite build and every migration's text: either changing makes a
 * new template. Each file's size and SHA-256 are checked on every copy, so a truncated or altered
 * template is dropped rather than trusted.
 */
export class DataDirTemplate {
  readonly key: string;
  private readonly dir: string;
  private readonly root: string;
  private readonly migrations: { name: string; text: string }[];

  constructor(root: string, migrations: { name: string; text: string }[]) {
    this.root = root;
    this.migrations = migrations;
    const hash = createHash('sha256').update(`format ${FORMAT}\npglite ${pgliteVersion()}\n`);
    for (const m of migrations) hash.update(`${m.name}\n${m.text.length}\n${m.text}\n`);
    this.key = hash.digest('hex').slice(0, 24);
    this.dir = join(root, this.key);
  }

  /**
   * Copies the template into `target` (absent). Returns the migrations it holds, or undefined when
   * there is no template or it fails its check (it is then removed; `target` is left absent).
   */
  restore(target: string): string[] | undefined {
    const manifest = this.manifest();
    if (!manifest) return undefined;
    try {
      mkdirSync(target, { recursive: true, mode: 0o700 });
      for (const d of manifest.dirs) mkdirSync(join(target, d), { recursive: true, mode: 0o700 });
      for (const f of manifest.files) {
        const bytes = readFileSync(join(this.dir, 'data', f.path));
        if (bytes.length !== f.size || sha256(bytes) !== f.sha256)
          throw new Error(`template file ${f.path} differs`);
        writeFileSync(join(target, f.path), bytes, { mode: f.mode });
      }
      return manifest.migrations;
    } catch {
      rmSync(target, { recursive: true, force: true });
      rmSync(this.dir, { recursive: true, force: true });
      return undefined;
    }
  }

  /**
   * Keeps `source` (a data directory closed cleanly right after its migrations) as the template.
   * Written aside and renamed into place, so a kill midway leaves no template rather than half of
   * one. Best effort: a cache that cannot be written only costs the next cold start its speed.
   */
  save(source: string): void {
    if (this.manifest()) return;
    const partial = join(this.root, `.partial-${this.key}-${process.pid}`);
    try {
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(join(partial, 'data'), { recursive: true });
      const manifest: Manifest = {
        format: FORMAT,
        key: this.key,
        migrations: this.migrations.map((m) => m.name),
        dirs: [],
        files: [],
      };
      const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          const rel = relative(source, path);
          if (entry.isDirectory()) {
            manifest.dirs.push(rel);
            mkdirSync(join(partial, 'data', rel));
            walk(path);
          } else if (entry.isFile()) {
            const bytes = readFileSync(path);
            const mode = statSync(path).mode & 0o777;
            writeFileSync(join(partial, 'data', rel), bytes, { mode });
            manifest.files.push({ path: rel, size: bytes.length, mode, sha256: sha256(bytes) });
          }
        }
      };
      walk(source);
      writeFileSync(join(partial, 'manifest.json'), JSON.stringify(manifest));
      this.pruneOthers();
      renameSync(partial, this.dir);
    } catch {
      // Another process saved the same template first, or the cache is not writable.
      rmSync(partial, { recursive: true, force: true });
    }
  }

  private manifest(): Manifest | undefined {
    try {
      const m = JSON.parse(readFileSync(join(this.dir, 'manifest.json'), 'utf8')) as Manifest;
      return m.format === FORMAT && m.key === this.key && Array.isArray(m.files) ? m : undefined;
    } catch {
      return undefined;
    }
  }

  /** Templates of other keys (older migrations) and partials of dead processes: 40 MB each. */
  private pruneOthers(): void {
    if (!existsSync(this.root)) return;
    for (const name of readdirSync(this.root)) {
      const pid = /^\.partial-[0-9a-f]+-(\d+)$/.exec(name)?.[1];
      const stale = pid ? !isAlive(Number(pid)) : name !== this.key;
      if (stale) rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The installed PGlite (its Postgres build decides the data files and the catalogue). */
export function pgliteVersion(): string {
  const pkg = fileURLToPath(new URL('../package.json', import.meta.resolve('@electric-sql/pglite')));
  return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
}
