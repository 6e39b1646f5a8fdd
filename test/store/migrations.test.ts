import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/local/migrations.ts';
import { createPostgresBackend } from '../../src/local/postgres-backend.ts';
import type { SqlBackend } from '../../src/local/sql-backend.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/test-postgres.ts';

describe('migrations on an existing vyx database', () => {
  let db: TestDatabase;
  let backend: SqlBackend;
  let sql: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    // The platform's table as the incidents show it, with rows in it.
    await sql.query(`
      create table cloud_machines (machine_id text, user_id text, status text, updated_at timestamptz);
      insert into cloud_machines values
        ('vyx-63eea370', 'user-1', 'starting', '2025-10-02 20:30:00+00'),
        ('vyx-0ld0ne00', 'user-2', 'stopped', '2025-09-01 10:00:00+00'),
        ('vyx-legacy01', 'user-3', 'provisioning', '2025-09-02 10:00:00+00');
    `);
    backend = createPostgresBackend(db.url);
  });
  afterAll(async () => {
    await sql?.end();
    await backend?.close();
    await db?.drop();
  });

  it('apply on top of it, keep every row, and are recorded as the Supabase CLI records them', async () => {
    const first = await applyMigrations(backend);
    expect(first.applied.length).toBeGreaterThanOrEqual(2);

    const { rows } = await sql.query(
      `select machine_id, user_id, status, updated_at, status_changed_at, fly_machine_id from cloud_machines order by machine_id`,
    );
    expect(rows.map((r) => [r.machine_id, r.user_id, r.status])).toEqual([
      ['vyx-0ld0ne00', 'user-2', 'stopped'],
      ['vyx-63eea370', 'user-1', 'starting'],
      ['vyx-legacy01', 'user-3', 'provisioning'],
    ]);
    // Time in status is taken from updated_at, so the incident's row counts as stuck at once.
    const stuck = rows.find((r) => r.machine_id === 'vyx-63eea370');
    expect(stuck.status_changed_at.toISOString()).toBe('2025-10-02T20:30:00.000Z');
    expect(stuck.fly_machine_id).toBeNull();

    const versions = await sql.query(
      `select version, name from supabase_migrations.schema_migrations order by version`,
    );
    expect(versions.rows.map((r) => `${r.version}_${r.name}.sql`)).toEqual(first.applied);

    const again = await applyMigrations(backend);
    expect(again.applied).toEqual([]);
    expect(again.skipped).toEqual(first.applied);
  });

  it('the stuck row from before vyxbot is claimable and its status can be reported', async () => {
    const { rows } = await sql.query(`select machine_id from vyx_claim_stuck('w', 60, 30, 10)`);
    expect(rows.map((r) => r.machine_id)).toEqual(['vyx-63eea370']);
    await sql.query(`select vyx_report_status('vyx-63eea370', 'running')`);
    const ev = await sql.query(
      `select old_status, new_status from machine_events where machine_id = 'vyx-63eea370'`,
    );
    expect(ev.rows).toEqual([{ old_status: 'starting', new_status: 'running' }]);
  });

  it('new writes must use the status vocabulary, old rows keep theirs', async () => {
    await expect(
      sql.query(`update cloud_machines set status = 'exploded' where machine_id = 'vyx-0ld0ne00'`),
    ).rejects.toThrow(/cloud_machines_status_check/);
    const { rows } = await sql.query(`select status from cloud_machines where machine_id = 'vyx-legacy01'`);
    expect(rows[0].status).toBe('provisioning');
  });

  it('clients with the anon key see nothing; the service role sees all', async () => {
    await sql.query('begin');
    try {
      await sql.query('set local role anon');
      await expect(sql.query('select * from cloud_machines')).rejects.toThrow(/permission denied/);
    } finally {
      await sql.query('rollback');
    }
    await sql.query('begin');
    try {
      await sql.query('set local role anon');
      await expect(sql.query(`select vyx_list_machines()`)).rejects.toThrow(/permission denied/);
    } finally {
      await sql.query('rollback');
    }
    await sql.query('begin');
    try {
      await sql.query('set local role service_role');
      const { rows } = await sql.query('select count(*)::int as n from vyx_list_machines()');
      expect(rows[0].n).toBe(3);
    } finally {
      await sql.query('rollback');
    }
  });

  it('refuse to enforce one active machine per user over rows that break it, changing nothing', async () => {
    const other = await createTestDatabase();
    const b = createPostgresBackend(other.url);
    try {
      await b.query(`
        create table cloud_machines (machine_id text, user_id text, status text, updated_at timestamptz);
        insert into cloud_machines values ('vyx-a', 'dup-user', 'running', now()), ('vyx-b', 'dup-user', 'starting', now());
      `);
      await expect(applyMigrations(b)).rejects.toThrow(/users dup-user have several/);
      const { rows } = await b.query(`select count(*)::int as n from cloud_machines`);
      expect(rows[0]?.n).toBe(2);
      const cols = await b.query(
        `select count(*)::int as n from information_schema.columns where table_name = 'cloud_machines' and column_name = 'fly_app'`,
      );
      expect(cols.rows[0]?.n).toBe(0); // the failed migration rolled back whole
    } finally {
      await b.close();
      await other.drop();
    }
  });
});
