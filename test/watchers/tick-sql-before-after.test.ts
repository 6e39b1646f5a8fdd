import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { applyMigrations, readMigrations } from '../../src/local/supabase-twin/migrations.ts';
import { createPostgresBackend } from '../../src/local/supabase-twin/postgres-backend.ts';
import type { SqlBackend } from '../../src/local/supabase-twin/sql-backend.ts';
import { startSupabaseGateway } from '../../src/local/supabase-twin/supabase-gateway.ts';
import { projectKeys } from '../../src/store/supabase-jwt.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import type { TickReport } from '../../src/watchers/tick-report.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

// The tick's SQL was rewritten for speed (issue #17: claim and release by key, a page's leases given
// back by the diagnosis write). Row by row, a tick on the new functions must leave what the same
// tick left on the functions before (migrations up to 20261202100100): the same diagnoses, outbox
// events and rows, the same report. The fleet is big enough for a page to be recorded in two chunks.
const FIRST_NEW_MIGRATION = '20261203000000';
// The claim's columns for the watcher, over whichever vyx_claim_stuck_page the database has: both sides.
const CLAIM_ROWS_MIGRATION = '20261203000200_claim_stuck_rows.sql';
const APP = 'vyx-app';
const OTHER = 'vyx-eu';
const NOW = new Date();

interface Side {
  db: TestDatabase;
  backend: SqlBackend;
  store: VyxStore;
  /** One SQL function through the gateway, as supabase-js calls it: its answer, or its error. */
  rpc(fn: string, args: Record<string, unknown>): Promise<unknown>;
  close(): Promise<void>;
}

