import { type RunningBot, startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createLogger, secretValuesOf } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { logSink } from './log-sink.ts';
import { secret } from './secrets.ts';

export const TEAM = 'T0OBSERVE1';
export const CHANNEL = 'C0OBSERVE1';
export const ADMIN = 'U0OBSADMIN';

export interface TestBot {
  running: RunningBot;
  db: TestDatabase;
  twin: SupabaseTwin;
  slack: SlackApiServer;
  signingSecret: string;
  logs: string[];
  /** Every secret value of this bot, by kind. */
  secrets(): Record<string, string>;
  close(): Promise<void>;
}

/**
 * The bot as `main.ts` assembles it (startBot), in HTTP mode on loopback: a fresh database on the
 * real Postgres behind the local Supabase gateway (reached as a real Supabase: URL and key), the
 * Fly emulator the stack starts, and the Slack Web API twin through SLACK_API_URL.
 */
export async function startTestBot(extraEnv: Record<string, string> = {}): Promise<TestBot> {
  const db = await createTestDatabase('vyx_obs');
  const serviceKey = secret('service-key');
  const twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
  const slack = await startSlackApiServer({
    transcriptFile: false,
    botToken: `xoxb-${secret('bot')}`,
    identity: { teamId: TEAM, channelId: CHANNEL, userId: ADMIN },
  });
  const signingSecret = secret('signing');
  const env: Record<string, string> = {
    SUPABASE_URL: twin.url,
    SUPABASE_SERVICE_KEY: serviceKey,
    SUPABASE_JWT_SECRET: twin.jwtSecret,
    SUPABASE_ANON_KEY: twin.anonKey,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: signingSecret,
    SLACK_API_URL: slack.apiUrl,
    SLACK_ALERT_CHANNEL: CHANNEL,
    FLY_LOCAL_PORT: '0',
    PORT: '0',
    HOST: '127.0.0.1',
    VYX_STUCK_SCHEDULE: '0 0 1 1 *',
    VYX_ECHO_POLL_MS: '100',
    VYX_REPLICA_ID: 'replica-observed',
    VYX_SHUTDOWN_TIMEOUT_S: '5',
    // Its commands type a bare `/vyx start` to start the defaults (with Slack the dialog would open).
    VYX_START_DIALOG: 'off',
    LOG_LEVEL: 'debug',
    ...extraEnv,
  };
  const sink = logSink();
  const scrub = new Set(secretValuesOf(env));
  const logger = createLogger({ level: 'debug', destination: sink.stream, secrets: () => [...scrub] });
  const running = await startBot(loadConfig(env), {
    logger,
    secrets: () => [...scrub],
    readyTimeoutMs: 2_000,
  });
  scrub.add(running.stack.fly.token);
  await running.store.linkIdentity({
    slackTeamId: TEAM,
    slackUserId: ADMIN,
    userId: 'vyx-obs-admin',
    role: 'admin',
  });
  return {
    running,
    db,
    twin,
    slack,
    signingSecret,
    logs: sink.lines,
    secrets: () => ({
      'the service key': serviceKey,
      'the Slack bot token': slack.botToken,
      'the signing secret': signingSecret,
      'the Fly token': running.stack.fly.token,
    }),
    async close() {
      await running.shutdown('test over');
      await slack.close();
      await twin.close();
      await db.drop();
    },
  };
}
