import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { DataDirTemplate, TEMPLATE_CACHE_DIR } from './data-dir-template.ts';
import { applyMigrations, type MigrationResult, readMigrations } from './migrations.ts';
import { createPgliteBackend } from './pglite-backend.ts';
import type { SqlBackend } from './sql-backend.ts';

export interface EmbeddedDatabase {
  backend: SqlBackend;
  migrations: MigrationResult;
  /** Where the data lives, or `memory://`. */
  location: string;
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
}): Promise<EmbeddedDatabase> {
  if (options.dataDir === null) {
    const db = await PGlite.create({ startParams: START_PARAMS });
    const backend = createPgliteBackend(db);
    const migrations = await applyMigrations(backend);
    return { backend, migrations, location: 'memory://', close: () => backend.close() };
  }
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const location = join(dir, 'pglite');
  const lock = acquireDataDirLock(join(dir, 'pglite.lock'), `the embedded database ${location}`);
  try {
    const templateCache = options.templateCache === undefined ? TEMPLATE_CACHE_DIR : options.templateCache;
    const created = existsSync(location) ? undefined : await createDataDir(dir, location, templateCache);
    const db = await PGlite.create({ dataDir: location, startParams: START_PARAMS });
    const backend = createPgliteBackend(db, async () => {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    });
    const migrations = await applyMigrations(backend);
    return { backend, migrations: created ?? migrations, location, close: () => backend.close() };
  } catch (err) {
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
  dir: string,
  location: string,
  templateCache: string | null,
): Promise<MigrationResult> {
  // We hold the lock: any partial directory is a start that was killed.
  for (const name of readdirSync(dir)) {
    if (name.startsWith('pglite.partial-')) rmSync(join(dir, name), { recursive: true, force: true });
  }
  const partial = `${location}.partial-${process.pid}`;
  const template = templateCache === null ? undefined : new DataDirTemplate(templateCache, readMigrations());
  const restored = template?.restore(partial);
  if (restored) {
    renameSync(partial, location);
    return { applied: restored, skipped: [] };
  }
  const db = await PGlite.create({ dataDir: partial, startParams: START_PARAMS });
  let migrations: MigrationResult;
  try {
    migrations = await applyMigrations(createPgliteBackend(db));
  } finally {
    await db.close();
  }
  template?.save(partial);
  renameSync(partial, location);
  return migrations;
}
