import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { holdingSlackProxy } from '../helpers/holding-slack-proxy.ts';
import { expectNoSecrets, secret } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const TEAM = 'T0SHUTDOWN';
const CHANNEL = 'C0SHUTDOWN';
const USER = 'U0SHUTUSER';
const REPLICA = 'replica-sigterm';

// `node src/main.ts` as production runs it (HTTP receiver, real Postgres behind the Supabase twin,
// the Fly emulator), SIGTERMed while a `/vyx start` is mid-way and cannot finish by the deadline.
describe('SIGTERM during a provisioning', () => {
  let db: TestDatabase;
  let slack: SlackApiServer;
  let proxy: Awaited<ReturnType<typeof holdingSlackProxy>>;
  let twin: SupabaseTwin | undefined;
  let child: ChildProcess | undefined;
  let dataDir: string;
  let output = '';
  const serviceKey = secret('service-key');
  const signingSecret = secret('signing');
  const flyToken = secret('fly-token');

  beforeAll(async () => {
    db = await createTestDatabase('vyx_sigterm');
    slack = await startSlackApiServer({
      transcriptFile: false,
      botToken: `xoxb-${secret('bot')}`,
      identity: { teamId: TEAM, channelId: CHANNEL, userId: USER },
    });
    proxy = await holdingSlackProxy(slack);
    dataDir = mkdtempSync(join(tmpdir(), 'vyx-sigterm-'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await twin?.close();
    await proxy?.close();
    await slack?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers the user with a clear failure, leaves no row starting, gives its leases back and exits 0', async () => {
    child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: db.url,
        SUPABASE_LOCAL_PORT: '0',
        SUPABASE_SERVICE_KEY: serviceKey,
        FLY_LOCAL_PORT: '0',
        FLY_API_TOKEN: flyToken,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: proxy.apiUrl,
        PORT: '0',
        HOST: '127.0.0.1',
        VYX_DATA_DIR: dataDir,
        VYX_REPLICA_ID: REPLICA,
        // A typed `/vyx start` starts the defaults (with Slack the dialog would open instead).
        VYX_START_DIALOG: 'off',
        VYX_SHUTDOWN_TIMEOUT_S: '3',
        VYX_ECHO_POLL_MS: '100',
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
      },
    });
    child.stdout!.on('data', (d) => {
      output += String(d);
    });
    child.stderr!.on('data', (d) => {
      output += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    // Health listens first; ready once Slack accepted the credentials.
    await until(() => output.includes('vyxbot ready in'), 'the bot ready');
    const base = /http: +(http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const supabaseUrl = /Supabase: local twin started here at (http:\/\/127\.0\.0\.1:\d+)/.exec(output)![1]!;
    // This test's own view of the database: another replica.
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    const { createVyxStore } = await import('../../src/store/vyx-store.ts');
    const store = createVyxStore({ url: twin.url, serviceKey });
    expect(supabaseUrl).not.toBe(twin.url);
    await store.linkIdentity({
      slackTeamId: TEAM,
      slackUserId: USER,
      userId: 'vyx-sigterm-user',
      role: 'member',
    });

    proxy.hold(() => true);
    const status = await sendCommand(base, signingSecret, {
      text: 'start',
      team: TEAM,
      channel: CHANNEL,
      user: USER,
      responseUrl: slack.createResponseUrl({ kind: 'command', channel: CHANNEL, user: USER }),
    });
    expect(status).toBe(200);
    // Mid-way: the row is `starting` and the parent message is held unanswered.
    const row = await until(async () => {
      const m = await store.getActiveMachine('vyx-sigterm-user');
      return m?.status === 'starting' && proxy.held.length > 0 ? m : undefined;
    }, 'the provisioning mid-way');
    // The echo has claimed the row's first event (waiting for its thread): a claim this replica holds.
    await until(async () => {
      const { rows } = await twin!.backend.query(
        'select count(*)::int as n from machine_events where claimed_by = $1 and delivered_at is null',
        [REPLICA],
      );
      return Number(rows[0]!.n) > 0;
    }, 'an outbox claim held by the bot');

    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);

    // The user was answered, clearly, and nothing is left half-made.
    const told = slack.workspace.ephemerals().filter((e) => e.user === USER);
    expect(told.some((e) => e.text.startsWith('Starting'))).toBe(true);
    expect(told.at(-1)?.text).toContain(
      `vyxbot restarted while it was starting your machine \`${row.machine_id}\``,
    );
    expect(told.at(-1)?.text).toContain('/vyx start');
    const after = await store.getMachine(row.machine_id);
    expect(after.status).toBe('failed');
    expect(after.diagnosis).toMatchObject({ code: 'UNKNOWN' });

    // No lease or claim is held under the bot's name; another replica takes the events at once.
    const { rows: held } = await twin.backend.query(
      `select (select count(*)::int from machine_events where claimed_by = $1 and delivered_at is null) as events,
              (select count(*)::int from cloud_machines where lease_owner = $1) as leases`,
      [REPLICA],
    );
    expect(held[0]).toEqual({ events: 0, leases: 0 });
    const claimed = await store.claimEvents({ owner: 'replica-next', limit: 100 });
    const mine = claimed.filter((e) => e.machine_id === row.machine_id);
    expect(mine.map((e) => e.kind)).toEqual(expect.arrayContaining(['status', 'diagnosis']));
    expect(mine.some((e) => e.kind === 'status' && e.new_status === 'failed')).toBe(true);

    // It shut down as designed: exit 0 means every step ended before the backstop (which exits 1
    // when a shutdown overruns its deadline).
    const lines = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const report = lines.find((l) => l.msg === 'shutdown complete');
    expect(report).toMatchObject({ why: 'SIGTERM', drained: false, watchersStopped: true });
    expect((report!.abandoned as unknown[]).length).toBe(1);
    expect(report!.abandoned).toEqual([expect.objectContaining({ machineId: row.machine_id, told: true })]);

    // And its whole log holds no secret value.
    expectNoSecrets(output, {
      'the service key': serviceKey,
      'the Slack bot token': slack.botToken,
      'the signing secret': signingSecret,
      'the Fly token': flyToken,
    });
  });
});
