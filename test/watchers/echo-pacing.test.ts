import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { VyxStore } from '../../src/store/vyx-store.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { until } from '../../testkit/until.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const BURST = 'C0BURST001';
const BOT = 'U0VYXBOT01';

// Slack takes about one message a second per channel (short bursts) and 50+ edits a minute per
// workspace (chat.update, Tier 3), and answers 429 past either; the twin enforces both here, with
// Slack's numbers. A burst is folded into one message instead of queued, and never loses a change.
describe('the echo in a burst', () => {
  let s: StoreUnderTest;
  let slack: SlackApiServer;
  let echo: EchoWatcher;
  const changed: string[] = [];
  const q = (sql: string, params?: unknown[]) => s.twin.backend.query(sql, params);
  const drain = async (watcher = echo) => {
    while ((await s.store.pendingEvents()).count > 0) await watcher.tick();
  };
  /** Rows started by the bot: each with its card (the thread's parent) in `channel`. */
  const machines = async (
    prefix: string,
    n: number,
    channel: (i: number) => string,
    on: { server: SlackApiServer; watcher: EchoWatcher } = { server: slack, watcher: echo },
  ) => {
    const ids: string[] = [];
    const parents = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const id = `vyx-${prefix}${String(i).padStart(3, '0')}`;
      const parent = on.server.workspace.post({ channel: channel(i), user: BOT, text: `Machine ${id}` });
      await q(
        `insert into cloud_machines (machine_id, user_id, status, slack_channel, slack_thread_ts) values ($1, $2, 'starting', $3, $4)`,
        [id, `u-${id}`, channel(i), parent.ts],
      );
      ids.push(id);
      parents.set(id, parent.ts);
    }
    await drain(on.watcher); // the rows' first events (`starting`) say nothing
    return { ids, parents };
  };

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({
      transcriptFile: false,
      channels: [
        { id: BURST, name: 'burst' },
        { id: 'C0AGAIN001', name: 'again' },
      ],
      rateLimit: {}, // Slack's: 1/s per channel after a burst of 3; chat.update 50 a minute
    });
    echo = new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner: 'echo',
      alertChannel: 'C0VYXLOCAL',
      // The second wave joins the burst message however slow this machine is today.
      foldLiveMs: 600_000,
      onMachineChanged: (e) => changed.push(`${e.userId} ${e.machineId}`),
    });
  });
  afterAll(async () => {
    await slack?.close();
    await s?.close();
  });

  it('20 machines in one channel change at once, then 5 again: at most 3 messages, every change in order, no 429', async () => {
    const { ids, parents } = await machines('burst', 20, () => BURST);
    const cards = new Set(parents.values());
    const seq = slack.transcript().length;
    // A lone change is a reply in its machine's thread, as ever.
    await s.store.reportStatus(ids[0]!, 'running');
    await drain();
    expect(slack.workspace.thread(BURST, parents.get(ids[0]!)!).at(-1)!.text).toContain('is now *running*');

    await q(
      `update cloud_machines set status = 'running' where machine_id like 'vyx-burst%' and status = 'starting'`,
    );
    await drain();
    await q(
      `update cloud_machines set status = 'stopped', status_detail = 'stopped by SIGTERM' where machine_id in (select unnest($1::text[]))`,
      [ids.slice(0, 5)],
    );
    await drain();

    const calls = slack.transcript().slice(seq);
    expect(calls.filter((e) => e.status === 429)).toEqual([]);
    // What carried the changes: posts, and edits of anything but the machines' own cards.
    const carried = calls.filter(
      (e) =>
        e.args.channel === BURST &&
        (e.method === 'chat.postMessage' || (e.method === 'chat.update' && !cards.has(String(e.args.ts)))),
    );
    expect(carried.length).toBeGreaterThanOrEqual(2);
    expect(carried.length).toBeLessThanOrEqual(3);
    const top = slack.messages(BURST).filter((m) => !cards.has(m.ts));
    expect(top).toHaveLength(1);
    const said = top[0]!.text;
    // Nothing dropped: every machine's change, and the five's second change after their first.
    for (const id of ids.slice(1))
      expect(said).toMatch(new RegExp(`\`${id}\` is now \\*(running|stopped)\\*`));
    for (const id of ids.slice(1, 5))
      expect(said).toContain(
        `\`${id}\` is now *stopped* (starting → running → stopped) — stopped by SIGTERM`,
      );
    // The first machine's stop joined the burst message after its lone reply.
    expect(said).toContain(`\`${ids[0]}\` is now *stopped* (running → stopped)`);
    const { rows } = await q(
      `select count(*)::int as n from machine_events where machine_id like 'vyx-burst%' and (delivered_at is null or slack_ts is null) and old_status is not null`,
    );
    expect(rows[0]!.n).toBe(0);
    // App Home's hook heard of every machine's changes (folded or not).
    for (const id of ids) expect(changed).toContain(`u-${id} ${id}`);
    // Each machine's own card is brought up to date too (edits, within the Tier 3 budget).
    await until(
      async () => {
        await echo.tick();
        return ids.every((id) =>
          slack.workspace.message(BURST, parents.get(id)!)!.text.match(/: (running|stopped)/),
        );
      },
      'every card current',
      {
        ms: 90_000,
        context: () =>
          `${echo.cardsPending} pending; ${ids.map((id) => slack.workspace.message(BURST, parents.get(id)!)!.text).join(' | ')}`,
      },
    );
  });

  it('60 machines in 60 channels change at once: 60 thread replies at once, cards edited within chat.update’s budget, no 429', async () => {
    // A workspace of its own (Slack's edit budget is per workspace), and an echo whose budget does not
    // refill during the test: exactly what the burst allows goes now, the rest waits.
    const spread = (i: number) => `C0SPREAD${String(i).padStart(2, '0')}`;
    const server = await startSlackApiServer({
      transcriptFile: false,
      channels: Array.from({ length: 60 }, (_, i) => ({ id: spread(i), name: `s${i}` })),
      rateLimit: {},
    });
    try {
      const watcher = new EchoWatcher({
        store: s.store,
        slack: slackPosterFrom(new webApi.WebClient(server.botToken, { slackApiUrl: server.apiUrl })),
        logger: pino({ level: 'silent' }),
        owner: 'spread',
        updatesPerMinute: 1,
      });
      const { ids, parents } = await machines('spread', 60, spread, { server, watcher });
      await q(`update cloud_machines set status = 'running' where machine_id like 'vyx-spread%'`);
      await drain(watcher);
      for (const [i, id] of ids.entries()) {
        const thread = server.workspace.thread(spread(i), parents.get(id)!);
        expect(thread.at(-1)!.text).toContain(`\`${id}\` is now *running*`);
      }
      // More cards than the edit budget: the rest wait for it instead of being refused.
      const edited = server.transcript().filter((e) => e.method === 'chat.update');
      expect(edited.length).toBeGreaterThan(0);
      expect(watcher.cardsPending).toBe(60 - edited.length);
      expect(server.transcript().filter((e) => e.status === 429)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a burst message posted but not acknowledged (the store failed): redelivered, it is found there, not posted again', async () => {
    // The store answers everything but the first acknowledgement (a lost answer, a crash in between).
    class AckFailsOnce extends VyxStore {
      failed = false;
      override ackEvents(owner: string, acks: { id: number; slackTs: string | null }[]) {
        if (this.failed) return super.ackEvents(owner, acks);
        this.failed = true;
        return Promise.reject(new Error('store unreachable'));
      }
    }
    const store = new AckFailsOnce({ url: s.twin.url, serviceKey: s.twin.serviceKey });
    const flaky = new EchoWatcher({
      store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner: 'flaky',
      claimLeaseS: 1,
    });
    const { ids } = await machines('again', 3, () => 'C0AGAIN001');
    const posts = () =>
      slack.transcript().filter((e) => e.method === 'chat.postMessage' && e.args.channel === 'C0AGAIN001');
    const before = posts().length;
    await q(`update cloud_machines set status = 'running' where machine_id like 'vyx-again%'`);
    await until(async () => {
      await flaky.tick();
      return (await s.store.pendingEventsOf(ids)) === 0;
    }, 'the burst delivered');
    expect(store.failed).toBe(true);
    expect(posts().length - before).toBe(1);
    const { rows } = await q(
      `select distinct slack_ts from machine_events where machine_id like 'vyx-again%' and new_status = 'running'`,
    );
    expect(rows).toEqual([{ slack_ts: (posts().at(-1)!.response as { ts: string }).ts }]);
  });
});
