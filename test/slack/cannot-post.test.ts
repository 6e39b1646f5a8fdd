import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { logSink } from '../helpers/log-sink.ts';
import { secret } from '../helpers/secrets.ts';
import { sendCommand } from '../helpers/send-command.ts';

const TEAM = 'T0CANTPOST';
const HOME = 'C0CANTPOST';
const PRIVATE = 'C0PRIVATE9';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// HTTP mode: a signed command is acknowledged whatever Slack's Web API is doing, and the person
// who asked is told, privately and at once, when the bot cannot post where they asked.
describe('when the bot cannot post where it was asked', () => {
  let db: TestDatabase;
  let supabase: SupabaseTwin;
  let slack: SlackApiServer;
  const bots: RunningBot[] = [];
  const serviceKey = secret('service-key');
  const signingSecret = secret('signing');

  const start = async (user: string, slackApiUrl: string) => {
    const bot = await startBot(
      loadConfig({
        SUPABASE_URL: supabase.url,
        SUPABASE_SERVICE_KEY: serviceKey,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: slackApiUrl,
        FLY_LOCAL_PORT: '0',
        PORT: '0',
        HOST: '127.0.0.1',
        VYX_STUCK_SCHEDULE: '0 0 1 1 *',
        // A typed `/vyx start` starts the defaults (with Slack the dialog would open instead).
        VYX_START_DIALOG: 'off',
      }),
      { logger: createLogger({ level: 'debug', destination: logSink().stream }), waitForSlack: false },
    );
    bots.push(bot);
    await bot.store.linkIdentity({
      slackTeamId: TEAM,
      slackUserId: user,
      userId: `vyx-${user}`,
      role: 'member',
    });
    return bot;
  };
  const command = (bot: RunningBot, user: string, channel: string) =>
    sendCommand(bot.httpUrl!, signingSecret, {
      text: 'start',
      team: TEAM,
      channel,
      user,
      responseUrl: slack.createResponseUrl({ kind: 'command', channel, user }),
    });
  const toldTo = (user: string) =>
    slack.workspace
      .ephemerals()
      .filter((e) => e.user === user)
      .map((e) => e.text);

  beforeAll(async () => {
    db = await createTestDatabase('vyx_cantpost');
    supabase = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    slack = await startSlackApiServer({
      transcriptFile: false,
      botToken: `xoxb-${secret('bot')}`,
      identity: { teamId: TEAM, channelId: HOME },
      channels: [{ id: PRIVATE, name: 'secret-project', isPrivate: true, botIsMember: false }],
    });
  }, 60_000);
  afterAll(async () => {
    for (const b of bots) await b.shutdown('test over');
    await slack?.close();
    await supabase?.close();
    await db?.drop();
  });

  it("Slack's Web API unreachable: the signed command is acknowledged at once, and the person is told the follow-up could not be posted", async () => {
    const bot = await start('U0NOWEBAPI', `http://127.0.0.1:${await closedPort()}/api/`);
    const t0 = Date.now();
    expect(await command(bot, 'U0NOWEBAPI', HOME)).toBe(200);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const told = await until(() => {
      const t = toldTo('U0NOWEBAPI');
      return t.some((x) => x.includes("couldn't post")) ? t : undefined;
    }, 'the person told');
    expect(told[0]).toMatch(/^Starting machine `vyx-/);
    expect(told.find((x) => x.includes("couldn't post"))).toMatch(
      /^I couldn't post in <#C0CANTPOST> just now: Slack did not answer \(unreachable\)\. Machine `vyx-[a-z0-9]+` is starting anyway; `\/vyx status` shows how it goes/,
    );
    const ready = await bot.health.readiness();
    expect(ready.failed).toContain('slack');
  });

  it('a private channel the bot is not in: answered at once, privately, with what to do', async () => {
    const bot = await start('U0PRIVATE1', slack.apiUrl);
    await bot.connected;
    expect(await command(bot, 'U0PRIVATE1', PRIVATE)).toBe(200);
    const told = await until(() => {
      const t = toldTo('U0PRIVATE1');
      return t.some((x) => x.includes("can't post")) ? t : undefined;
    }, 'the person told');
    expect(told.find((x) => x.includes("can't post"))).toMatch(
      /^I can't post in <#C0PRIVATE9>: it is a private channel or a DM I am not in\. Invite me with `\/invite @vyx` there, or run `\/vyx start` in a channel I am in\./,
    );
    expect(
      slack.transcript().filter((t) => t.method === 'chat.postMessage' && t.args.channel === PRIVATE),
    ).toHaveLength(1);
  });
});
