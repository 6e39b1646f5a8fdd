import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIONS } from '../../src/slack/cards/card-parts.ts';
import { ADMIN, type BotHarness, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';

const START = 'POST /v1/apps/:app/machines/:id/start';
const STOP = 'POST /v1/apps/:app/machines/:id/stop';

// Stop and Restart run under a Fly lease taken on the emulator, which refuses changes (409) to a
// leased machine without the nonce, as Fly does.
describe('/vyx stop and restart under a Fly lease', () => {
  let h: BotHarness;
  let id: string;
  let flyId: string;
  const leaseUrl = () => `${h.emulator.baseUrl}/v1/apps/vyx-app/machines/${flyId}/lease`;
  const flyState = () => h.emulator.machines('vyx-app').find((m) => m.id === flyId)?.state;
  const answers = (user: string, from: number) =>
    h.slack.workspace
      .ephemerals()
      .slice(from)
      .filter((e) => e.user === user)
      .map((e) => e.text);

  beforeAll(async () => {
    h = await startBotHarness();
    await h.command('start', MEMBER);
    const row = await h.until(async () => {
      const [r] = await h.s.store.listMachines({ userId: 'vyx-member' });
      return r?.status === 'running' && r.fly_machine_id ? r : undefined;
    }, 'the member machine running');
    id = row.machine_id;
    flyId = row.fly_machine_id!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('two presses of Restart at once: one restart, the other told who holds the lease', async () => {
    const before = h.slack.workspace.ephemerals().length;
    const starts = h.emulator.counters.get(START);
    // Hold the first stop's answer so the second press certainly arrives while the lease is held.
    h.emulator.faults.addRule({
      route: STOP,
      rate: 1,
      kinds: ['latency'],
      latencyMs: 2000,
      phase: 'after',
      times: 1,
    });
    await Promise.all([h.press(ACTIONS.restart, id, MEMBER), h.press(ACTIONS.restart, id, ADMIN)]);
    const all = await h.until(() => {
      const a = [...answers(MEMBER, before), ...answers(ADMIN, before)];
      return a.length >= 2 && a.some((t) => t.includes('restarted')) ? a : undefined;
    }, 'both presses answered');
    expect(all.filter((t) => t.includes('restarted'))).toHaveLength(1);
    const refused = all.find((t) => t.startsWith('Not restarting'));
    expect(refused).toMatch(
      /lease is held by emulator@fly\.local \(vyxbot restart by U0(MEMBER01|ADMIN001) on [\w.-]+\) until/,
    );
    expect(h.emulator.counters.get(START) - starts).toBe(1);
    await h.until(() => flyState() === 'started', 'the machine started again');
    // The runtime, started again, reports the row running itself.
    await h.until(async () => (await h.s.store.getMachine(id)).status === 'running', 'the row running again');
    // The lease was released: nobody holds it now.
    expect(
      (await fetch(leaseUrl(), { headers: { authorization: `Bearer ${h.emulator.token}` } })).status,
    ).toBe(404);
  });

  it('a person holding a lease with flyctl: Stop is refused and names them; after release it stops', async () => {
    const auth = { authorization: `Bearer ${h.emulator.token}`, 'content-type': 'application/json' };
    const taken = await fetch(leaseUrl(), {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ttl: 30, description: 'flyctl machine update by ops' }),
    });
    expect(taken.status).toBe(201);
    const { data } = (await taken.json()) as { data: { nonce: string } };
    // Fly's own rule: a change without the nonce is refused.
    const direct = await fetch(`${h.emulator.baseUrl}/v1/apps/vyx-app/machines/${flyId}/stop`, {
      method: 'POST',
      headers: auth,
      body: '{}',
    });
    expect(direct.status).toBe(409);
    expect(((await direct.json()) as { message: string }).message).toContain('lease currently held by');

    const stops = h.emulator.counters.get(STOP);
    const before = h.slack.workspace.ephemerals().length;
    await h.command(`stop ${id}`, MEMBER);
    const [answer] = await h.until(() => {
      const a = answers(MEMBER, before);
      return a.length > 0 ? a : undefined;
    }, 'the stop answer');
    expect(answer).toContain('flyctl machine update by ops');
    expect(h.emulator.counters.get(STOP)).toBe(stops);
    expect(flyState()).toBe('started');

    // The card says who holds the lease; Destroy is refused too, and the row stays.
    const beforeStatus = h.slack.workspace.ephemerals().length;
    await h.command(`status ${id}`, MEMBER);
    const card = await h.until(
      () =>
        h.slack.workspace
          .ephemerals()
          .slice(beforeStatus)
          .find((e) => e.user === MEMBER),
      'the status card',
    );
    expect(JSON.stringify(card.blocks)).toContain(
      'held by emulator@fly.local (flyctl machine update by ops) until',
    );
    expect(JSON.stringify(card.blocks)).toContain(ACTIONS.restart);
    expect(JSON.stringify(card.blocks)).toContain(ACTIONS.stop);
    const beforeDestroy = h.slack.workspace.ephemerals().length;
    await h.press(ACTIONS.destroy, id, MEMBER);
    const [refusal] = await h.until(() => {
      const a = answers(MEMBER, beforeDestroy);
      return a.length > 0 ? a : undefined;
    }, 'the destroy refusal');
    expect(refusal).toContain('Not destroying');
    expect((await h.s.store.getMachine(id)).status).toBe('running');
    expect(flyState()).toBe('started');

    const released = await fetch(leaseUrl(), {
      method: 'DELETE',
      headers: { ...auth, 'fly-machine-lease-nonce': data.nonce },
    });
    expect(released.status).toBe(200);
    const after = h.slack.workspace.ephemerals().length;
    await h.command(`stop ${id}`, MEMBER);
    const [done] = await h.until(() => {
      const a = answers(MEMBER, after);
      return a.length > 0 ? a : undefined;
    }, 'the second stop answer');
    expect(done).toContain(`Machine \`${id}\` stopped`);
    expect(flyState()).toBe('stopped');

    // Restart of a stopped machine starts it (the Restart button on its card).
    const again = h.slack.workspace.ephemerals().length;
    await h.press(ACTIONS.restart, id, MEMBER);
    const [restarted] = await h.until(() => {
      const a = answers(MEMBER, again);
      return a.length > 0 ? a : undefined;
    }, 'the restart answer');
    expect(restarted).toContain('restarted');
    await h.until(async () => (await h.s.store.getMachine(id)).status === 'running', 'the row running');
    expect(flyState()).toBe('started');
  });

  it('someone else’s machine cannot be stopped by a member', async () => {
    const before = h.slack.workspace.ephemerals().length;
    const stops = h.emulator.counters.get(STOP);
    await h.command(`restart ${id}`, 'U0OTHER001');
    await h.until(() => answers('U0OTHER001', before).length > 0, 'the refusal');
    expect(h.emulator.counters.get(STOP)).toBe(stops);
  });
});
