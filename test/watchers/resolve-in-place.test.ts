import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { WATCHER_KEY } from '../../src/watchers/stuck-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const ALERTS = 'C0VYXLOCAL';
const TEAM_CHANNEL = 'C0TEAM0001';

const silent = {
  code: 'RUNTIME_SILENT',
  summary: 'The machine started but its runtime never reported.',
  evidence: [{ fact: 'fly state', value: 'started', source: 'fly' }],
  fix: 'Check the runtime logs.',
  certainty: 'likely' as const,
};

// #18.3: the alert card itself says "resolved" (who, after how long) when the machine recovers or
// is destroyed, or when Fly answers the watcher again; the channel gets no new post for it.
describe('alert cards resolve in place', () => {
  let s: StoreUnderTest;
  let slack: SlackApiServer;
  let client: webApi.WebClient;
  let echo: EchoWatcher;
  const q = (sql: string, params?: unknown[]) => s.twin.backend.query(sql, params);
  const drain = async () => {
    while ((await s.store.pendingEvents()).count > 0) await echo.tick();
  };

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    slack = await startSlackApiServer({
      transcriptFile: false,
      channels: [{ id: TEAM_CHANNEL, name: 'team' }],
      rateLimit: {},
    });
    client = new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl });
    echo = new EchoWatcher({
      store: s.store,
      slack: slackPosterFrom(client),
      logger: pino({ level: 'silent' }),
      owner: 'echo',
      alertChannel: ALERTS,
    });
  });
  afterAll(async () => {
    await slack?.close();
    await s?.close();
  });

  it('a diagnosed machine that then runs: its card in the thread is edited to resolved, nothing new in the channel', async () => {
    const parent = await client.chat.postMessage({ channel: TEAM_CHANNEL, text: 'Machine vyx-res00001' });
    await q(
      `insert into cloud_machines (machine_id, user_id, status, slack_channel, slack_thread_ts, requested_by)
       values ('vyx-res00001', 'u-res1', 'starting', $1, $2, 'U0OWNER001')`,
      [TEAM_CHANNEL, parent.ts],
    );
    await s.store.recordDiagnosis({ machineId: 'vyx-res00001', ...silent });
    await drain();
    const before = slack.messages(TEAM_CHANNEL).length;
    const card = () =>
      slack.workspace.thread(TEAM_CHANNEL, parent.ts!).find((m) => m.text.includes('RUNTIME_SILENT'))!;
    expect(card().text).not.toContain('Resolved');
    const cardTs = card().ts;

    await s.store.reportStatus('vyx-res00001', 'running');
    await drain();
    const resolved = slack.workspace.message(TEAM_CHANNEL, cardTs)!;
    expect(resolved.text).toMatch(
      /^Resolved: RUNTIME_SILENT on vyx-res00001 by \*running\* written by .+ after \d+ s\./,
    );
    expect(JSON.stringify(resolved.blocks)).toContain(':white_check_mark: *Resolved*');
    expect(JSON.stringify(resolved.blocks)).not.toContain('"actions"');
    // The follow-up went to the thread; the channel got nothing new.
    expect(slack.messages(TEAM_CHANNEL)).toHaveLength(before);
    expect(
      slack.workspace.thread(TEAM_CHANNEL, parent.ts!).some((m) => m.text.includes('is now *running*')),
    ).toBe(true);
    const { rows } = await q(
      `select resolved_at, resolved_by from diagnoses where machine_id = 'vyx-res00001'`,
    );
    expect(rows[0]?.resolved_at).not.toBeNull();
    // Running again later resolves nothing twice: the card is edited once.
    const edits = slack.transcript().filter((e) => e.method === 'chat.update' && e.args.ts === cardTs);
    expect(edits).toHaveLength(1);
  });

  it('a diagnosed row with no thread, destroyed: its alert card says who, and the follow-up goes to its thread', async () => {
    await q(
      `insert into cloud_machines (machine_id, user_id, status) values ('vyx-res00002', 'u-res2', 'starting')`,
    );
    await s.store.recordDiagnosis({
      machineId: 'vyx-res00002',
      ...silent,
      code: 'MACHINE_GONE',
      certainty: 'certain',
    });
    await drain();
    const top = () => slack.messages(ALERTS).filter((m) => m.text.includes('vyx-res00002'));
    expect(top()).toHaveLength(1);
    const cardTs = top()[0]!.ts;

    await s.store.reportStatus('vyx-res00002', 'destroyed', 'destroyed by <@U0ALICE01>');
    await drain();
    expect(top()).toHaveLength(1);
    const card = slack.workspace.message(ALERTS, cardTs)!;
    expect(card.text).toMatch(
      /^Resolved: MACHINE_GONE on vyx-res00002 by `\/vyx destroy` by <@U0ALICE01> after \d+ s\./,
    );
    expect(JSON.stringify(card.blocks)).toContain('by `/vyx destroy` by <@U0ALICE01>');
    const thread = slack.workspace.thread(ALERTS, cardTs);
    expect(thread.some((m) => m.text.includes('is now *destroyed*'))).toBe(true);
  });

  it('WATCHER_BLIND: when Fly answers again, the one alert is edited to resolved', async () => {
    await s.store.recordDiagnosis({
      machineId: WATCHER_KEY,
      code: 'WATCHER_BLIND',
      summary: 'The watcher cannot list Fly machines in vyx-app.',
      evidence: [],
      fix: 'Check FLY_API_TOKEN.',
      certainty: 'certain',
    });
    await drain();
    const blind = () => slack.messages(ALERTS).filter((m) => m.text.includes('WATCHER_BLIND'));
    expect(blind()).toHaveLength(1);
    const ts = blind()[0]!.ts;
    const count = slack.messages(ALERTS).length;

    expect(await s.store.resolveWatcherBlind(WATCHER_KEY, 'Fly answering the watcher again')).toBe(true);
    expect(await s.store.resolveWatcherBlind(WATCHER_KEY, 'Fly answering the watcher again')).toBe(false);
    await drain();
    expect(slack.messages(ALERTS)).toHaveLength(count);
    expect(slack.workspace.message(ALERTS, ts)!.text).toMatch(
      /^Resolved: WATCHER_BLIND on watcher:fly by Fly answering the watcher again after \d+ s\./,
    );
  });
});
