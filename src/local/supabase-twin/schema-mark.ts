import { createHash } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgliteVersion } from './data-dir-template.ts';
import type { GatewayCatalogue } from './supabase-gateway.ts';

/** Bumped when what a mark holds or how it is keyed changes. */
const FORMAT = 1;
const FILE = 'vyx-schema.json';

/**
 * What an embedded database's directory records about its schema, once every migration of a set
 * was applied (or found applied) and the gateway read its catalogue: the set's key, and that
 * catalogue. A start whose migration files have the same key skips the migration check and the
 * catalogue's queries (~0.1–0.2 s of a warm start); any other key (a file added, changed or
 * renamed, another PGlite) takes the full path, which applies, verifies or refuses as before.
 * It lives inside the data directory, so a copy or a restore of it carries its own mark.
 */
export interface SchemaMark {
  format: number;
  key: string;
  catalogue: GatewayCatalogue;
}

/** The key of a migration set: every file's name and text, and the PGlite build. */
export function schemaKey(migrations: { name: string; text: string }[]): string {
  const hash = createHash('sha256').update(`format ${FORMAT}\npglite ${pgliteVersion()}\n`);
  for (const m of migrations) hash.update(`${m.name}\n${m.text.length}\n${m.text}\n`);
  return hash.digest('hex');
}

/** The mark of the database at `location`, if it names exactly this key. */
export function readSchemaMark(location: string, key: string): SchemaMark | undefined {
  try {
    const mark = JSON.parse(readFileSync(join(location, FILE), 'utf8')) as SchemaMark;
    const c = mark.catalogue;
    const whole = Array.isArray(c?.schemas) && Array.isArray(c.functions) && Array.isArray(c.tables);
    return mark.format === FORMAT && mark.key === key && whole ? mark : undefined;
  } catch {
    return undefined;
  }
}

/** Records the mark (written aside and renamed: a kill midway leaves the old mark or none). */
export function writeSchemaMark(location: string, key: string, catalogue: GatewayCatalogue): void {
  const partial = join(location, `${FILE}.${process.pid}`);
  try {
    writeFileSync(partial, JSON.stringify({ format: FORMAT, key, catalogue } satisfies SchemaMark));
    renameSync(partial, join(location, FILE));
  } catch {
    // Best effort: without a mark the next start only checks again.
    rmSync(partial, { force: true });
  }
}

/** Forgets the mark: the schema is about to change (a migration being applied). */
export function clearSchemaMark(location: string): void {
  rmSync(join(location, FILE), { force: true });
}
