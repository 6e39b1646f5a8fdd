import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultRule } from '../../src/local/fly-emulator/fault-injector.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { holdingSlackProxy } from '../helpers/holding-slack-proxy.ts';
import { expectNoSecrets, secret } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';

/** The vyxbot metadata of an emulator machine (its JSON as Fly answers it). */
const metaOf = (m: Record<string, unknown>) =>
  ((m.config as { metadata?: Record<string, string> } | undefined)?.metadata ?? {}) as Record<string, string>;

const BOT = new URL('../fixtures/recovery/run-bot.ts', import.meta.url).pathname;
const TEAM = 'T0RECOVER1';
const CHANNEL = 'C0RECOVER1';
const REPLICA = 'replica-recovery';
const CREATE = 'POST /v1/apps/:app/machines';
const WAIT = 'GET /v1/apps/:app/machines/:id/wait';
/** Longer than the whole test: a step held by it never finishes on its own. */
const FOREVER_MS = 10 * 60_000;

type Hold = 'none' | 'parent' | 'replies';

/** Which Slack posts a step holds: parent messages, or thread replies. */
const HOLDS: Record<Hold, ((body: string) => boolean) | undefined> = {
  none: undefined,
  parent: (body) => !/thread_ts/.test(body),
  replies: (body) => /thread_ts/.test(body),
};

