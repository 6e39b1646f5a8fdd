import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintMachineToken, signJwt } from '../../src/store/supabase-jwt.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';
import { BACKENDS, type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// Least privilege: a machine's own credential (a JWT for role vyx_machine with its machine_id,
// signed with the project's secret, sent with the anon key) reports, heartbeats and reads its own
// row only, touches no table directly, and is useless once its row is destroyed. The bot's
// service_role key can do all of it.
describe.each(BACKENDS)('a machine credential on %s', (kind) => {
  let s: StoreUnderTest;
  let a: string;
  let b: string;
  let asA: VyxStore;
  const machineStore = (token: string) =>
    createVyxStore({ url: s.twin.url, serviceKey: s.twin.anonKey, accessToken: token });
  const tokenFor = (id: string) => mintMachineToken(id, s.twin.jwtSecret);
  const begin = async () =>
    (
      await s.store.beginProvision({
        userId: `u-${Math.random().toString(36).slice(2)}`,
        flyApp: 'vyx-app',
        region: 'ams',
        image: 'registry.fly.io/vyx-app:latest',
      })
    ).machine.machine_id;

  beforeAll(async () => {
    s = await startStoreOn(kind);
    a = await begin();
    b = await begin();
    await s.store.attachFlyMachine(b, 'flyb0b0b0b0b0b0');
    asA = machineStore(tokenFor(a));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('reports its own status (linking its Fly id), heartbeats, warns and reads its own row', async () => {
    const row = await asA.reportStatus(a, 'running', undefined, 'flya0a0a0a0a0a0');
    expect(row).toMatchObject({ machine_id: a, status: 'running', fly_machine_id: 'flya0a0a0a0a0a0' });
    expect(row.status_written_by).toMatchObject({ role: 'vyx_machine', machine_id: a });
    expect(await asA.heartbeat(a)).toBeTruthy();
    expect(await asA.recordWarning(a, 'MACHINE_ID_MISMATCH', { why: 'test' })).toBeGreaterThan(0);
    expect((await asA.findMachine({ machineId: a }))?.machine_id).toBe(a);
    expect((await asA.findMachine({ flyMachineId: 'flya0a0a0a0a0a0' }))?.machine_id).toBe(a);
  });

  it("cannot read or change another machine's row", async () => {
    const before = await s.store.getMachine(b);
    const err = await expectVyxError(asA.reportStatus(b, 'failed'), 'STORE_UNAUTHORIZED');
    expect(err.message).toContain(b);
    await expectVyxError(asA.heartbeat(b), 'STORE_UNAUTHORIZED');
    await expectVyxError(asA.recordWarning(b, 'X', {}), 'STORE_UNAUTHORIZED');
    expect(await asA.findMachine({ machineId: b })).toBeNull();
    expect(await asA.findMachine({ flyMachineId: 'flyb0b0b0b0b0b0' })).toBeNull();
    expect(await s.store.getMachine(b)).toEqual(before);
  });

  it('cannot call any other function, nor touch any table directly; the bot’s key can', async () => {
    await expectVyxError(asA.getMachine(a), 'STORE_UNAUTHORIZED');
    await expectVyxError(asA.listMachines(), 'STORE_UNAUTHORIZED');
    await expectVyxError(asA.claimStuck({ owner: 'x', olderThanS: 0, leaseS: 1 }), 'STORE_UNAUTHORIZED');
    await expectVyxError(
      asA.beginProvision({ userId: 'u-evil', flyApp: 'vyx-app', region: 'ams', image: 'x' }),
      'STORE_UNAUTHORIZED',
    );
    const raw = createClient(s.twin.url, s.twin.anonKey, {
      auth: { persistSession: false },
      global: { headers: { Authorization: `Bearer ${tokenFor(a)}` } },
    });
    for (const table of ['cloud_machines', 'machine_events', 'diagnoses', 'slack_identities', 'audit_log']) {
      const r = await raw.from(table).select('*').limit(1);
      expect([table, r.status, r.error?.code]).toEqual([table, 403, '42501']);
    }
    const write = await raw.from('cloud_machines').update({ status: 'destroyed' }).eq('machine_id', b);
    expect(write).toMatchObject({ status: 403, error: { code: '42501' } });

    const bot = createClient(s.twin.url, s.twin.serviceKey, { auth: { persistSession: false } });
    expect((await bot.from('cloud_machines').select('machine_id').eq('machine_id', b)).data).toEqual([
      { machine_id: b },
    ]);
    expect((await s.store.listMachines({ limit: 1000 })).map((m) => m.machine_id)).toEqual(
      expect.arrayContaining([a, b]),
    );
  });

  it('a token signed with another secret, or naming no machine, is refused', async () => {
    await expectVyxError(
      machineStore(mintMachineToken(a, 'x'.repeat(40))).heartbeat(a),
      'STORE_UNAUTHORIZED',
    );
    const noClaim = signJwt({ role: 'vyx_machine' }, s.twin.jwtSecret);
    await expectVyxError(machineStore(noClaim).heartbeat(a), 'STORE_UNAUTHORIZED');
  });

  it('is useless once its row is destroyed', async () => {
    const c = await begin();
    const asC = machineStore(tokenFor(c));
    await asC.reportStatus(c, 'running');
    await s.store.reportStatus(c, 'destroyed', 'destroyed by the bot');
    const err = await expectVyxError(asC.heartbeat(c), 'STORE_UNAUTHORIZED');
    expect(err.message).toContain('destroyed');
    await expectVyxError(asC.findMachine({ machineId: c }), 'STORE_UNAUTHORIZED');
    expect((await s.store.getMachine(c)).status).toBe('destroyed');
  });
});
