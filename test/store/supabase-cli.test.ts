import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/local/supabase-twin/migrations.ts';
import { createPostgresBackend } from '../../src/local/supabase-twin/postgres-backend.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import {
  cliDbUrl,
  FOREIGN_MIGRATION,
  platformProject,
  pushPlatformThenVyxbot,
  runSupabaseCli,
} from '../helpers/supabase-cli.ts';

// docs/deploying.md's install path, with the real Supabase CLI (npm `supabase`, pinned 2.117.0):
// on a database whose migration history already holds the platform's own migration. The store
// contract suite runs on such a database too (store-backends.ts, variant 'cli').
describe('vyxbot migrations through the Supabase CLI, beside the platform’s history', () => {
  let db: TestDatabase;
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  beforeAll(async () => {
    db = await createTestDatabase('vyx_cli');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('pushing from vyxbot’s own repository is refused by the CLI, and changes nothing', async () => {
    const project = platformProject();
    try {
      const first = await runSupabaseCli(['db', 'push', '--db-url', cliDbUrl(db.url), '--yes'], project.dir);
      expect(first.code, first.output).toBe(0);
    } finally {
      project.remove();
    }
    const own = await runSupabaseCli(
      ['db', 'push', '--db-url', cliDbUrl(db.url), '--yes'],
      new URL('../../', import.meta.url).pathname,
    );
    expect(own.code).not.toBe(0);
    expect(own.output).toContain('Remote migration versions not found in local migrations directory');
    expect(await query('select version from supabase_migrations.schema_migrations')).toEqual([
      { version: FOREIGN_MIGRATION.version },
    ]);
  });

  it('copied into the platform’s migrations, pushed with --include-all: applied, recorded, rows kept, lint clean', async () => {
    const other = await createTestDatabase('vyx_cli');
    try {
      const { vyxbotFiles, push } = await pushPlatformThenVyxbot(other.url);
      for (const f of vyxbotFiles) expect(push.output).toContain(`Applying migration ${f}`);
      const c = new pg.Client({ connectionString: other.url });
      await c.connect();
      try {
        const versions = (
          await c.query('select version from supabase_migrations.schema_migrations order by 1')
        ).rows.map((r) => r.version);
        expect(versions).toEqual(
          [FOREIGN_MIGRATION.version, ...vyxbotFiles.map((f) => f.slice(0, 14))].sort(),
        );
        const row = (await c.query(`select user_id::text, status, status_written_by from cloud_machines`))
          .rows;
        expect(row).toEqual([
          {
            user_id: '63eea370-0000-4000-8000-00000000f00d',
            status: 'provisioning',
            status_written_by: null,
          },
        ]);
      } finally {
        await c.end();
      }
      // The twin's own runner agrees with what the CLI recorded: nothing left to apply.
      const backend = createPostgresBackend(other.url);
      try {
        expect((await applyMigrations(backend)).applied).toEqual([]);
      } finally {
        await backend.close();
      }
      const lint = await runSupabaseCli(
        ['db', 'lint', '--db-url', cliDbUrl(other.url), '--level', 'warning', '--fail-on', 'warning'],
        new URL('../../', import.meta.url).pathname,
      );
      expect(lint.code, lint.output).toBe(0);
      expect(lint.output).toContain('No schema errors found');
    } finally {
      await other.drop();
    }
  });
});
