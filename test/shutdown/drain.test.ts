import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../testkit/until.ts';
import { expectNoSecrets } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';
import { ADMIN, CHANNEL, startTestBot, TEAM, type TestBot } from '../helpers/test-bot.ts';

// The other branch of a shutdown: the provisioning in flight finishes within the deadline, and
// the bot stops taking commands meanwhile.
describe('shutdown with a provisioning that finishes in time', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot({ VYX_SHUTDOWN_TIMEOUT_S: '30' });
  });
  afterAll(async () => {
    if (!t) return;
    await t.close();
    expectNoSecrets(t.logs.join('\n'), t.secrets());
  });

  it('while draining, a command that still arrives is answered "restarting" and does nothing', async () => {
    t.running.bot.tracker.draining = true;
    try {
      const status = await sendCommand(t.running.httpUrl!, t.signingSecret, {
        text: 'start',
        team: TEAM,
        channel: CHANNEL,
        user: ADMIN,
        responseUrl: t.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
      });
      expect(status).toBe(200);
      const answer = await until(
        () => t.slack.workspace.ephemerals().find((e) => e.user === ADMIN),
        'the answer',
      );
      expect(answer.text).toContain('vyxbot is restarting right now; nothing was done');
      expect(await t.running.store.listMachines({ limit: 10 })).toEqual([]);
    } finally {
      t.running.bot.tracker.draining = false;
    }
  });

  it('lets the command finish, then closes: readiness says draining at once, the receiver is gone after', async () => {
    const base = t.running.httpUrl!;
    // Fly takes its time to say `started` (as it does): the provisioning is surely still in flight
    // when shutdown begins, however slow this machine is to notice the row.
    t.running.stack.fly.emulator!.faults.addRule({
      route: 'GET /v1/apps/:app/machines/:id/wait',
      rate: 1,
      kinds: ['latency'],
      latencyMs: 8_000,
      phase: 'before',
      times: 1,
    });
    const status = await sendCommand(base, t.signingSecret, {
      text: 'start',
      team: TEAM,
      channel: CHANNEL,
      user: ADMIN,
      responseUrl: t.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
    });
    expect(status).toBe(200);
    // Waits on the state itself: Fly asked whether the machine started, not yet answered.
    const row = await until(async () => {
      const m = await t.running.store.getActiveMachine('vyx-obs-admin');
      return m?.status === 'starting' && t.running.stack.fly.emulator!.faults.injected().latency === 1
        ? m
        : undefined;
    }, 'the provisioning waiting for Fly');
    expect(t.running.bot.busy()).toBe(true);

    const stopping = t.running.shutdown('SIGTERM');
    expect(t.running.health.draining).toBe(true);
    const report = await stopping;
    expect(report).toMatchObject({ why: 'SIGTERM', drained: true, abandoned: [], watchersStopped: true });
    // The provisioning ran to its end: Fly said started, and the user saw no failure.
    const thread = t.slack.thread(
      CHANNEL,
      (await t.running.store.getMachine(row.machine_id)).slack_thread_ts!,
    );
    expect(thread.some((m) => m.text.includes('Fly says the machine started'))).toBe(true);
    const told = t.slack.workspace.ephemerals().filter((e) => e.user === ADMIN);
    expect(told.some((e) => e.text.includes('vyxbot restarted'))).toBe(false);
    // The receiver is closed: no new command gets in.
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