// `kill -9` of the bot at each step of a provisioning, the step held in place by a fault (never a
// race), then the same replica restarted: its start-up recovery resolves what the dead process
// left — every row linked to its machine or failed with a diagnosis, every machine linked or
// destroyed, and the user told.
describe('kill -9 at each step of provisioning, then a restart', () => {
  let db: TestDatabase;
  let twin: SupabaseTwin;
  let store: VyxStore;
  let emulator: FlyEmulator;
  let slack: SlackApiServer;
  let proxy: Awaited<ReturnType<typeof holdingSlackProxy>>;
  let child: ChildProcess | undefined;
  let eventsUrl = '';
  let output = '';
  const signingSecret = secret('signing');
  const serviceKey = secret('service-key');

  async function startBot(): Promise<void> {
    child = spawn(process.execPath, [BOT], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        SUPABASE_URL: twin.url,
        SUPABASE_SERVICE_KEY: serviceKey,
        FLY_URL: emulator.baseUrl,
        FLY_TOKEN: emulator.token,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: proxy.apiUrl,
        ALERT_CHANNEL: CHANNEL,
        REPLICA,
      },
    });
    let mine = '';
    child.stdout!.on('data', (d) => {
      mine += String(d);
      output += String(d);
    });
    child.stderr!.on('data', (d) => {
      output += String(d);
    });
    eventsUrl = await until(() => /^ready (\S+)$/m.exec(mine)?.[1], 'the bot ready');
  }

  async function kill9(): Promise<void> {
    const c = child!;
    const gone = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await gone;
    child = undefined;
  }

  beforeAll(async () => {
    db = await createTestDatabase('vyx_recovery');
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    store = createVyxStore({ url: twin.url, serviceKey });
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    slack = await startSlackApiServer({
      transcriptFile: false,
      identity: { teamId: TEAM, channelId: CHANNEL },
    });
    proxy = await holdingSlackProxy(slack);
    await startBot();
  });
  afterAll(async () => {
    if (child) await kill9();
    await proxy?.close();
    await slack?.close();
    await emulator?.close();
    await twin?.close();
    await db?.drop();
  });

  /** `/vyx start` for a fresh user, held at a step; kill -9 once `reached` holds; restart. */
  async function killAt(
    n: number,
    hold: { slack?: Hold; fault?: FaultRule },
    reached: (
      row: { machine_id: string; slack_thread_ts: string | null },
      step: string | undefined,
    ) => boolean,
  ) {
    const user = `U0RECOV00${n}`;
    const userId = `vyx-recovery-${n}`;
    await store.linkIdentity({ slackTeamId: TEAM, slackUserId: user, userId, role: 'member' });
    proxy.hold(HOLDS[hold.slack ?? 'none']);
    emulator.faults.setRules(hold.fault ? [hold.fault] : []);
    const status = await sendCommand(eventsUrl.replace(/\/slack\/events$/, ''), signingSecret, {
      text: 'start',
      team: TEAM,
      channel: CHANNEL,
      user,
      responseUrl: slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user }),
    });
    expect(status).toBe(200);
    const row = await until(async () => {
      const r = await store.getActiveMachine(userId);
      const p = r ? await store.getProvisioning(r.machine_id) : null;
      return r && reached(r, p?.step) ? r : undefined;
    }, `the provisioning of ${userId} held in place`);
    await kill9();
    // The restart: nothing held any more, faults gone; the same replica takes its own back.
    proxy.hold(undefined);
    for (const r of proxy.held.splice(0)) r.destroy();
    emulator.faults.setRules([]);
    await startBot();
    const done = await until(async () => {
      const p = await store.getProvisioning(row.machine_id);
      return p && ['done', 'failed'].includes(p.step) ? p : undefined;
    }, `the provisioning of ${row.machine_id} resolved`);
    const after = await store.getMachine(row.machine_id);
    const told = () => slack.find((m) => m.channel === CHANNEL && m.text.startsWith(`<@${user}> `))[0];
    const message = await until(told, `${user} told`);
    const flyMachines = emulator
      .machines('vyx-app')
      .filter((m) => metaOf(m).vyx_machine_id === row.machine_id);
    return { row, after, done, message, flyMachines };
  }

  it('row written, parent message not yet posted: no machine was asked for → failed NEVER_CREATED, told in the channel', async () => {
    const { after, done, message, flyMachines } = await killAt(
      1,
      { slack: 'parent' },
      (_r, step) => step === 'row' && proxy.held.length > 0,
    );
    expect(done.step).toBe('failed');
    expect(after.status).toBe('failed');
    expect(after.diagnosis).toMatchObject({ code: 'NEVER_CREATED' });
    expect(flyMachines).toEqual([]);
    expect(message.text).toContain('Fly never made its machine');
    expect(message.text).toContain('/vyx start');
  });

  it('create sent, Fly never completes it: → failed NEVER_CREATED with the create key as evidence, told in the thread', async () => {
    const { row, after, done, message, flyMachines } = await killAt(
      2,
      { fault: { route: CREATE, rate: 1, kinds: ['latency'], latencyMs: FOREVER_MS, phase: 'before' } },
      (_r, step) => step === 'creating' && emulator.counters.snapshot()[CREATE] !== undefined,
    );
    expect(done.step).toBe('failed');
    expect(after.status).toBe('failed');
    expect(after.diagnosis).toMatchObject({ code: 'NEVER_CREATED' });
    expect(flyMachines).toEqual([]);
    const { rows } = await twin.backend.query('select evidence from diagnoses where machine_id = $1', [
      row.machine_id,
    ]);
    expect(JSON.stringify(rows[0]?.evidence)).toContain(
      `no machine in vyx-app carries vyx_create_key=${done.create_key}`,
    );
    expect(message.thread_ts).toBe(row.slack_thread_ts);
  });

  it('Fly made the machine, its answer never arrived: → linked (by its create key, or by the runtime’s own report), running, told', async () => {
    const { row, after, done, message, flyMachines } = await killAt(
      3,
      { fault: { route: CREATE, rate: 1, kinds: ['latency'], latencyMs: FOREVER_MS, phase: 'after' } },
      (r) => emulator.machines('vyx-app').some((m) => metaOf(m).vyx_machine_id === r.machine_id),
    );
    expect(flyMachines).toHaveLength(1);
    expect(done).toMatchObject({ step: 'done', fly_machine_id: flyMachines[0]!.id });
    expect(after.fly_machine_id).toBe(flyMachines[0]!.id);
    expect(message.text).toContain(`found its Fly machine \`${flyMachines[0]!.id}\``);
    // The runtime's report may have recorded the Fly id before the restart; else the create key found it.
    expect(message.text).toMatch(/by (the provisioning's create key|the row's fly_machine_id)/);
    expect(message.thread_ts).toBe(row.slack_thread_ts);
    await until(async () => (await store.getMachine(row.machine_id)).status === 'running', 'running');
  });

  it('created and linked, its thread reply not yet posted: → linked (by its Fly id), done, told', async () => {
    const { after, done, message, flyMachines } = await killAt(
      4,
      { slack: 'replies' },
      (r, step) => step === 'created' && proxy.held.length > 0 && r.slack_thread_ts !== null,
    );
    expect(flyMachines).toHaveLength(1);
    expect(done.step).toBe('done');
    expect(after.fly_machine_id).toBe(flyMachines[0]!.id);
    expect(message.text).toContain("the row's fly_machine_id");
    await until(async () => (await store.getMachine(after.machine_id)).status === 'running', 'running');
  });

  it('waiting for Fly’s started: → linked, done, told; the runtime reports running', async () => {
    const { row, done, message, flyMachines } = await killAt(
      5,
      { fault: { route: WAIT, rate: 1, kinds: ['latency'], latencyMs: FOREVER_MS, phase: 'before' } },
      (_r, step) => step === 'waiting',
    );
    expect(flyMachines).toHaveLength(1);
    expect(done.step).toBe('done');
    expect(message.text).toContain(`\`${flyMachines[0]!.id}\``);
    await until(async () => (await store.getMachine(row.machine_id)).status === 'running', 'running');
  });

  it('afterwards: every row linked or failed with a diagnosis, every machine linked or destroyed, no secret in any log', async () => {
    const { rows } = await twin.backend.query(
      `select machine_id, status, fly_machine_id, diagnosis from cloud_machines where user_id like 'vyx-recovery-%'`,
    );
    expect(rows).toHaveLength(5);
    for (const r of rows) {
      const ok =
        (r.fly_machine_id !== null && r.status === 'running') ||
        (r.status === 'failed' && r.diagnosis !== null);
      expect(ok, `${r.machine_id}: ${r.status}`).toBe(true);
      expect((await store.getProvisioning(String(r.machine_id)))?.step).toMatch(/^(done|failed)$/);
    }
    const linked = new Set(rows.map((r) => r.fly_machine_id).filter(Boolean));
    for (const m of emulator.machines('vyx-app')) {
      expect(linked.has(String(m.id)) || m.state === 'destroyed', `Fly machine ${m.id}`).toBe(true);
    }
    expectNoSecrets(output, { 'the service key': serviceKey, 'the signing secret': signingSecret });
  });
});
