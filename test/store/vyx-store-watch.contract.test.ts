import { describe, expect, it } from 'vitest';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';
import { STORE_VARIANTS } from '../helpers/store-backends.ts';
import { storeContract, uniqueUser } from '../helpers/store-contract.ts';

// The store contract (see vyx-store.contract.test.ts) on each variant: stuck-row claims,
// diagnoses and reminders, the outbox of status events, look-ups, identities and the audit log.
describe.each(STORE_VARIANTS)('store contract on $name: watching and answering', (variant) => {
  const { s, begin, backdate } = storeContract(variant);

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

  it('claims one app’s stuck rows a page at a time, oldest first; rows naming no app are the default app’s', async () => {
    const tag = uniqueUser().slice(0, 8);
    const [app, other, def] = [`app-${tag}`, `other-${tag}`, `def-${tag}`];
    const row = async (flyApp: string | null, ageS: number, status = 'starting') => {
      const id = (await begin()).machine.machine_id;
      await s.twin.backend.query(
        `update cloud_machines set fly_app = $2, status = $3 where machine_id = $1`,
        [id, flyApp, status],
      );
      await backdate(id, ageS);
      return id;
    };
    const a1 = await row(app, 300);
    const a2 = await row(app, 200, 'queued'); // a word outside the vocabulary is stuck too
    const a3 = await row(app, 100);
    await row(app, 10); // not stuck yet
    await row(other, 400);
    const n1 = await row(null, 250);
    const d1 = await row(def, 150);
    const page = (forApp: string, after?: { statusChangedAt: string; machineId: string }) =>
      s.store.claimStuckPage({
        owner: 'pager',
        app: forApp,
        defaultApp: def,
        olderThanS: 60,
        leaseS: 30,
        limit: 2,
        ...(after ? { after } : {}),
      });
    const first = await page(app);
    expect(first.map((r) => r.machine_id)).toEqual([a1, a2]);
    const last = first.at(-1)!;
    const second = await page(app, { statusChangedAt: last.status_changed_at, machineId: last.machine_id });
    expect(second.map((r) => r.machine_id)).toEqual([a3]);
    expect((await page(def)).map((r) => r.machine_id)).toEqual([n1, d1]);
    expect(await page(app)).toEqual([]); // all leased now

    // A page's record gives its leases back in the same call: those rows are claimable again.
    const item = {
      code: 'RUNTIME_SILENT',
      summary: 's',
      evidence: [],
      fix: 'f',
      certainty: 'likely' as const,
    };
    const recorded = await s.store.recordDiagnoses([{ ...item, machineId: a1 }], 600, {
      owner: 'pager',
      machineIds: [a1, a2, a3],
    });
    expect(recorded.map((r) => [r.machine_id, r.notice])).toEqual([[a1, 'diagnosis']]);
    expect((await s.store.getMachine(a1)).diagnosis?.code).toBe('RUNTIME_SILENT');
    expect((await page(app)).map((r) => r.machine_id)).toEqual([a1, a2]);
    expect(await page(def)).toEqual([]); // not given back
    await s.store.releaseLeases('pager');
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
