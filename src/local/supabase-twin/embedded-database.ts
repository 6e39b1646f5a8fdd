import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { acquireDataDirLock } from './data-dir-lock.ts';
import { applyMigrations, type MigrationResult } from './migrations.ts';
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
 * The embedded Postgres (PGlite) of the local Supabase twin: persistent under `<dataDir>/pglite`,
 * guarded by a pid lock so a second process fails fast, with Supabase's roles and every migration
 * applied. `dataDir: null` keeps it in memory (tests).
 */
export async function openEmbeddedDatabase(options: { dataDir: string | null }): Promise<EmbeddedDatabase> {
  if (options.dataDir === null) {
    const db = await PGlite.create();
    const backend = createPgliteBackend(db);
    const migrations = await applyMigrations(backend);
    return { backend, migrations, location: 'memory://', close: () => backend.close() };
  }
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const location = join(dir, 'pglite');
  const lock = acquireDataDirLock(join(dir, 'pglite.lock'), `the embedded database ${location}`);
  try {
    const db = await PGlite.create({ dataDir: location });
    const backend = createPgliteBackend(db, async () => {
      try {
        await db.close();
      } finally {
        lock.release();
      }
    });
    const migrations = await applyMigrations(backend);
    return { backend, migrations, location, close: () => backend.close() };
  } catch (err) {
    lock.release();
    throw err;
  }
}
