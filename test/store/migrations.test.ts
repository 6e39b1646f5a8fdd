import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/local/supabase-twin/migrations.ts';
import { createPostgresBackend } from '../../src/local/supabase-twin/postgres-backend.ts';
import type { SqlBackend } from '../../src/local/supabase-twin/sql-backend.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

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

  it('the stuck row from before vyxbot and the one with an unknown status word are claimable; status can be reported', async () => {
    const { rows } = await sql.query(`select machine_id, status from vyx_claim_stuck('w', 60, 30, 10)`);
    expect(rows.map((r) => [r.machine_id, r.status])).toEqual([
      ['vyx-legacy01', 'provisioning'],
      ['vyx-63eea370', 'starting'],
    ]);
    await sql.query(`select vyx_release_leases('w')`);
    await sql.query(`select vyx_report_status('vyx-63eea370', 'running')`);
    const ev = await sql.query(
      `select old_status, new_status from machine_events where machine_id = 'vyx-63eea370'`,
    );
    expect(ev.rows).toEqual([{ old_status: 'starting', new_status: 'running' }]);
  });

  it("a platform writer's status word outside the vocabulary is stored as written, with its writer", async () => {
    await sql.query(`update cloud_machines set status = 'exploded' where machine_id = 'vyx-0ld0ne00'`);
    const { rows } = await sql.query(
      `select machine_id, status, status_written_by from cloud_machines where machine_id in ('vyx-0ld0ne00', 'vyx-legacy01') order by 1`,
    );
    expect(rows.map((r) => r.status)).toEqual(['exploded', 'provisioning']);
    expect(rows[0].status_written_by).toMatchObject({ role: 'postgres', db_user: 'postgres' });
    expect(rows[1].status_written_by).toBeNull(); // written before vyxbot: nobody knows
  });

  it('a platform role with plain table rights writes any status, and a write matching nothing, without error', async () => {
    await sql.query(`
      do $$ begin
        if not exists (select 1 from pg_roles where rolname = 'vyx_test_platform') then
          create role vyx_test_platform nologin;
        end if;
      end $$;
      grant select, insert, update on cloud_machines to vyx_test_platform;`);
    await sql.query('begin');
    try {
      await sql.query('set local role vyx_test_platform');
      await sql.query(`update cloud_machines set status = 'provisioning' where machine_id = 'vyx-0ld0ne00'`);
      await sql.query(
        `update cloud_machines set status = 'running' where machine_id = 'machine_1759437443244'`,
      );
      await sql.query(
        `insert into cloud_machines (machine_id, user_id, status) values ('web-1', 'user-9', 'queued')`,
      );
      // Even with junk in PostgREST's claims setting, the write goes through.
      await sql.query(`select set_config('request.jwt.claims', 'not json', true)`);
      await sql.query(`update cloud_machines set status = 'stopped' where machine_id = 'web-1'`);
    } finally {
      await sql.query('rollback');
    }
    await sql.query('begin');
    try {
      await sql.query('set local role vyx_test_platform');
      await sql.query(
        `update cloud_machines set status = 'running' where machine_id = 'machine_1759437443244'`,
      );
      await sql.query('commit');
    } catch (err) {
      await sql.query('rollback');
      throw err;
    }
    const { rows } = await sql.query(`select writer from vyx_unmatched_writes order by id desc limit 1`);
    expect(rows[0].writer).toMatchObject({ role: 'vyx_test_platform', db_user: 'postgres' });
  });

  it('the large-table preparation (CONCURRENTLY, outside a transaction) leaves the migrations nothing to build', async () => {
    const other = await createTestDatabase();
    const c = new pg.Client({ connectionString: other.url });
    await c.connect();
    const b = createPostgresBackend(other.url);
    try {
      await c.query(`create table cloud_machines (machine_id text primary key, user_id uuid not null, status text not null, updated_at timestamptz not null default now());
        insert into cloud_machines select 'web-' || i, gen_random_uuid(), 'running', now() from generate_series(1, 1000) i;`);
      const file = new URL('../../supabase/manual/prepare-large-cloud-machines.sql', import.meta.url);
      const statements = readFileSync(file, 'utf8')
        .replace(/--.*$/gm, '')
        .split(';')
        .map((st) => st.trim())
        .filter(Boolean);
      for (const st of statements) await c.query(st); // one at a time, as psql runs the file
      const before = (
        await c.query(`select indexname from pg_indexes where tablename = 'cloud_machines' order by 1`)
      ).rows;
      await applyMigrations(b);
      const after = (
        await c.query(`select indexname from pg_indexes where tablename = 'cloud_machines' order by 1`)
      ).rows;
      expect(after).toEqual(before);
      expect(before.length).toBe(7);
    } finally {
      await c.end();
      await b.close();
      await other.drop();
    }
  });

  it('a migration file edited after a database got it is named, not silently skipped', async () => {
    const other = await createTestDatabase();
    const b = createPostgresBackend(other.url);
    const dir = mkdtempSync(join(tmpdir(), 'vyx-migrations-'));
    try {
      writeFileSync(join(dir, '20990101000000_one.sql'), 'create table t_one (id int);\n');
      expect((await applyMigrations(b, dir)).applied).toEqual(['20990101000000_one.sql']);
      expect((await applyMigrations(b, dir)).skipped).toEqual(['20990101000000_one.sql']);
      writeFileSync(join(dir, '20990101000000_one.sql'), 'create table t_one (id int, name text);\n');
      await expect(applyMigrations(b, dir)).rejects.toThrow(
        /20990101000000_one.sql changed after it was applied/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await b.close();
      await other.drop();
    }
  });

  it('every function vyxbot adds sets its search_path', async () => {
    const { rows } = await sql.query(`
      select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and (p.proname like 'vyx%' or p.proname = 'secure_vyx_functions')
        and not coalesce(array_to_string(p.proconfig, ',') like '%search_path=%', false)`);
    expect(rows).toEqual([]);
    const { rows: all } = await sql.query(
      `select count(*)::int as n from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname like 'vyx%'`,
    );
    expect(all[0].n).toBeGreaterThan(30);
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

  it('apply over users with several active rows, and the platform keeps writing such rows', async () => {
    const other = await createTestDatabase();
    const b = createPostgresBackend(other.url);
    try {
      await b.query(`
        create table cloud_machines (machine_id text, user_id text, status text, updated_at timestamptz);
        insert into cloud_machines values ('vyx-a', 'dup-user', 'running', now()), ('vyx-b', 'dup-user', 'starting', now());
      `);
      await applyMigrations(b);
      await b.query(
        `insert into cloud_machines (machine_id, user_id, status) values ('vyx-c', 'dup-user', 'running')`,
      );
      const { rows } = await b.query(
        `select count(*)::int as n from cloud_machines where user_id = 'dup-user'`,
      );
      expect(rows[0]?.n).toBe(3);
    } finally {
      await b.close();
      await other.drop();
    }
  });
});
