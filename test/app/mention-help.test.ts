/**
 * "@vyx …" in a channel is answered with help in the mention's own thread: nothing is done
 * (whatever the words say), the channel gets nothing new, and a redelivered event is answered once.
 * The bot runs as production does with the HTTP receiver; the Slack twin makes the event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningBot, startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { appMentionBody, deliverAppMention } from '../../src/local/slack-twin/app-mention.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { type BotHarness, CHANNEL, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';
import { logSink } from '../helpers/log-sink.ts';
import { secret } from '../helpers/secrets.ts';

let h: BotHarness;

beforeAll(async () => {
  h = await startBotHarness();
}, 120_000);
afterAll(async () => h?.close());

const json = { contentType: 'application/json' };
const replies = (ts: string) => h.slack.thread(CHANNEL, ts).slice(1);

describe('app_mention', () => {
  it('answers with help in the thread of the mention, and does nothing it asks', async () => {
    const before = h.slack.messages(CHANNEL).length;
    const { message, body } = appMentionBody(h.slack, { text: 'start --region ams please', user: MEMBER });
    expect((await h.raw(JSON.stringify(body), json)).status).toBe(200);

    const [answer] = await h.until(() => {
      const r = replies(message.ts);
      return r.length > 0 && r;
    }, 'the help reply in the mention thread');
    expect(answer!.text).toContain(`<@${MEMBER}>`);
    expect(answer!.text).toContain('/vyx start');
    expect(answer!.text).toContain('/vyx help');
    // The channel holds the person's mention and nothing else new; no machine was started.
    expect(h.slack.messages(CHANNEL).length).toBe(before + 1);
    expect(h.emulator.machines('vyx-app')).toEqual([]);
    expect(h.ephemerals(MEMBER)).toEqual([]);
  });

  it('a mention inside a thread is answered in that same thread', async () => {
    const parent = h.slack.workspace.post({ channel: CHANNEL, user: MEMBER, text: 'our machine is stuck' });
    const { message, body } = appMentionBody(h.slack, { text: 'help?', user: MEMBER, threadTs: parent.ts });
    expect(message.thread_ts).toBe(parent.ts);
    await h.raw(JSON.stringify(body), json);
    await h.until(
      () => replies(parent.ts).some((m) => m.ts !== message.ts && m.text.includes('/vyx status')),
      'help in the existing thread',
    );
    expect(h.slack.thread(CHANNEL, message.ts).length).toBe(h.slack.thread(CHANNEL, parent.ts).length);
  });

  it('the same event delivered twice (a Slack retry) is answered once; a bot’s mention not at all', async () => {
    const fromBot = appMentionBody(h.slack, { text: 'hello other bot', user: 'U0OTHERBOT' });
    (fromBot.body.event as Record<string, unknown>).bot_id = 'B0OTHERBOT';
    await h.raw(JSON.stringify(fromBot.body), json);

    const { message, body } = appMentionBody(h.slack, { text: 'what can you do', user: MEMBER });
    const text = JSON.stringify(body);
    await h.raw(text, json);
    await h.raw(text, {
      ...json,
      headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    });
    await h.until(() => replies(message.ts).length > 0, 'the help reply');
    // The retry went through the same delivery check: it is audited as a duplicate, not answered.
    await h.until(async () => {
      const { rows } = await h.s.twin.backend.query(
        `select count(*)::int as n from audit_log where outcome = 'duplicate' and name = 'event_callback'`,
      );
      return (rows[0] as { n: number }).n > 0;
    }, 'the retry audited as a duplicate');
    expect(replies(message.ts)).toHaveLength(1);
    expect(replies(fromBot.message.ts)).toEqual([]);
  });
});

// The manifest's default: Socket Mode. The twin delivers the mention in an `events_api` envelope.
describe('app_mention over Socket Mode', () => {
  let db: TestDatabase;
  let supabase: SupabaseTwin;
  let slack: SlackApiServer;
  let bot: RunningBot;
  const appToken = `xapp-${secret('app')}`;

  beforeAll(async () => {
    db = await createTestDatabase('vyx_mention');
    const serviceKey = secret('service-key');
    supabase = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    slack = await startSlackApiServer({ transcriptFile: false, botToken: `xoxb-${secret('bot')}`, appToken });
    const env = {
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_KEY: serviceKey,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: appToken,
      SLACK_API_URL: slack.apiUrl,
      FLY_LOCAL_PORT: '0',
      PORT: '0',
      HOST: '127.0.0.1',
      VYX_STUCK_SCHEDULE: '0 0 1 1 *',
    };
    bot = await startBot(loadConfig(env), {
      logger: createLogger({ level: 'warn', destination: logSink().stream }),
    });
  }, 120_000);
  afterAll(async () => {
    await bot?.shutdown('test over');
    await slack?.close();
    await supabase?.close();
    await db?.drop();
  });

  it('the envelope is acknowledged once and the help lands in the mention thread', async () => {
    const { message, envelope } = deliverAppMention(slack, { text: 'hi' });
    const channel = slack.identity.channelId;
    const [reply] = await until(() => {
      const r = slack.thread(channel, message.ts).slice(1);
      return r.length > 0 && r;
    }, 'the help reply');
    expect(reply!.text).toContain('/vyx start');
    await until(
      () =>
        slack.socketMode!.envelopes().find((e) => e.envelopeId === envelope.envelopeId)?.state === 'acked',
      'the envelope acknowledged',
    );
    const acked = slack.socketMode!.envelopes().find((e) => e.envelopeId === envelope.envelopeId)!;
    expect({ type: acked.type, deliveries: acked.deliveries, acks: acked.acks }).toEqual({
      type: 'events_api',
      deliveries: 1,
      acks: 1,
    });
  });
});
