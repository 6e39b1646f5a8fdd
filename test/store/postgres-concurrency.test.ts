import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

// Real row locks need real Postgres: several claimers, each its own HTTP client and connection.
describe('claims and the outbox on real Postgres', () => {
  let db: TestDatabase;
  let twin: SupabaseTwin;
  let sql: pg.Client;
  const stores: VyxStore[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url });
    for (let i = 0; i < 6; i++) stores.push(createVyxStore({ url: twin.url, serviceKey: twin.serviceKey }));
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await twin?.close();
    await db?.drop();
  });

  it('concurrent claimers over 150 stuck rows never receive the same row', async () => {
    await sql.query(`
      insert into cloud_machines (machine_id, user_id, status)
      select 'vyx-stuck-' || i, 'stuck-user-' || i, 'starting' from generate_series(1, 150) i;
      update cloud_machines set status_changed_at = now() - interval '10 minutes' where machine_id like 'vyx-stuck-%';
    `);
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      stores.map(async (store, w) => {
        const owner = `watcher-${w}`;
        // Small batches, many rounds, all claimers at once.
        for (let round = 0; round < 40; round++) {
          const rows = await store.claimStuck({ owner, olderThanS: 60, leaseS: 300, limit: 7 });
          for (const r of rows) claimedBy.set(r.machine_id, [...(claimedBy.get(r.machine_id) ?? []), owner]);
          if (rows.length === 0) break;
        }
      }),
    );
    expect(claimedBy.size).toBe(150);
    const doubles = [...claimedBy].filter(([, owners]) => owners.length > 1);
    expect(doubles).toEqual([]);
    const owners = new Set([...claimedBy.values()].flat());
    expect(owners.size).toBeGreaterThan(1); // the work really was shared
  });

  it('every status change yields exactly one outbox event, including a plain SQL UPDATE from the web UI', async () => {
    const { machine } = await stores[0]!.beginProvision({
      userId: 'web-ui-user',
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'img',
    });
    const id = machine.machine_id;
    // As the platform's edge function does: straight table writes, no function.
    await sql.query(
      `update cloud_machines set status = 'running', updated_at = now() where machine_id = $1`,
      [id],
    );
    await sql.query(`update cloud_machines set status = 'running' where machine_id = $1`, [id]); // no change
    await sql.query(`update cloud_machines set region = 'fra' where machine_id = $1`, [id]); // not a status
    await stores[1]!.reportStatus(id, 'stopped');
    await sql.query(
      `insert into cloud_machines (machine_id, user_id, status) values ('vyx-webui-2', 'web-ui-2', 'starting')`,
    );

    const { rows } = await sql.query(
      `select machine_id, old_status, new_status from machine_events where kind = 'status' and machine_id in ($1, 'vyx-webui-2') order by id`,
      [id],
    );
    expect(rows).toEqual([
      { machine_id: id, old_status: null, new_status: 'starting' },
      { machine_id: id, old_status: 'starting', new_status: 'running' },
      { machine_id: id, old_status: 'running', new_status: 'stopped' },
      { machine_id: 'vyx-webui-2', old_status: null, new_status: 'starting' },
    ]);
    const row = await stores[0]!.getMachine(id);
    expect(Date.parse(row.status_changed_at)).toBeGreaterThan(Date.parse(machine.status_changed_at));
  });

  it('concurrent event claimers deliver each event once, in order per machine', async () => {
    await sql.query(`delete from machine_events`);
    await sql.query(`
      insert into cloud_machines (machine_id, user_id, status)
      select 'vyx-echo-' || i, 'echo-user-' || i, 'starting' from generate_series(1, 60) i;
      update cloud_machines set status = 'running' where machine_id like 'vyx-echo-%';
      update cloud_machines set status = 'stopping' where machine_id like 'vyx-echo-%';
      update cloud_machines set status = 'stopped' where machine_id like 'vyx-echo-%';
    `);
    const delivered: { owner: string; id: number; machine: string; status: string | null }[] = [];
    await Promise.all(
      stores.map(async (store, w) => {
        const owner = `echo-${w}`;
        for (let round = 0; round < 200; round++) {
          const events = await store.claimEvents({ owner, limit: 5, leaseS: 60 });
          if (events.length === 0) {
            const { rows } = await sql.query(
              `select count(*)::int as n from machine_events where delivered_at is null`,
            );
            if (rows[0].n === 0) break;
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          for (const e of events)
            delivered.push({ owner, id: e.id, machine: e.machine_id, status: e.new_status });
          await store.ackEvents(
            owner,
            events.map((e) => ({ id: e.id, slackTs: `${e.id}.0` })),
          );
        }
      }),
    );
    expect(delivered).toHaveLength(240);
    expect(new Set(delivered.map((d) => d.id)).size).toBe(240);
    for (let i = 1; i <= 60; i++) {
      const seq = delivered.filter((d) => d.machine === `vyx-echo-${i}`).map((d) => d.status);
      expect(seq).toEqual(['starting', 'running', 'stopping', 'stopped']);
    }
    expect(new Set(delivered.map((d) => d.owner)).size).toBeGreaterThan(1);
    const { rows } = await sql.query(
      `select count(*)::int as n from machine_events where delivered_at is null`,
    );
    expect(rows[0].n).toBe(0);
  });
});
