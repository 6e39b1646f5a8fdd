import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../testkit/until.ts';
import { expectNoSecrets } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';
import { ADMIN, CHANNEL, startTestBot, TEAM, type TestBot } from '../helpers/test-bot.ts';

// A provisioning still waiting for Fly's `started` at the shutdown deadline, after the Fly machine
// was created.
describe('shutdown deadline with a Fly machine already created', () => {
  let t: TestBot | undefined;
  afterEach(async () => {
    if (!t) return;
    await t.close();
    expectNoSecrets(t.logs.join('\n'), t.secrets());
    t = undefined;
  });

  /** Starts a machine whose Fly `wait` never answers in time, and shuts the bot down mid-way. */
  async function shutDownMidWait(env: Record<string, string>, ready: (m: { status: string }) => boolean) {
    t = await startTestBot({ VYX_SHUTDOWN_TIMEOUT_S: '4', ...env });
    const bot = t;
    bot.running.stack.fly.emulator!.faults.addRule({
      route: 'GET /v1/apps/:app/machines/:id/wait',
      rate: 1,
      kinds: ['latency'],
      latencyMs: 60_000,
    });
    const status = await sendCommand(bot.running.httpUrl!, bot.signingSecret, {
      text: 'start',
      team: TEAM,
      channel: CHANNEL,
      user: ADMIN,
      responseUrl: bot.slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: ADMIN }),
    });
    expect(status).toBe(200);
    const row = await until(async () => {
      const m = await bot.running.store.getActiveMachine('vyx-obs-admin');
      return m?.fly_machine_id && ready(m) ? m : undefined;
    }, 'the Fly machine created');
    const report = await bot.running.shutdown('SIGTERM');
    expect(report).toMatchObject({ drained: false, watchersStopped: true });
    const told = bot.slack.workspace.ephemerals().filter((e) => e.user === ADMIN);
    return { bot, row, report, lastAnswer: told.at(-1)?.text ?? '' };
  }

  it('runtime silent: destroys the half-made machine, fails the row with a diagnosis, tells the user', async () => {
    // Machines cannot reach the database, so the row stays `starting`.
    const { bot, row, report, lastAnswer } = await shutDownMidWait(
      { MACHINE_SUPABASE_URL: 'http://127.0.0.1:9/' },
      (m) => m.status === 'starting',
    );
    expect(report.abandoned).toEqual([
      expect.objectContaining({ machineId: row.machine_id, flyMachineId: row.fly_machine_id, told: true }),
    ]);
    const after = await bot.running.store.getMachine(row.machine_id);
    expect(after.status).toBe('failed');
    expect(after.diagnosis).toMatchObject({ code: 'UNKNOWN' });
    const fly = bot.running.stack.fly.emulator!.machines('vyx-app').find((m) => m.id === row.fly_machine_id);
    expect(fly?.state).toBe('destroyed');
    expect(lastAnswer).toContain(`vyxbot restarted while it was starting your machine \`${row.machine_id}\``);
    expect(lastAnswer).toContain('removed its half-made Fly machine');
    expect(await bot.running.metrics.scrape()).toMatch(
      /vyxbot_diagnoses_total\{code="UNKNOWN",source="provision"\} 1/,
    );
  });

  it('runtime already reported running: leaves the machine alone and says it is up', async () => {
    const { bot, row, report, lastAnswer } = await shutDownMidWait({}, (m) => m.status === 'running');
    expect(report.abandoned).toEqual([
      expect.objectContaining({ machineId: row.machine_id, kept: 'running', told: true }),
    ]);
    expect(report.abandoned[0]!.flyMachineId).toBeUndefined();
    const after = await bot.running.store.getMachine(row.machine_id);
    expect(after.diagnosis).toBeNull();
    expect(lastAnswer).toContain(`your machine \`${row.machine_id}\`; the machine is *running*`);
  });
});
