import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
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
  const q = (sql: string, params?: unknown[]) => s.twin.backend.query(sql, params);
  const drain = async () => {
    while ((await s.store.pendingEvents()).count > 0) await echo.tick();
  };
  /** Rows started by the bot: each with its card (the thread's parent) in `channel`. */
  const machines = async (prefix: string, n: number, channel: (i: number) => string) => {
    const ids: string[] = [];
    const parents = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const id = `vyx-${prefix}${String(i).padStart(3, '0')}`;
      const parent = slack.workspace.post({ channel: channel(i), user: BOT, text: `Machine ${id}` });
      await q(
        `insert into cloud_machines (machine_id, user_id, status, slack_channel, slack_thread_ts) values ($1, $2, 'starting', $3, $4)`,
        [id, `u-${id}`, channel(i), parent.ts],
      );
      ids.push(id);
      parents.set(id, parent.ts);
    }
    await drain(); // the rows' first events (`starting`) say nothing
    return { ids, parents };
  };

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({
      transcriptFile: false,
      channels: [
        { id: BURST, name: 'burst' },
        ...Array.from({ length: 60 }, (_, i) => ({
          id: `C0SPREAD${String(i).padStart(2, '0')}`,
          name: `s${i}`,
        })),
      ],
      rateLimit: {}, // Slack's: 1/s per channel after a burst of 3; chat.update 50 a minute
    });
    echo = new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
      logger: pino({ level: 'silent' }),
      owner: 'echo',
      alertChannel: 'C0VYXLOCAL',
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
    const { ids, parents } = await machines('spread', 60, (i) => `C0SPREAD${String(i).padStart(2, '0')}`);
    const seq = slack.transcript().length;
    await q(`update cloud_machines set status = 'running' where machine_id like 'vyx-spread%'`);
    await drain();
    for (const [i, id] of ids.entries()) {
      const thread = slack.workspace.thread(`C0SPREAD${String(i).padStart(2, '0')}`, parents.get(id)!);
      expect(thread.at(-1)!.text).toContain(`\`${id}\` is now *running*`);
    }
    // More cards than Slack's edit budget: some wait for it instead of being refused.
    expect(echo.cardsPending).toBeGreaterThan(0);
    const calls = slack.transcript().slice(seq);
    expect(calls.filter((e) => e.status === 429)).toEqual([]);
  });
});
