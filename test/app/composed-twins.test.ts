import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_SLACK_IDENTITY } from '../../src/local/slack-twin/slack-identity.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { type MainProcess, runMain, STACK } from './run-main.ts';

interface Listed {
  ts: string;
  text: string;
  replies: { text: string }[];
}

// `npm run twin:fly`, `twin:slack` and `twin:supabase`, each started alone, and the bot pointed at
// them by URL: it uses them as given and starts no twin of its own.
describe('the bot pointed at twins started alone', () => {
  let db: TestDatabase;
  let dataDir: string;
  const procs: MainProcess[] = [];
  const run = (env: Record<string, string>, script?: string) => {
    const p = runMain(env, script);
    procs.push(p);
    return p;
  };

  beforeAll(async () => {
    db = await createTestDatabase('vyx_composed');
    dataDir = mkdtempSync(join(tmpdir(), 'vyx-composed-'));
  });
  afterAll(async () => {
    for (const p of procs.reverse()) {
      if (p.child.exitCode === null) p.child.kill('SIGTERM');
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 5_000))]);
      p.kill();
    }
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('/vyx start reaches running, and the start-up lines name the URLs given', async () => {
    const supabase = run(
      { DATABASE_URL: db.url, SUPABASE_LOCAL_PORT: '0', VYX_DATA_DIR: join(dataDir, 'supabase') },
      'src/local/supabase-twin-main.ts',
    );
    const fly = run({ FLY_LOCAL_PORT: '0' }, 'src/local/fly-twin-main.ts');
    const slack = run(
      { SLACK_LOCAL_PORT: '0', VYX_DATA_DIR: join(dataDir, 'slack') },
      'src/local/slack-twin-main.ts',
    );
    const [, supabaseUrl] = await supabase.waitFor(/SUPABASE_URL=(\S+)/);
    const [, serviceKey] = await supabase.waitFor(/SUPABASE_SERVICE_KEY=(\S+)/);
    const [, flyUrl] = await fly.waitFor(/Fly emulator listening on (\S+)/);
    const [, flyToken] = await fly.waitFor(/token: +(fly-local-\S+)/);
    const [, slackApiUrl] = await slack.waitFor(/SLACK_API_URL=(\S+)/);
    const [, botToken] = await slack.waitFor(/SLACK_BOT_TOKEN=(\S+)/);
    const [, appToken] = await slack.waitFor(/SLACK_APP_TOKEN=(\S+)/);
    const slackBase = slackApiUrl!.replace(/\/api\/$/, '');

    const store = createVyxStore({ url: supabaseUrl!, serviceKey: serviceKey! });
    await store.linkIdentity({
      slackTeamId: LOCAL_SLACK_IDENTITY.teamId,
      slackUserId: LOCAL_SLACK_IDENTITY.userId,
      userId: 'vyx-composed',
      role: 'member',
    });

    const bot = run({
      SUPABASE_URL: supabaseUrl!,
      SUPABASE_SERVICE_KEY: serviceKey!,
      FLY_API_URL: flyUrl!,
      FLY_API_TOKEN: flyToken!,
      SLACK_API_URL: slackApiUrl!,
      SLACK_BOT_TOKEN: botToken!,
      SLACK_APP_TOKEN: appToken!,
      FLY_LOCAL_PORT: '1', // would fail if the bot started an emulator of its own
      SUPABASE_LOCAL_PORT: '1',
      PORT: '0',
      HOST: '127.0.0.1',
      VYX_DATA_DIR: join(dataDir, 'bot'),
      VYX_STUCK_SCHEDULE: '0 0 1 1 *',
      // A typed `/vyx start` starts the defaults (with Slack the dialog would open instead).
      VYX_START_DIALOG: 'off',
      VYX_ECHO_POLL_MS: '200',
      LOG_FORMAT: 'json',
    });
    await bot.waitFor(/vyxbot ready in/);
    const out = bot.stdout();
    expect(out).toContain(`Supabase: the server at ${supabaseUrl} (SUPABASE_URL)`);
    expect(out).toContain(`Fly:      the server at ${flyUrl} (FLY_API_URL; its registry too)`);
    expect(out).toContain(
      `Slack:    Socket Mode (SLACK_APP_TOKEN), Web API at ${slackApiUrl} (SLACK_API_URL)`,
    );
    expect(out).not.toMatch(/started here/);

    const typed = await fetch(`${slackBase}/_twin/command`, {
      method: 'POST',
      body: JSON.stringify({ text: 'start' }),
    });
    expect(typed.status).toBe(200);
    const row = await until(
      async () => {
        const m = await store.getActiveMachine('vyx-composed');
        return m?.status === 'running' ? m : undefined;
      },
      'the machine running',
      60_000,
    );
    // The person sees it in the channel: the card, and "running" in its thread.
    await until(async () => {
      const r = (await (await fetch(`${slackBase}/_twin/messages`)).json()) as { messages: Listed[] };
      const card = r.messages.find((m) => m.text.includes(row.machine_id));
      return card?.replies.some((reply) => /running/i.test(reply.text));
    }, 'running in the thread');
    expect(bot.stdout() + bot.stderr()).not.toMatch(STACK);
  }, 120_000);
});
