import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';

// The seen set of Slack deliveries (#11.4, #13.5) on real Postgres, shared by two replicas, each
// with its own gateway: what one replica acted on, the other refuses.
describe('vyx_first_delivery across replicas', () => {
  let db: TestDatabase;
  let twins: SupabaseTwin[];
  let a: VyxStore;
  let b: VyxStore;
  beforeAll(async () => {
    db = await createTestDatabase('vyx_dedup');
    twins = [];
    for (let i = 0; i < 2; i++) twins.push(await startSupabaseTwin({ dataDir: null, databaseUrl: db.url }));
    a = createVyxStore({ url: twins[0]!.url, serviceKey: twins[0]!.serviceKey });
    b = createVyxStore({ url: twins[1]!.url, serviceKey: twins[1]!.serviceKey });
  });
  afterAll(async () => {
    for (const t of twins ?? []) await t.close();
    await db?.drop();
  });

  it('twenty identical deliveries at once on two replicas: exactly one is first', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).firstDelivery(['sig:v0=aaa', 'trigger:111.222'])),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('a retry with a new signature but the same trigger id is a duplicate; a new trigger is not', async () => {
    expect(await b.firstDelivery(['sig:v0=bbb', 'trigger:111.222'])).toBe(false);
    expect(await a.firstDelivery(['sig:v0=ccc', 'trigger:333.444'])).toBe(true);
    expect(await b.firstDelivery(['sig:v0=ccc'])).toBe(false);
  });

  it('one batch of deliveries: each answered in order, a repeat inside the batch is a duplicate', async () => {
    const { rows } = await twins[0]!.backend.query(
      `select vyx_first_deliveries('[["sig:v0=d1"], ["sig:v0=d2", "trigger:9.9"], ["trigger:9.9"], ["sig:v0=d1"], ["sig:v0=d3"]]'::jsonb) as a`,
    );
    expect(rows[0]?.a).toEqual([true, true, false, false, true]);
    // Through the store, calls made together share one call and keep their own answers.
    const answers = await Promise.all([
      a.firstDelivery(['sig:v0=e1']),
      a.firstDelivery(['sig:v0=e1']),
      a.firstDelivery(['sig:v0=e2']),
    ]);
    expect(answers).toEqual([true, false, true]);
  });

  it('keys older than the window are forgotten; the window cannot be shorter than Slack’s 5 minutes', async () => {
    await twins[0]!.backend.query(
      `update slack_deliveries_seen set seen_at = now() - interval '11 minutes' where key = 'sig:v0=ccc'`,
    );
    expect(await a.firstDelivery(['sig:v0=ccc'])).toBe(true);
    const { rows } = await twins[0]!.backend.query(`select count(*)::int as n from slack_deliveries_seen`);
    expect(rows[0]?.n).toBeGreaterThan(0);
    await expect(
      twins[0]!.backend.query(`select vyx_first_deliveries('[["sig:x"]]'::jsonb, 60)`),
    ).rejects.toThrow(/at least 300 s/);
    await expectVyxError(a.firstDelivery([]), 'STORE_INVALID');
    // The one-delivery function of the previous release answers through the batch one, same rules.
    const one = async (keys: string) =>
      (await twins[0]!.backend.query(`select vyx_first_delivery($1::text[]) as a`, [keys])).rows[0]?.a;
    expect([
      await one('{sig:v0=f1}'),
      await one('{sig:v0=f1,trigger:7.7}'),
      await one('{trigger:7.8}'),
    ]).toEqual([true, false, true]);
    await expect(twins[0]!.backend.query(`select vyx_first_delivery('{}'::text[])`)).rejects.toThrow(
      /at least one key/,
    );
  });
});
