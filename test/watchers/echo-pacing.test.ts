import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const CHANNEL = 'C0VYXLOCAL';

// Slack allows about one message a second per channel (with short bursts) and answers 429 past it.
// The echo paces itself under the limit: a burst is spread out, never dropped and never refused.
describe('the echo in a burst', () => {
  let s: StoreUnderTest;
  let slack: SlackApiServer;

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({ transcriptFile: false, rateLimit: { perSecond: 5, burst: 3 } });
  });
  afterAll(async () => {
    await slack?.close();
    await s?.close();
  });

  it('12 machines changing at once: 12 messages, none refused with 429, none lost', async () => {
    for (let i = 0; i < 12; i++) {
      await s.twin.backend.query(
        `insert into cloud_machines (machine_id, user_id, status) values ($1, $2, 'starting')`,
        [`vyx-burst${String(i).padStart(3, '0')}`, `burst-${i}`],
      );
    }
    await s.twin.backend.query(
      `update cloud_machines set status = 'running' where machine_id like 'vyx-burst%'`,
    );
    const echo = new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner: 'echo',
      alertChannel: CHANNEL,
      perChannelPerSecond: 5,
      perChannelBurst: 3,
    });
    while ((await s.store.pendingEvents()).count > 0) await echo.tick();
    const posts = slack.transcript().filter((e) => e.method === 'chat.postMessage');
    expect(posts.map((p) => p.status)).toEqual(Array(12).fill(200));
    expect(slack.messages(CHANNEL).filter((m) => m.text.includes('is now *running*'))).toHaveLength(12);
  });
});