/** A database migrated up to (not including) `before`, or fully, behind the gateway. */
async function startSide(before?: string): Promise<Side> {
  const db = await createTestDatabase();
  const backend = createPostgresBackend(db.url);
  let dir: string | undefined;
  if (before) {
    dir = mkdtempSync(join(tmpdir(), 'vyx-old-migrations-'));
    for (const m of readMigrations()) {
      if (m.name < before || m.name === CLAIM_ROWS_MIGRATION) writeFileSync(join(dir, m.name), m.text);
    }
  }
  await applyMigrations(backend, dir);
  if (dir) rmSync(dir, { recursive: true });
  const jwtSecret = 'tick-sql-before-after-secret-0123456789';
  const keys = projectKeys(jwtSecret);
  const gateway = await startSupabaseGateway({
    backend,
    keys: { jwtSecret, apiKeys: [keys.anonKey, keys.serviceKey], secretKeys: [] },
    host: '127.0.0.1',
    port: 0,
  });
  return {
    db,
    backend,
    store: createVyxStore({ url: gateway.url, serviceKey: keys.serviceKey }),
    async rpc(fn, args) {
      const res = await fetch(`${gateway.url}/rest/v1/rpc/${fn}`, {
        method: 'POST',
        headers: {
          apikey: keys.serviceKey,
          authorization: `Bearer ${keys.serviceKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(args),
      });
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await gateway.close();
      await backend.close();
      await db.drop();
    },
  };
}

/**
 * Rows of several kinds: silent machines (most; a page of them is recorded in two chunks), machines
 * Fly lost (certain: the row is failed), rows never created, rows naming no app, diagnoses already
 * known (a reminder is due, or silenced), and orphan machines of ours.
 */
function buildFleet(emulator: FlyEmulator): string[] {
  const sql: string[] = [];
  const values: string[] = [];
  const row = (id: string, app: string | null, fly: string | null) =>
    values.push(
      `('${id}', 'u-${id}', 'starting', ${app ? `'${app}'` : 'null'}, ${fly ? `'${fly}'` : 'null'})`,
    );
  const env = (id: string) => ({
    MACHINE_ID: id,
    USER_ID: `u-${id}`,
    SUPABASE_URL: 'http://127.0.0.1:9',
    SUPABASE_SERVICE_KEY: 'k',
  });
  for (const [app, n] of [
    [APP, 640],
    [OTHER, 60],
  ] as const) {
    const ids = Array.from({ length: n }, (_, k) => `vyx-${app.slice(4)}-${String(k).padStart(4, '0')}`);
    const fly = emulator.bulkCreate({
      app,
      count: n,
      state: 'started',
      image: `registry.fly.io/${app}:latest`,
      env: (i) => env(ids[i]!),
      metadata: (i) => ({ vyx_machine_id: ids[i]! }),
    });
    ids.forEach((id, k) => {
      const rowApp = app === APP && k % 10 === 3 ? null : app;
      if (k % 25 === 7) row(id, rowApp, `gone-${app}-${k}`);
      else if (k % 31 === 5)
        row(`${id}-never`, rowApp, null); // and its machine an orphan
      else if (k % 47 === 11)
        return; // an orphan: a machine of ours no row points at
      else row(id, rowApp, fly[k]!);
    });
  }
  sql.push(
    `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id) values ${values.join(',')}`,
  );
  sql.push(
    `update cloud_machines set status_changed_at = now() - interval '10 minutes', created_at = now() - interval '10 minutes'`,
  );
  sql.push('delete from machine_events');
  // Known diagnoses: notified long ago (a reminder is due), or silenced.
  sql.push(`insert into diagnoses (machine_id, code, summary, evidence, fix, certainty, notified_at, notify_count, silenced_until)
    select machine_id, 'RUNTIME_SILENT', 'old', '[]', 'old fix', 'likely', now() - interval '1 hour', 1,
           case when machine_id like '%3' then now() + interval '1 hour' end
    from cloud_machines where machine_id like '%0_' and fly_machine_id not like 'gone-%'`);
  return sql;
}

/** What a tick leaves behind, without the database's own timestamps and ids. */
async function outcome(side: Side) {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => !(k === 'at' || k.endsWith('_at') || k === 'id'))
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  const q = async (sql: string) => strip((await side.backend.query(sql)).rows);
  return {
    diagnoses: await q(
      `select machine_id, code, summary, evidence, fix, certainty, seen_count, notify_count,
              silenced_until is not null as silenced, resolved_at is not null as resolved
       from diagnoses order by machine_id, code`,
    ),
    events: await q(
      `select machine_id, kind, old_status, new_status, detail from machine_events order by machine_id, id`,
    ),
    rows: await q(
      `select machine_id, status, status_detail, diagnosis, flagged_at is not null as flagged,
              lease_owner, lease_until is not null as leased, status_written_by
       from cloud_machines order by machine_id`,
    ),
    unmatched: await q('select count(*)::int as n from vyx_unmatched_writes'),
  };
}

describe('the tick on the rewritten SQL records what it recorded on the SQL before', () => {
  let before: Side;
  let after: Side;
  let emulator: FlyEmulator;

  beforeAll(async () => {
    [before, after] = await Promise.all([startSide(FIRST_NEW_MIGRATION), startSide()]);
    const skew = { ms: 10 * 60_000 };
    emulator = await createFlyEmulator({
      apps: { [APP]: { secrets: {} }, [OTHER]: { secrets: {} } },
      catalogue: [...defaultImageCatalogueEntries(APP), ...defaultImageCatalogueEntries(OTHER)],
      now: () => Date.now() - skew.ms,
    });
    const seed = buildFleet(emulator);
    skew.ms = 0;
    for (const side of [before, after]) for (const sql of seed) await side.backend.query(sql);
  }, 120_000);
  afterAll(async () => {
    await emulator?.close();
    await Promise.all([before?.close(), after?.close()]);
  });

  it('same diagnoses, events, rows and report over two ticks (the second one reminds)', async () => {
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const registry = createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl });
    const tick = (side: Side, now: Date) =>
      new StuckWatcher({
        store: side.store,
        fly,
        registry,
        logger: pino({ level: 'silent' }),
        owner: 'tick',
        defaultApp: APP,
        stuckAfterS: 60,
        renotifyAfterS: 600,
        now: () => now,
      }).tick();
    const sorted = (r: TickReport) => ({
      ...r,
      diagnosed: [...r.diagnosed].sort((a, b) =>
        `${a.machineId}/${a.code}`.localeCompare(`${b.machineId}/${b.code}`),
      ),
    });
    for (const now of [NOW, new Date(NOW.getTime() + 3600_000)]) {
      const want = await tick(before, now);
      const got = await tick(after, now);
      expect(sorted(got)).toEqual(sorted(want));
      // Leases were all given back, on both.
      const leased = await after.backend.query(
        `select count(*)::int as n from cloud_machines where lease_owner is not null`,
      );
      expect(leased.rows[0]?.n).toBe(0);
      // Rows back in `starting` for the second tick to see them again (the failed ones stay failed).
      for (const side of [before, after]) {
        await side.backend.query(`update diagnoses set notified_at = now() - interval '1 hour'`);
      }
    }
    const want = await outcome(before);
    const got = await outcome(after);
    // Every kind of outcome is there (not a comparison of two empty tables).
    const kinds = new Set((want.events as { kind: string }[]).map((e) => e.kind));
    expect([...kinds].sort()).toEqual(['diagnosis', 'reminder', 'status']);
    const codes = new Set((want.diagnoses as { code: string }[]).map((d) => d.code));
    expect([...codes].sort()).toEqual(
      expect.arrayContaining(['MACHINE_GONE', 'NEVER_CREATED', 'ORPHAN_MACHINE', 'RUNTIME_SILENT']),
    );
    expect((want.diagnoses as unknown[]).length).toBeGreaterThan(600);
    expect(got.diagnoses).toEqual(want.diagnoses);
    expect(got.events).toEqual(want.events);
    expect(got.rows).toEqual(want.rows);
    expect(got.unmatched).toEqual(want.unmatched);
  }, 120_000);

  it('claim, record and release answer as before, call by call', async () => {
    const calls: [string, Record<string, unknown>][] = [
      ['vyx_claim_stuck_page', { p_owner: 'a', p_fly_app: OTHER, p_default_app: APP, p_limit: 7 }],
      ['vyx_release_leases', { p_owner: 'a', p_machine_ids: ['vyx-eu-0000', 'vyx-eu-0001', 'nope'] }],
      ['vyx_release_leases', { p_owner: 'b', p_machine_ids: ['vyx-eu-0002'] }],
      ['vyx_release_leases', { p_owner: 'a' }],
      [
        'vyx_record_diagnoses',
        {
          p_items: [
            {
              machine_id: 'vyx-eu-0010',
              code: 'X',
              summary: 's1',
              evidence: [{ fact: 'f' }],
              fix: 'x',
              certainty: 'likely',
            },
            {
              machine_id: 'vyx-eu-0010',
              code: 'X',
              summary: 's2',
              evidence: null,
              fix: 'y',
              certainty: 'certain',
              mark_failed: true,
            },
            {
              machine_id: 'fly:orphan',
              code: 'ORPHAN_MACHINE',
              summary: 'o',
              fix: 'f',
              certainty: 'certain',
              mark_failed: true,
            },
            {
              machine_id: 'vyx-eu-0011',
              code: 'Y',
              summary: 's',
              evidence: [],
              fix: 'f',
              certainty: 'certain',
              mark_failed: true,
            },
          ],
        },
      ],
      ['vyx_claim_stuck_page', { p_owner: 'c', p_fly_app: OTHER, p_default_app: APP, p_limit: 5 }],
      ['vyx_claim_stuck_rows', { p_owner: 'd', p_fly_app: OTHER, p_default_app: APP, p_limit: 4 }],
      [
        'vyx_record_page',
        {
          p_items: [
            {
              machine_id: 'vyx-eu-0012',
              code: 'Z',
              summary: 's',
              evidence: [],
              fix: 'f',
              certainty: 'likely',
            },
            {
              machine_id: 'vyx-eu-0013',
              code: 'Z',
              summary: 's',
              evidence: [],
              fix: 'f',
              certainty: 'certain',
              mark_failed: true,
            },
          ],
          p_owner: 'c',
          p_release_ids: ['vyx-eu-0012', 'vyx-eu-0014', 'vyx-eu-0020'],
        },
      ],
      ['vyx_record_page', { p_items: [], p_owner: 'c', p_release_ids: ['vyx-eu-0015', 'vyx-eu-0016'] }],
    ];
    for (const side of [before, after]) {
      await side.backend.query(`update cloud_machines set lease_owner = null, lease_until = null`);
      await side.backend.query(`update cloud_machines set status = 'starting' where fly_app = '${OTHER}'`);
    }
    const run = async (side: Side) => {
      const answers: unknown[] = [];
      for (const [fn, args] of calls) {
        answers.push(await side.rpc(fn, args));
        answers.push(await outcome(side));
      }
      return answers;
    };
    const strip = (v: unknown): unknown =>
      JSON.parse(JSON.stringify(v), (k, x) =>
        k === 'at' || k.endsWith('_at') || k === 'lease_until' ? undefined : x,
      );
    expect(strip(await run(after))).toEqual(strip(await run(before)));

    // The watcher's claim answers the whole-row claim's rows, in its order, with the columns it reads.
    for (const side of [before, after]) {
      await side.backend.query(`update cloud_machines set lease_owner = null, lease_until = null`);
    }
    const args = { p_owner: 'e', p_fly_app: APP, p_default_app: APP, p_limit: 300 };
    const whole = (await before.rpc('vyx_claim_stuck_page', args)) as { body: Record<string, unknown>[] };
    const narrow = (await after.rpc('vyx_claim_stuck_rows', args)) as { body: Record<string, unknown>[] };
    expect(whole.body.length).toBeGreaterThan(200);
    const columns = Object.keys(narrow.body[0] ?? {});
    expect(columns.sort()).toEqual(
      [
        'created_at',
        'fly_app',
        'fly_machine_id',
        'image',
        'last_heartbeat_at',
        'machine_id',
        'status',
        'status_changed_at',
        'status_written_by',
        'user_id',
      ].sort(),
    );
    const project = (r: Record<string, unknown>) =>
      Object.fromEntries(
        columns.map((k) => [k, k.endsWith('_at') && k !== 'last_heartbeat_at' ? 'at' : r[k]]),
      );
    expect(narrow.body.map(project)).toEqual(whole.body.map(project));
  }, 120_000);
});
