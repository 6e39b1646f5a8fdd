/**
 * "@vyx …" in a channel is answered with help in the mention's own thread: nothing is done
 * (whatever the words say), the channel gets nothing new, and a redelivered event is answered once.
 * The bot runs as production does with the HTTP receiver; the Slack twin makes the event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMentionBody } from '../../src/local/slack-twin/app-mention.ts';
import { type BotHarness, CHANNEL, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';

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
