import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { LOCAL_SLACK_IDENTITY } from '../../src/local/slack-twin/slack-identity.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createLogger } from '../../src/logger.ts';
import { START_MODAL } from '../../src/slack/views/start-modal.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { logSink } from '../helpers/log-sink.ts';
import { secret } from '../helpers/secrets.ts';
import { expectValidSlackTranscript } from '../helpers/slack-spec.ts';

const { teamId: TEAM, userId: USER } = LOCAL_SLACK_IDENTITY;

// App Home and the start dialog over Socket Mode (the manifest's default path), with the bot as
// main.ts assembles it and VYX_START_DIALOG=on: `events_api` and `interactive` envelopes, the
// dialog's answer carried in the acknowledgement.
describe('App Home and the start dialog over Socket Mode', () => {
  let db: TestDatabase;
  let supabase: SupabaseTwin;
  let slack: SlackApiServer;
  let bot: RunningBot;
  const appToken = `xapp-${secret('app')}`;

  beforeAll(async () => {
    db = await createTestDatabase('vyx_socketviews');
    const serviceKey = secret('service-key');
    supabase = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    slack = await startSlackApiServer({ transcriptFile: false, botToken: `xoxb-${secret('bot')}`, appToken });
    bot = await startBot(
      loadConfig({
        SUPABASE_URL: supabase.url,
        SUPABASE_SERVICE_KEY: serviceKey,
        SLACK_BOT_TOKEN: slack.botToken,
        SLACK_APP_TOKEN: appToken,
        SLACK_API_URL: slack.apiUrl,
        SLACK_ALERT_CHANNEL: LOCAL_SLACK_IDENTITY.channelId,
        FLY_LOCAL_PORT: '0',
        PORT: '0',
        HOST: '127.0.0.1',
        VYX_STUCK_SCHEDULE: '0 0 1 1 *',
        VYX_ECHO_POLL_MS: '100',
        VYX_START_DIALOG: 'on',
      }),
      { logger: createLogger({ level: 'debug', destination: logSink().stream }), slackBackoffMs: 100 },
    );
    await bot.store.linkIdentity({
      slackTeamId: TEAM,
      slackUserId: USER,
      userId: 'vyx-sock',
      role: 'member',
    });
  }, 60_000);
  afterAll(async () => {
    await bot?.shutdown('test over');
    await slack?.close();
    await supabase?.close();
    await db?.drop();
  });

  it('Home opens, the dialog refuses a region inline and then starts the machine, Home follows it', async () => {
    await until(() => slack.socketMode!.connections() === 1, 'connected');
    slack.openHome(USER);
    await until(() => slack.views.home(USER), 'Home published');
    expect(JSON.stringify(slack.views.home(USER)!.blocks)).toContain('You have no machines yet');

    slack.command({ text: 'start' });
    const modal = await until(() => slack.views.modals(USER)[0], 'the dialog open');
    const refused = slack.submitView(modal.id, { [START_MODAL.regionBlock]: 'zzz' });
    const outcome = await refused.outcome;
    expect(outcome.kind).toBe('errors');
    expect(outcome.kind === 'errors' && outcome.errors[START_MODAL.regionBlock]).toContain(
      'Fly has no region',
    );
    expect(slack.views.modals(USER)).toHaveLength(1);
    expect(await bot.store.listMachines({ userId: 'vyx-sock' })).toEqual([]);

    const accepted = slack.submitView(modal.id, { [START_MODAL.regionBlock]: 'ams' });
    expect(await accepted.outcome).toEqual({ kind: 'closed' });
    expect(slack.views.modals(USER)).toHaveLength(0);
    const row = await until(async () => {
      const [r] = await bot.store.listMachines({ userId: 'vyx-sock' });
      return r?.status === 'running' ? r : undefined;
    }, 'the machine running');
    expect(row.region).toBe('ams');
    // Opened once: the Home follows the machine through the outbox.
    await until(
      () =>
        JSON.stringify(slack.views.home(USER)?.blocks ?? []).includes(`\`${row.machine_id}\` is *running*`),
      'Home re-rendered',
    );
    for (const e of slack.socketMode!.envelopes()) expect(e.state).toBe('acked');
    // apps.connections.open is Socket Mode's, outside the Web API subset the spec check reads.
    expectValidSlackTranscript(slack.transcript().filter((e) => e.method !== 'apps.connections.open'));
  });
});
