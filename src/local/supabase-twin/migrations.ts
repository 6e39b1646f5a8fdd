import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VyxError } from '../../errors/vyx-error.ts';
import type { SqlBackend } from './sql-backend.ts';

export const MIGRATIONS_DIR = new URL('../../../supabase/migrations/', import.meta.url).pathname;

const FILE_PATTERN = /^([0-9]+)_(.*)\.sql$/;

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

/** The migration files in name order, with their text. */
export function readMigrations(dir: string = MIGRATIONS_DIR): { name: string; text: string }[] {
  return readdirSync(dir)
    .filter((f) => FILE_PATTERN.test(f))
    .sort()
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }));
}

/**
 * Applies `supabase/migrations/*.sql` in name order, each in its own transaction, and records each
 * in `supabase_migrations.schema_migrations` exactly as the Supabase CLI does, so a database
 * migrated here and one migrated by `supabase db push` agree on what has been applied.
 */
export async function applyMigrations(
  backend: SqlBackend,
  dir: string = MIGRATIONS_DIR,
): Promise<MigrationResult> {
  const migrations = readMigrations(dir);
  const files = migrations.map((m) => m.name);
  const texts = migrations.map((m) => m.text);
  const bare = (text: string) => text.replace(/[;\s]+$/, '');
  // A warm start: every file recorded already, each from the same text — one query instead of a
  // transaction (and an advisory lock) per file. Anything else takes the careful path below.
  const known = await backend.query(
    `select to_regclass('supabase_migrations.schema_migrations') is not null as present`,
  );
  if (known.rows[0]?.present === true) {
    const { rows } = await backend.query(
      'select version, statements from supabase_migrations.schema_migrations',
    );
    const recorded = new Map(rows.map((r) => [String(r.version), r.statements as string[] | null]));
    const upToDate = files.every((file, i) => {
      const statements = recorded.get(FILE_PATTERN.exec(file)?.[1] ?? '');
      return (
        statements !== undefined &&
        !(statements?.length === 1 && bare(statements[0] ?? '') !== bare(texts[i]!))
      );
    });
    if (upToDate) return { applied: [], skipped: files };
  }
  await backend.transaction(async (tx) => {
    await tx.exec(`
      create schema if not exists supabase_migrations;
      create table if not exists supabase_migrations.schema_migrations (
        version text primary key, statements text[], name text);
    `);
  });
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const [i, file] of files.entries()) {
    const [, version = '', name = ''] = FILE_PATTERN.exec(file) ?? [];
    const sql = texts[i]!;
    const applied = await backend.transaction(async (tx) => {
      // Several replicas may start at once: one applies, the others wait and then skip.
      if (backend.kind === 'postgres')
        await tx.query(`select pg_advisory_xact_lock(hashtext('vyx_migrations'))`);
      const seen = await tx.query(
        'select statements from supabase_migrations.schema_migrations where version = $1',
        [version],
      );
      if (seen.rows.length > 0) {
        // Recorded by this runner (one statement: the whole file) from a different text: the file was
        // edited after this database got it, so its functions are stale. Say so instead of running on.
        // (The CLI records a file split into statements without their final `;`: compared alike.)
        const recorded = seen.rows[0]!.statements as string[] | null;
        if (recorded?.length === 1 && bare(recorded[0] ?? '') !== bare(sql)) {
          throw new VyxError('MIGRATION_CHANGED', `${file} changed after it was applied to this database`, {
            suggestion:
              'Local data only: delete VYX_DATA_DIR/pglite (or recreate the DATABASE_URL database) and start again.',
            details: { file },
          });
        }
        return false;
      }
      try {
        await tx.exec(sql);
      } catch (err) {
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx.query(
        'insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)',
        [version, name, [sql]],
      );
      return true;
    });
    (applied ? result.applied : result.skipped).push(file);
  }
  return result;
}
