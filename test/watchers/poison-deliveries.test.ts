import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { createMetrics } from '../../src/metrics.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { until } from '../../testkit/until.ts';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const HOME = 'C0VYXLOCAL';
const PRIVATE = 'C0PRIVATE1';
const ARCHIVED = 'C0ARCHIVE1';
const ALERTS = 'C0ALERTS01';
const OWNER = 'U0OWNER001';

/** The Slack twin behind a switch: while `down`, every Web API call gets 503 (Slack having a moment). */
async function flakyProxy(slack: SlackApiServer) {
  let down = false;
  let refused = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (down) {
      refused++;
      res.writeHead(503).end();
      return;
    }
    const r = await fetch(`${slack.baseUrl}${req.url}`, {
      method: 'POST',
      headers: {
        'content-type': String(req.headers['content-type'] ?? ''),
        authorization: String(req.headers.authorization ?? ''),
      },
      body: Buffer.concat(chunks),
    });
    res.writeHead(r.status, { 'content-type': 'application/json' }).end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    set: (v: boolean) => {
      down = v;
    },
    refused: () => refused,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// Slack errors that retrying cannot fix (a deleted thread, a channel the bot is not in, an archived
// channel) are set aside after one attempt, and the message falls back to a place that works;
// errors that pass (Slack down for a moment) are retried with backoff until it clears.
describe('poison deliveries', () => {
  let s: StoreUnderTest;
  let slack: SlackApiServer;
  let proxy: Awaited<ReturnType<typeof flakyProxy>>;
  const metrics = createMetrics({ defaultMetrics: false });

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({
      transcriptFile: false,
      channels: [
        { id: PRIVATE, name: 'secret-project', isPrivate: true, botIsMember: false },
        { id: ARCHIVED, name: 'old-stuff', isArchived: true },
        { id: ALERTS, name: 'vyx-alerts' },
      ],
    });
    proxy = await flakyProxy(slack);
  });
  afterAll(async () => {
    await proxy?.close();
    await slack?.close();
    await s?.close();
  });

  const echo = () =>
    new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(
        new webApi.WebClient(slack.botToken, { slackApiUrl: proxy.apiUrl, retryConfig: { retries: 0 } }),
      ),
      logger: pino({ level: 'silent' }),
      owner: 'echo',
      alertChannel: ALERTS,
      perChannelPerSecond: 0,
      retryBaseS: 1,
      metrics,
    });

  /** A row requested by OWNER in `channel`, its thread at `threadTs`, that now changes status. */
  async function rowChanges(
    id: string,
    channel: string,
    threadTs: string | null,
    requestedBy: string | null = OWNER,
  ) {
    await s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, slack_channel, slack_thread_ts, requested_by)
       values ($1, $2, 'starting', $3, $4, $5)`,
      [id, `user-${id}`, channel, threadTs, requestedBy],
    );
    // Written a while ago: the echo does not wait for a thread still being made.
    await s.twin.backend.query(
      `update machine_events set created_at = now() - interval '1 minute' where machine_id = $1`,
      [id],
    );
    // Its first event (starting) is never shown; deliver it out of the way.
    const e = new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner: 'setup',
    });
    while ((await s.store.pendingEventsOf([id])) > 0) await e.tick();
    await s.twin.backend.query(`update cloud_machines set status = 'running' where machine_id = $1`, [id]);
    await s.twin.backend.query(
      `update machine_events set created_at = now() - interval '1 minute' where machine_id = $1`,
      [id],
    );
  }

  const setAside = async (id: string) => (await s.store.setAsideList(100)).filter((e) => e.machine_id === id);
  const scrape = async () => parsePrometheus(await metrics.scrape()).samples;

  it('a deleted thread: one attempt, then the channel, with a note; the event is set aside with its reason', async () => {
    const parent = slack.workspace.post({ channel: HOME, user: 'U0VYXBOT01', text: 'card' });
    await rowChanges('vyx-thread01', HOME, '1700000000.000001');
    const w = echo();
    await w.tick();
    expect(await s.store.pendingEventsOf(['vyx-thread01'])).toBe(0);
    const posted = slack.messages(HOME).filter((m) => m.text.includes('vyx-thread01'));
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toMatch(
      /couldn't post this in its thread in <#C0VYXLOCAL> \(Slack answered `thread_not_found`\)/,
    );
    const [aside] = await setAside('vyx-thread01');
    expect(aside).toMatchObject({ attempts: 1, slack_ts: posted[0]!.ts });
    expect(aside!.reason).toBe('thread_not_found in the thread (C0VYXLOCAL); posted to the channel instead');
    const calls = slack
      .transcript()
      .filter((t) => t.method === 'chat.postMessage' && t.args.thread_ts === '1700000000.000001');
    expect(calls).toHaveLength(1);
    expect(parent.ts).not.toBe('1700000000.000001');
    expect(
      sampleValue(await scrape(), 'vyxbot_slack_set_aside_total', {
        reason: 'thread_not_found',
        fallback: 'channel',
      }),
    ).toBe(1);
  });

  it('a private channel the bot is not in: the owner gets a direct message saying what to do', async () => {
    await rowChanges('vyx-private1', PRIVATE, '1700000000.000002');
    await echo().tick();
    const dm = slack.messages(`D${OWNER.slice(1)}`);
    expect(dm).toHaveLength(1);
    expect(dm[0]!.text).toMatch(
      /About machine `vyx-private1`: I couldn't post this in its thread in <#C0PRIVATE1> \(Slack answered `channel_not_found`\) — invite @vyx there/,
    );
    const [aside] = await setAside('vyx-private1');
    expect(aside!.reason).toBe(
      'channel_not_found in the thread (C0PRIVATE1); channel_not_found in the channel (C0PRIVATE1); posted to the owner DM instead',
    );
  });

  it('an archived channel and no owner: the alert channel; a later event skips the refused places', async () => {
    await rowChanges('vyx-archive1', ARCHIVED, null, null);
    // Its thread was never made: the echo waits for it for a while, then posts in the channel.
    await s.twin.backend.query(
      `update machine_events set created_at = now() - interval '1 minute' where machine_id = 'vyx-archive1'`,
    );
    const w = echo();
    await w.tick();
    const alerts = slack.messages(ALERTS).filter((m) => m.text.includes('vyx-archive1'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.text).toContain('Posted here for operators.');
    const before = slack
      .transcript()
      .filter((t) => t.method === 'chat.postMessage' && t.args.channel === ARCHIVED).length;
    await s.twin.backend.query(
      `update cloud_machines set status = 'stopped' where machine_id = 'vyx-archive1'`,
    );
    await s.twin.backend.query(
      `update machine_events set created_at = now() - interval '1 minute' where machine_id = 'vyx-archive1'`,
    );
    await w.tick();
    expect(slack.messages(ALERTS).filter((m) => m.text.includes('vyx-archive1'))).toHaveLength(2);
    expect(
      slack.transcript().filter((t) => t.method === 'chat.postMessage' && t.args.channel === ARCHIVED),
    ).toHaveLength(before);
    expect(await setAside('vyx-archive1')).toHaveLength(2);
  });

  it('Slack down for a moment: retried with backoff, delivered once it clears, nothing set aside', async () => {
    const parent = slack.workspace.post({ channel: HOME, user: 'U0VYXBOT01', text: 'card of vyx-transie1' });
    await rowChanges('vyx-transie1', HOME, parent.ts);
    proxy.set(true);
    const w = echo();
    await w.tick();
    expect(proxy.refused()).toBeGreaterThan(0);
    expect(await s.store.pendingEventsOf(['vyx-transie1'])).toBe(1);
    // Released with a delay: a tick at once does not hammer Slack.
    const refusedOnce = proxy.refused();
    await w.tick();
    expect(proxy.refused()).toBe(refusedOnce);
    proxy.set(false);
    await until(
      async () => {
        await w.tick();
        return (await s.store.pendingEventsOf(['vyx-transie1'])) === 0;
      },
      'delivered after Slack came back',
      15_000,
    );
    expect(
      slack
        .thread(HOME, parent.ts)
        .slice(1)
        .filter((m) => m.text.includes('running')),
    ).toHaveLength(1);
    expect(await setAside('vyx-transie1')).toEqual([]);
  });
});
