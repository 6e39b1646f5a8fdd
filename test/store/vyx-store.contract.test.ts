import { randomUUID } from 'node:crypto';
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';
import { STORE_VARIANTS, type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const IMAGE = 'registry.fly.io/vyx-app:latest';
// Supabase auth ids are uuids; a text user_id column holds them as well.
const uniqueUser = (): string => randomUUID();

// One contract, through supabase-js over HTTP: gateway + PGlite, gateway + real Postgres, and
// gateway + real Postgres over the platform's existing table whose user_id is uuid.
describe.each(STORE_VARIANTS)('store contract on $name', ({ kind, userIdType }) => {
  let s: StoreUnderTest;
  beforeAll(async () => {
    s = await startStoreOn(kind, { userIdType });
  });
  afterAll(async () => {
    await s?.close();
  });

  const begin = (userId = uniqueUser(), extra: Record<string, string> = {}) =>
    s.store.beginProvision({ userId, flyApp: 'vyx-app', region: 'ams', image: IMAGE, ...extra });

  /** Moves a row's time in its status back, as if it had been sitting there. */
  const backdate = (machineId: string, seconds: number) =>
    s.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - make_interval(secs => $2) where machine_id = $1`,
      [machineId, seconds],
    );

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

  it('claims stuck rows with a lease: past the threshold only, one claimer at a time, released on demand', async () => {
    const fresh = (await begin()).machine.machine_id;
    const stuck = (await begin()).machine.machine_id;
    await backdate(stuck, 120);

    const a = await s.store.claimStuck({ owner: 'watcher-a', olderThanS: 60, leaseS: 30 });
    const ids = a.map((m) => m.machine_id);
    expect(ids).toContain(stuck);
    expect(ids).not.toContain(fresh);
    expect(a.find((m) => m.machine_id === stuck)?.lease_owner).toBe('watcher-a');

    const b = await s.store.claimStuck({ owner: 'watcher-b', olderThanS: 60, leaseS: 30 });
    expect(b.map((m) => m.machine_id)).not.toContain(stuck);

    expect(await s.store.releaseLeases('watcher-a', [stuck])).toBe(1);
    const c = await s.store.claimStuck({ owner: 'watcher-b', olderThanS: 60, leaseS: 30 });
    expect(c.map((m) => m.machine_id)).toContain(stuck);
    await s.store.releaseLeases('watcher-b');
  });

  it('records a diagnosis once per machine and code, reminds after the interval, and can mark the row failed', async () => {
    const { machine } = await begin();
    const id = machine.machine_id;
    const input = {
      machineId: id,
      code: 'IMAGE_TAG_MISSING',
      summary: 'The image tag does not exist',
      evidence: [{ fact: 'registry answer', value: '404 MANIFEST_UNKNOWN', source: 'registry.fly.io' }],
      fix: 'Push the tag, or set FLY_IMAGE to one that exists.',
      certainty: 'certain' as const,
    };
    const first = await s.store.recordDiagnosis({ ...input, markFailed: true });
    expect(first.notice).toBe('diagnosis');
    expect(first.marked_failed).toBe(true);
    const second = await s.store.recordDiagnosis({ ...input, evidence: [] });
    expect(second.notice).toBeNull();
    expect(second.diagnosis.seen_count).toBe(2);
    expect(second.diagnosis.evidence).toEqual(input.evidence); // first-seen evidence is kept
    const third = await s.store.recordDiagnosis({ ...input, renotifyAfterS: 0 });
    expect(third.notice).toBe('reminder');
    expect(third.diagnosis.notify_count).toBe(2);

    const row = await s.store.getMachine(id);
    expect(row.status).toBe('failed');
    expect(row.diagnosis?.code).toBe('IMAGE_TAG_MISSING');
    expect(row.flagged_at).not.toBeNull();
    const kinds = (await s.store.machineEvents(id)).map((e) => (e.kind === 'status' ? e.new_status : e.kind));
    expect(kinds).toEqual(['starting', 'diagnosis', 'failed', 'reminder']);
  });

  it('records many diagnoses in one call exactly as one at a time', async () => {
    const a = (await begin()).machine.machine_id;
    const b = (await begin()).machine.machine_id;
    const item = (machineId: string, code: string, markFailed: boolean) => ({
      machineId,
      code,
      summary: `${code} on ${machineId}`,
      evidence: [{ fact: 'f', value: 'v', source: 'fly' }],
      fix: 'fix it',
      certainty: markFailed ? ('certain' as const) : ('likely' as const),
      markFailed,
    });
    const first = await s.store.recordDiagnoses([
      item(a, 'MACHINE_GONE', true),
      item(b, 'RUNTIME_SILENT', false),
    ]);
    expect(first).toEqual([
      { machine_id: a, code: 'MACHINE_GONE', notice: 'diagnosis', marked_failed: true },
      { machine_id: b, code: 'RUNTIME_SILENT', notice: 'diagnosis', marked_failed: false },
    ]);
    const again = await s.store.recordDiagnoses([item(b, 'RUNTIME_SILENT', false)]);
    expect(again[0]?.notice).toBeNull();
    expect((await s.store.recordDiagnoses([item(b, 'RUNTIME_SILENT', false)], 0))[0]?.notice).toBe(
      'reminder',
    );
    expect((await s.store.getMachine(a)).status).toBe('failed');
    expect((await s.store.getMachine(b)).diagnosis?.code).toBe('RUNTIME_SILENT');
    const kinds = (await s.store.machineEvents(a)).map((e) => (e.kind === 'status' ? e.new_status : e.kind));
    expect(kinds).toEqual(['starting', 'diagnosis', 'failed']);
  });

  it('fences a post: renewing a claim another replica took returns nothing', async () => {
    const { machine } = await begin();
    const [event] = (await s.store.claimEvents({ owner: 'slow', limit: 1000, leaseS: 1 })).filter(
      (e) => e.machine_id === machine.machine_id,
    );
    expect(await s.store.renewEvents('slow', [event!.id], 1)).toEqual([event!.id]);
    await s.twin.backend.query(
      `update machine_events set claim_until = now() - interval '1 second' where id = $1`,
      [event!.id],
    );
    const taken = (await s.store.claimEvents({ owner: 'fast', limit: 1000 })).filter(
      (e) => e.id === event!.id,
    );
    expect(taken).toHaveLength(1);
    expect(await s.store.renewEvents('slow', [event!.id])).toEqual([]);
    await s.store.ackEvents('fast', [{ id: event!.id, slackTs: '1.1' }]);
  });

  it('a flagged machine that comes up yields a resolved status event', async () => {
    const { machine } = await begin();
    await s.store.recordDiagnosis({
      machineId: machine.machine_id,
      code: 'RUNTIME_SILENT',
      summary: 'No status from the runtime',
      evidence: [],
      fix: 'Read the machine logs.',
      certainty: 'likely',
    });
    const running = await s.store.reportStatus(machine.machine_id, 'running');
    expect(running.flagged_at).toBeNull();
    const last = (await s.store.machineEvents(machine.machine_id)).at(-1);
    expect(last?.new_status).toBe('running');
    expect(last?.detail).toEqual({ resolved_code: 'RUNTIME_SILENT' });
  });

  it('claims outbox events in order with their thread, once, and acknowledges them with the Slack ts', async () => {
    const { machine } = await begin();
    const id = machine.machine_id;
    await s.store.setSlackThread(id, 'C42', '1700000000.000100');
    await s.store.reportStatus(id, 'running');
    await s.store.recordWarning(id, 'MACHINE_ID_MISMATCH', { fly_machine_id: 'abc' });

    const claimed = (await s.store.claimEvents({ owner: 'echo-1', limit: 1000 })).filter(
      (e) => e.machine_id === id,
    );
    expect(claimed.map((e) => e.kind)).toEqual(['status', 'status', 'warning']);
    expect(claimed[0]?.slack_channel).toBe('C42');
    expect(claimed[0]?.slack_thread_ts).toBe('1700000000.000100');
    expect(claimed[2]?.detail).toEqual({ fly_machine_id: 'abc', code: 'MACHINE_ID_MISMATCH' });

    const again = (await s.store.claimEvents({ owner: 'echo-2', limit: 1000 })).filter(
      (e) => e.machine_id === id,
    );
    expect(again).toEqual([]);

    const acked = await s.store.ackEvents(
      'echo-1',
      claimed.map((e, i) => ({ id: e.id, slackTs: `1700000001.00000${i}` })),
    );
    expect(acked).toBe(3);
    expect(await s.store.ackEvents('echo-1', [{ id: claimed[0]!.id, slackTs: 'x' }])).toBe(0);
    const events = await s.store.machineEvents(id);
    expect(events.every((e) => e.delivered_at !== null)).toBe(true);
    expect(events[0]?.slack_ts).toBe('1700000001.000000');
  });

  it('released events come back to the next claimer', async () => {
    const { machine } = await begin();
    const mine = (await s.store.claimEvents({ owner: 'echo-1', limit: 1000 })).filter(
      (e) => e.machine_id === machine.machine_id,
    );
    expect(mine).toHaveLength(1);
    await s.store.releaseEvents('echo-1', [mine[0]!.id]);
    const theirs = (await s.store.claimEvents({ owner: 'echo-2', limit: 1000 })).filter(
      (e) => e.machine_id === machine.machine_id,
    );
    expect(theirs.map((e) => e.id)).toEqual([mine[0]!.id]);
    expect(theirs[0]?.attempts).toBe(2);
    await s.store.ackEvents('echo-2', [{ id: mine[0]!.id, slackTs: null }]);
  });

  it('tells which Fly ids rows point at, in one call', async () => {
    const { machine } = await begin();
    await s.store.attachFlyMachine(machine.machine_id, 'fly-known-1');
    expect(await s.store.knownFlyIds(['fly-known-1', 'fly-orphan-1'])).toEqual(['fly-known-1']);
  });

  it('a silenced diagnosis sends no reminder until the silence ends', async () => {
    const { machine } = await begin();
    const d = {
      machineId: machine.machine_id,
      code: 'RUNTIME_SILENT',
      summary: 'silent',
      evidence: [],
      fix: 'look',
      certainty: 'likely' as const,
      renotifyAfterS: 0,
    };
    await s.store.recordDiagnosis(d);
    await s.store.silenceDiagnosis(machine.machine_id, 'RUNTIME_SILENT', new Date(Date.now() + 3_600_000));
    expect((await s.store.recordDiagnosis(d)).notice).toBeNull();
    await s.store.silenceDiagnosis(machine.machine_id, 'RUNTIME_SILENT', new Date(Date.now() - 1_000));
    expect((await s.store.recordDiagnosis(d)).notice).toBe('reminder');
    await expectVyxError(
      s.store.silenceDiagnosis(machine.machine_id, 'OOM_KILLED', new Date()),
      'STORE_NOT_FOUND',
    );
  });

  it('looks machines up and lists them', async () => {
    const userId = uniqueUser();
    const { machine } = await begin(userId);
    expect((await s.store.getActiveMachine(userId))?.machine_id).toBe(machine.machine_id);
    expect((await s.store.getMachine(machine.machine_id)).user_id).toBe(userId);
    await s.store.reportStatus(machine.machine_id, 'stopped');
    expect(await s.store.getActiveMachine(userId)).toBeNull();
    expect(await s.store.listMachines({ userId, activeOnly: true })).toEqual([]);
    expect((await s.store.listMachines({ userId })).map((m) => m.status)).toEqual(['stopped']);
    expect(await s.store.findMachine({ machineId: 'vyx-00000000' })).toBeNull();
  });

  it('identities are deny by default, linked with a role, and validated', async () => {
    expect(await s.store.getIdentity('T1', 'U-unknown')).toBeNull();
    const linked = await s.store.linkIdentity({
      slackTeamId: 'T1',
      slackUserId: 'U7',
      userId: 'u7',
      role: 'admin',
    });
    expect(linked.role).toBe('admin');
    expect((await s.store.getIdentity('T1', 'U7'))?.user_id).toBe('u7');
    await s.store.linkIdentity({ slackTeamId: 'T1', slackUserId: 'U7', userId: 'u7', role: 'member' });
    expect((await s.store.getIdentity('T1', 'U7'))?.role).toBe('member');
    const root = 'root' as 'admin'; // an unknown role must be refused by the database too
    await expectVyxError(
      s.store.linkIdentity({ slackTeamId: 'T1', slackUserId: 'U8', userId: 'u8', role: root }),
      'STORE_INVALID',
    );
    expect(await s.store.getIdentity('T1', 'U8')).toBeNull();
  });

  it('writes the audit log', async () => {
    const id = await s.store.recordAudit({
      action: 'command',
      name: 'start',
      outcome: 'ok',
      slackTeamId: 'T1',
      slackUserId: 'U1',
      args: '--region ams',
      requestId: 'req-1',
    });
    expect(id).toBeGreaterThan(0);
    const { rows } = await s.twin.backend.query('select name, outcome, args from audit_log where id = $1', [
      id,
    ]);
    expect(rows).toEqual([{ name: 'start', outcome: 'ok', args: '--region ams' }]);
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
