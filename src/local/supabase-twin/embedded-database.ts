import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { DataDirTemplate, TEMPLATE_CACHE_DIR } from './data-dir-template.ts';
import { applyMigrations, MIGRATIONS_DIR, type MigrationResult, readMigrations } from './migrations.ts';
import { createPgliteBackend } from './pglite-backend.ts';
import type { WasmModule } from './pglite-wasm.ts';
import { clearSchemaMark, readSchemaMark, schemaKey, writeSchemaMark } from './schema-mark.ts';
import type { SqlBackend } from './sql-backend.ts';
import type { GatewayCatalogue } from './supabase-gateway.ts';

export interface EmbeddedDatabase {
  backend: SqlBackend;
  migrations: MigrationResult;
  /** Where the data lives, or `memory://`. */
  location: string;
  /** The gateway's catalogue from the directory's schema mark, when it names these migrations. */
  catalogue?: GatewayCatalogue;
  /** Records the schema mark once the gateway has read its catalogue (after a full migration check). */
  remember?(catalogue: GatewayCatalogue): void;
  close(): Promise<void>;
}

/**
 * Postgres's default 128 MB of shared buffers costs PGlite most of a second at every open (the
 * WASM memory is grown and initialised); a local twin's tables fit in far less.
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'];

/**
 * The embedded Postgres (PGlite) of the local Supabase twin: persistent under `<dataDir>/pglite`,
 * guarded by a pid lock so a second process fails fast, with Supabase's roles and every migration
 * applied. `dataDir: null` keeps it in memory (tests). A new data directory is a copy of the
 * checkout's template (see DataDirTemplate) under `templateCache`; null makes it from scratch.
 */
export async function openEmbeddedDatabase(options: {
  dataDir: string | null;
  templateCache?: string | null;
  /** PGlite's WASM compiled already (pgliteWasmModule), e.g. while the caller had nothing to open yet. */
  wasmModule?: WasmModule;
  /** Default: the checkout's supabase/migrations. */
  migrationsDir?: string;
}): Promise<EmbeddedDatabase> {
  const migrationsDir = options.migrationsDir ?? MIGRATIONS_DIR;
  const pgliteWasmModule = options.wasmModule;
  const create = (dataDir?: string) =>
    PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      startParams: START_PARAMS,
      // PGlite's own type for it is WebAssembly.Module, which this project's lib does not declare.
      ...(pgliteWasmModule ? { pgliteWasmModule: pgliteWasmModule as never } : {}),
    });
  if (options.dataDir === null) {
    const db = await create();
    const backend = createPgliteBackend(db);
    const migrations = await applyMigrations(backend, migrationsDir);
    return { backend, migrations, location: 'memory://', close: () => backend.close() };
  }
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const location = join(dir, 'pglite');
  const lock = acquireDataDirLock(join(dir, 'pglite.lock'), `the embedded database ${location}`);
  let db: PGlite | undefined;
  try {
    const templateCache = options.templateCache === undefined ? TEMPLATE_CACHE_DIR : options.templateCache;
    const files = readMigrations(migrationsDir);
    const key = schemaKey(files);
    const created = existsSync(location)
      ? undefined
      : await createDataDir(location, templateCache, create, migrationsDir);
    const mark = created ? undefined : readSchemaMark(location, key);
    // Checked (or applied) below: a failure on the way must not leave the old mark standing.
    if (!mark) clearSchemaMark(location);
    performance.mark('vyx:pglite-create');
    const opened = await create(location);
    db = opened;
    performance.mark('vyx:pglite-open');
    const backend = createPgliteBackend(opened, async () => {
      try {
        await opened.close();
      } finally {
        lock.release();
      }
    });
    // The same migration set as when the mark was made: nothing to apply, nothing to check.
    const migrations = mark
      ? { applied: [], skipped: files.map((f) => f.name) }
      : await applyMigrations(backend, migrationsDir);
    performance.mark('vyx:migrations');
    return {
      backend,
      migrations: created ?? migrations,
      location,
      ...(mark
        ? { catalogue: mark.catalogue }
        : { remember: (catalogue: GatewayCatalogue) => writeSchemaMark(location, key, catalogue) }),
      close: () => backend.close(),
    };
  } catch (err) {
    // Closed before the lock is given back: a refused migration leaves no database open behind it.
    await db?.close().catch(() => {});
    lock.release();
    throw err;
  }
}

/**
 * Makes `location` (absent): made aside and renamed into place, so a start killed midway leaves
 * no half-made database to resume. From the template when there is one; otherwise initdb and the
 * migrations, closed cleanly, then kept as the template for the next new data directory.
 */
async function createDataDir(
  location: string,
  templateCache: string | null,
  create: (dataDir: string) => Promise<PGlite>,
  migrationsDir: string,
): Promise<MigrationResult> {
  const dir = dirname(location);
  // We hold the lock: any partial directory is a start that was killed.
  for (const name of readdirSync(dir)) {
    if (name.startsWith('pglite.partial-')) rmSync(join(dir, name), { recursive: true, force: true });
  }
  const partial = `${location}.partial-${process.pid}`;
  const template =
    templateCache === null ? undefined : new DataDirTemplate(templateCache, readMigrations(migrationsDir));
  const restored = template?.restore(partial);
  if (restored) {
    renameSync(partial, location);
    return { applied: restored, skipped: [] };
  }
  const db = await create(partial);
  let migrations: MigrationResult;
  try {
    migrations = await applyMigrations(createPgliteBackend(db), migrationsDir);
  } finally {
    await db.close();
  }
  template?.save(partial);
  renameSync(partial, location);
  return migrations;
}
