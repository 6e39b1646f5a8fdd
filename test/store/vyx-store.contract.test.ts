import { randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';
import { STORE_VARIANTS, startStoreOn } from '../helpers/store-backends.ts';
import { storeContract, uniqueUser } from '../helpers/store-contract.ts';

// One contract, through supabase-js over HTTP: gateway + PGlite, gateway + real Postgres, and
// gateway + real Postgres over the platform's existing table whose user_id is uuid. Provisioning,
// statuses and the platform's writers here; claims, diagnoses, the outbox, identities and the audit
// log in vyx-store-watch.contract.test.ts.
describe.each(STORE_VARIANTS)('store contract on $name', (variant) => {
  const { userIdType } = variant;
  const { s, begin, backdate } = storeContract(variant);

  it('begins a provision once per user: a second start returns the active machine and creates nothing', async () => {
    const userId = uniqueUser();
    const first = await begin(userId, { slackTeamId: 'T1', slackChannel: 'C1', requestedBy: 'U1' });
    expect(first.created).toBe(true);
    expect(first.machine.status).toBe('starting');
    expect(first.machine.machine_id).toMatch(/^vyx-[0-9a-f]{8}$/);
    expect(first.machine.slack_channel).toBe('C1');

    const again = await begin(userId);
    expect(again.created).toBe(false);
    expect(again.machine.machine_id).toBe(first.machine.machine_id);
    expect(await s.store.listMachines({ userId })).toHaveLength(1);
  });

  it('concurrent starts for one user make one machine', async () => {
    const userId = uniqueUser();
    const results = await Promise.all(Array.from({ length: 8 }, () => begin(userId)));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.machine.machine_id)).size).toBe(1);
    expect(await s.store.listMachines({ userId })).toHaveLength(1);
  });

  it('attaches the Fly machine id and refuses to rebind it to another', async () => {
    const { machine } = await begin();
    const attached = await s.store.attachFlyMachine(machine.machine_id, '3d8d9e1bc42d89', 'vyx-app');
    expect(attached.fly_machine_id).toBe('3d8d9e1bc42d89');
    expect((await s.store.findMachine({ flyMachineId: '3d8d9e1bc42d89' }))?.machine_id).toBe(
      machine.machine_id,
    );
    const err = await expectVyxError(
      s.store.attachFlyMachine(machine.machine_id, 'e784079b449483'),
      'STORE_CONFLICT',
    );
    expect(err.message).toContain('3d8d9e1bc42d89');
  });

  it("a status report with the reporter's Fly id links a row that has none, and never relinks or steals one", async () => {
    const a = (await begin()).machine.machine_id;
    const b = (await begin()).machine.machine_id;
    const linked = await s.store.reportStatus(a, 'running', undefined, 'fly0a0a0a0a0a0a');
    expect(linked.fly_machine_id).toBe('fly0a0a0a0a0a0a');
    expect((await s.store.findMachine({ flyMachineId: 'fly0a0a0a0a0a0a' }))?.machine_id).toBe(a);
    // The same report again with another id: the row keeps the id it has.
    expect((await s.store.reportStatus(a, 'running', undefined, 'fly0b0b0b0b0b0b')).fly_machine_id).toBe(
      'fly0a0a0a0a0a0a',
    );
    // Another row claiming a's Fly id records its status, not the id.
    const other = await s.store.reportStatus(b, 'running', undefined, 'fly0a0a0a0a0a0a');
    expect(other.status).toBe('running');
    expect(other.fly_machine_id).toBeNull();
  });

  it("the platform's own writers never fail: any status word, a second active row per user; the writer is recorded", async () => {
    const userId = uniqueUser();
    const { machine } = await begin(userId);
    // The web UI's edge function, through the table endpoint with the service_role key.
    const sb = createClient(s.twin.url, s.twin.serviceKey, { auth: { persistSession: false } });
    const upd = await sb
      .from('cloud_machines')
      .update({ status: 'provisioning' })
      .eq('machine_id', machine.machine_id);
    expect(upd).toMatchObject({ status: 204, error: null });
    const row = await s.store.getMachine(machine.machine_id);
    expect(row.status).toBe('provisioning');
    expect(row.status_written_by).toMatchObject({
      role: 'service_role',
      method: 'PATCH',
      path: '/rest/v1/cloud_machines',
    });
    // A second active row for the same user, written by the platform: stored, no unique violation.
    const ins = await sb
      .from('cloud_machines')
      .insert({ machine_id: `platform-${randomUUID()}`, user_id: userId, status: 'running' });
    expect(ins).toMatchObject({ status: 201, error: null });
    // A direct SQL writer with a word nobody planned for.
    await s.twin.backend.query(`update cloud_machines set status = 'Booting…' where machine_id = $1`, [
      machine.machine_id,
    ]);
    expect((await s.store.getMachine(machine.machine_id)).status_written_by).toMatchObject({
      role: 'postgres',
    });
    // The watcher claims such a row once it has sat there past the threshold (and says what it is).
    await backdate(machine.machine_id, 600);
    const claimed = await s.store.claimStuck({ owner: 'w-unknown', olderThanS: 300, leaseS: 30 });
    expect(claimed.map((r) => [r.machine_id, r.status])).toContainEqual([machine.machine_id, 'Booting…']);
    await s.store.releaseLeases('w-unknown');
    const events = await s.store.machineEvents(machine.machine_id);
    expect(events.filter((e) => e.kind === 'status').map((e) => e.new_status)).toEqual([
      'starting',
      'provisioning',
      'Booting…',
    ]);
  });

  it('a status write that matches no row is recorded with its writer; matched, non-status and vyxbot’s own writes are not', async () => {
    const since = new Date(Date.now() - 1000);
    const { machine } = await begin();
    const sb = createClient(s.twin.url, s.twin.serviceKey, { auth: { persistSession: false } });
    const lost = `machine_${Date.now()}`;
    // The incident: the runtime's update by a machine_id no row has; PostgREST's silent 204.
    expect(
      await sb.from('cloud_machines').update({ status: 'running' }).eq('machine_id', lost),
    ).toMatchObject({
      status: 204,
      error: null,
    });
    await sb.from('cloud_machines').update({ status: 'running' }).eq('machine_id', machine.machine_id);
    await sb.from('cloud_machines').update({ region: 'ams' }).eq('machine_id', lost);
    await s.store.recordDiagnoses([
      {
        machineId: 'fly:nobody',
        code: 'ORPHAN_MACHINE',
        summary: 's',
        evidence: [],
        fix: 'f',
        certainty: 'certain',
        markFailed: true,
      },
    ]);
    const writes = (await s.store.unmatchedStatusWrites(since)).filter(
      (w) => Date.parse(w.at) >= since.getTime(),
    );
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({
      role: 'service_role',
      method: 'PATCH',
      path: '/rest/v1/cloud_machines',
    });
  });

  it('user ids take the column’s own form; one the column cannot hold is refused naming its type', async () => {
    const userId = uniqueUser();
    const { machine } = await begin(userId.toUpperCase());
    const uuidColumn = userIdType !== 'text';
    expect(machine.user_id).toBe(uuidColumn ? userId : userId.toUpperCase());
    if (uuidColumn) {
      expect((await s.store.getActiveMachine(userId.toUpperCase()))?.machine_id).toBe(machine.machine_id);
      const err = await expectVyxError(begin('slack-user-42'), 'STORE_INVALID');
      expect(err.message).toContain('uuid');
      expect(await s.store.listMachines({ limit: 1000 })).not.toContainEqual(
        expect.objectContaining({ user_id: 'slack-user-42' }),
      );
    }
  });

  it('reporting a status for an unknown machine id fails naming the id, and changes nothing', async () => {
    const { machine } = await begin();
    const before = await s.store.machineEvents(machine.machine_id);
    const all = await s.store.listMachines({ limit: 1000 });

    const err = await expectVyxError(
      s.store.reportStatus('machine_1759437443244', 'running'),
      'STORE_NOT_FOUND',
    );
    expect(err.message).toContain('machine_1759437443244');
    expect(err.suggestion).toContain('MACHINE_ID');

    expect(await s.store.listMachines({ limit: 1000 })).toEqual(all);
    expect(await s.store.machineEvents(machine.machine_id)).toEqual(before);
    await expectVyxError(s.store.heartbeat('machine_1759437443244'), 'STORE_NOT_FOUND');
    await expectVyxError(s.store.getMachine('machine_1759437443244'), 'STORE_NOT_FOUND');
  });

  it('reports status changes, each once, and heartbeats advance', async () => {
    const { machine } = await begin();
    const id = machine.machine_id;
    const running = await s.store.reportStatus(id, 'running');
    expect(running.status).toBe('running');
    expect(running.last_heartbeat_at).not.toBeNull();
    await s.store.reportStatus(id, 'running'); // the same again: no new event
    const hb1 = await s.store.heartbeat(id);
    await new Promise((r) => setTimeout(r, 20));
    const hb2 = await s.store.heartbeat(id);
    expect(Date.parse(hb2)).toBeGreaterThan(Date.parse(hb1));
    await s.store.reportStatus(id, 'stopped', 'SIGTERM');

    const events = await s.store.machineEvents(id);
    expect(events.map((e) => [e.kind, e.old_status, e.new_status])).toEqual([
      ['status', null, 'starting'],
      ['status', 'starting', 'running'],
      ['status', 'running', 'stopped'],
    ]);
    expect(events[2]?.detail).toEqual({ detail: 'SIGTERM' });
  });

  it('rejects a status outside the vocabulary, and any status for a destroyed machine', async () => {
    const { machine } = await begin();
    // @ts-expect-error: the type forbids it; the database must refuse it too
    const bad = await expectVyxError(s.store.reportStatus(machine.machine_id, 'exploded'), 'STORE_INVALID');
    expect(bad.message).toContain('exploded');
    await s.store.reportStatus(machine.machine_id, 'destroyed');
    await expectVyxError(s.store.reportStatus(machine.machine_id, 'running'), 'STORE_CONFLICT');
    await expectVyxError(s.store.heartbeat(machine.machine_id), 'STORE_CONFLICT');
    expect((await s.store.getMachine(machine.machine_id)).status).toBe('destroyed');
  });
});

describe('store failures', () => {
  it('a database that cannot be reached is STORE_UNAVAILABLE, and a wrong key STORE_UNAUTHORIZED', async () => {
    const { createVyxStore } = await import('../../src/store/vyx-store.ts');
    const down = createVyxStore({ url: 'http://127.0.0.1:9', serviceKey: 'k', timeoutMs: 2_000 });
    const err = await expectVyxError(down.listMachines(), 'STORE_UNAVAILABLE');
    expect(err.suggestion).toContain('SUPABASE_URL');

    const s = await startStoreOn('postgres');
    try {
      const wrong = createVyxStore({ url: s.twin.url, serviceKey: 'not-the-key' });
      const denied = await expectVyxError(wrong.listMachines(), 'STORE_UNAUTHORIZED');
      expect(denied.suggestion).toContain('SUPABASE_SERVICE_KEY');
      expect(JSON.stringify(denied)).not.toContain(s.twin.serviceKey);
    } finally {
      await s.close();
    }
  });
});
