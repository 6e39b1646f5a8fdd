import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { ACTIONS } from '../../src/slack/cards/card-parts.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';
import { sign } from '../../testkit/slack-signature.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { type MainProcess, runMain, STACK } from '../app/run-main.ts';
import { holdingFlyProxy } from '../helpers/holding-fly-proxy.ts';
import { secret } from '../helpers/secrets.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const TEAM = 'T0REPLICAS';
const CHANNEL = 'C0REPLICAS';
const OWNER = 'U0REPOWNER';
const ADMIN = 'U0REPADMIN';
const STOP = 'POST /v1/apps/:app/machines/:id/stop';
const START = 'POST /v1/apps/:app/machines/:id/start';
const SLEEPER = 'registry.fly.io/vyx-app:sleeper';

/**
 * Two bot processes (`node src/main.ts`, HTTP receiver, each its own VYX_REPLICA_ID) on one
 * database, one Fly and one Slack. Restart is pressed on the same machine at each replica at once:
 * Fly's lease lets exactly one restart it; the other is told who holds the lease — the other
 * replica, by name. Both replicas' stop calls are held at a proxy in front of Fly, so whichever
 * took the lease is certainly still holding it when the other asks: no timing assumption.
 */
describe('two replicas pressing Restart on one machine at once', () => {
  let db: TestDatabase;
  let twin: SupabaseTwin;
  let emulator: FlyEmulator;
  let slack: SlackApiServer;
  let proxy: Awaited<ReturnType<typeof holdingFlyProxy>>;
  let dataDir: string;
  const bots: MainProcess[] = [];
  const serviceKey = secret('service-key');
  const signingSecret = secret('signing');

  beforeAll(async () => {
    db = await createTestDatabase('vyx_replica_restart');
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    emulator = await createFlyEmulator({
      apps: { 'vyx-app': {} },
      // A machine process that runs until stopped: a restart is a real stop and start.
      catalogue: [
        ...defaultImageCatalogueEntries('vyx-app'),
        {
          ref: SLEEPER,
          command: [process.execPath, join(ROOT, 'test/fixtures/fly/run-until-term.ts')],
          cwd: ROOT,
        },
      ],
    });
    slack = await startSlackApiServer({
      transcriptFile: false,
      botToken: `xoxb-${secret('bot')}`,
      identity: { teamId: TEAM, channelId: CHANNEL, userId: OWNER },
    });
    proxy = await holdingFlyProxy(emulator, (method, path) => method === 'POST' && /\/stop$/.test(path));
    dataDir = mkdtempSync(join(tmpdir(), 'vyx-replicas-'));
  }, 120_000);
  afterAll(async () => {
    for (const b of bots) {
      if (b.child.exitCode === null) b.child.kill('SIGTERM');
      await Promise.race([b.exited, new Promise((r) => setTimeout(r, 10_000))]);
      b.kill();
    }
    await proxy?.close();
    await emulator?.close();
    await slack?.close();
    await twin?.close();
    await db?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  function startReplica(name: string): MainProcess {
    const bot = runMain({
      SUPABASE_URL: twin.url,
      SUPABASE_SERVICE_KEY: serviceKey,
      FLY_API_URL: proxy.url,
      FLY_API_TOKEN: emulator.token,
      SLACK_API_URL: slack.apiUrl,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_ALERT_CHANNEL: CHANNEL,
      FLY_LOCAL_PORT: '1', // would fail if the bot started an emulator of its own
      SUPABASE_LOCAL_PORT: '1',
      PORT: '0',
      HOST: '127.0.0.1',
      VYX_DATA_DIR: join(dataDir, name),
      VYX_REPLICA_ID: name,
      VYX_STUCK_SCHEDULE: '0 0 1 1 *',
      VYX_FAST_WATCH_MS: '0',
      VYX_ECHO_POLL_MS: '200',
      LOG_FORMAT: 'json',
    });
    bots.push(bot);
    return bot;
  }

  /** A signed Restart press, as Slack posts it to a replica's /slack/events. */
  async function pressRestart(base: string, user: string, machineId: string): Promise<number> {
    const payload = {
      type: 'block_actions',
      team: { id: TEAM, domain: 'vyx-test' },
      user: { id: user, username: user.toLowerCase(), team_id: TEAM },
      api_app_id: 'A0VYXLOCAL',
      token: 'deprecated-verification-token',
      container: { type: 'message', channel_id: CHANNEL, message_ts: '1.000001' },
      trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
      channel: { id: CHANNEL, name: 'vyx-replicas' },
      response_url: slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user }),
      actions: [
        {
          type: 'button',
          action_id: ACTIONS.restart,
          block_id: 'b',
          value: machineId,
          action_ts: String(Date.now() / 1000),
        },
      ],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const ts = Math.floor(Date.now() / 1000);
    const r = await fetch(`${base}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': sign(signingSecret, ts, body),
      },
      body,
    });
    await r.text();
    return r.status;
  }

  it('one restart on Fly; the other replica’s asker is told the first replica holds the lease', async () => {
    const [a, b] = [startReplica('replica-a'), startReplica('replica-b')];
    const [, baseA] = await a.waitFor(/http: +(http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    const [, baseB] = await b.waitFor(/http: +(http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    await a.waitFor(/vyxbot ready in/, 60_000);
    await b.waitFor(/vyxbot ready in/, 60_000);

    // The owner's machine, running on Fly, and its row.
    const store = createVyxStore({ url: twin.url, serviceKey });
    await store.linkIdentity({ slackTeamId: TEAM, slackUserId: OWNER, userId: 'vyx-owner', role: 'member' });
    await store.linkIdentity({ slackTeamId: TEAM, slackUserId: ADMIN, userId: 'vyx-admin', role: 'admin' });
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const machine = await fly.create('vyx-app', { region: 'ams', config: { image: SLEEPER } });
    await fly.wait('vyx-app', machine.id, { state: 'started', timeoutMs: 30_000 });
    const { machine: row } = await store.beginProvision({
      userId: 'vyx-owner',
      flyApp: 'vyx-app',
      region: 'ams',
      image: SLEEPER,
    });
    await store.attachFlyMachine(row.machine_id, machine.id, 'vyx-app');
    await store.reportStatus(row.machine_id, 'running');
    const [stops, starts] = [emulator.counters.get(STOP), emulator.counters.get(START)];

    // At once: the owner presses Restart on replica A, an admin on replica B.
    const pressed = await Promise.all([
      pressRestart(baseA!, OWNER, row.machine_id),
      pressRestart(baseB!, ADMIN, row.machine_id),
    ]);
    expect(pressed).toEqual([200, 200]);
    const answers = () =>
      slack.workspace
        .ephemerals()
        .filter((e) => e.user === OWNER || e.user === ADMIN)
        .map((e) => ({ user: e.user, text: e.text }));

    // Whoever took the lease is held at its stop; the other is refused while it holds it.
    const refused = await until(
      () => answers().find((x) => x.text.startsWith('Not restarting')),
      'one replica refused',
      60_000,
    );
    expect(proxy.held()).toHaveLength(1);
    const winner = refused.user === ADMIN ? 'replica-a' : 'replica-b';
    const loser = winner === 'replica-a' ? 'replica-b' : 'replica-a';
    expect(refused.text).toContain(`its Fly lease is held by emulator@fly.local (vyxbot restart by`);
    expect(refused.text).toContain(`on ${winner})`);
    expect(refused.text).not.toContain(loser);

    proxy.releaseAll();
    const restarted = await until(
      () => answers().find((x) => x.text.includes('restarted')),
      'the other restarted it',
      60_000,
    );
    expect(restarted.user).toBe(refused.user === ADMIN ? OWNER : ADMIN);
    expect(answers()).toHaveLength(2);
    // Fly saw one restart: one stop, one start, and the machine is up again, its lease released.
    expect(emulator.counters.get(STOP) - stops).toBe(1);
    expect(emulator.counters.get(START) - starts).toBe(1);
    expect((await fly.get('vyx-app', machine.id)).state).toBe('started');
    expect(await fly.getLease('vyx-app', machine.id)).toBeUndefined();
    for (const bot of [a, b]) expect(bot.stdout() + bot.stderr()).not.toMatch(STACK);
  }, 240_000);
});
