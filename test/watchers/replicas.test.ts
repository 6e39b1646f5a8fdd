import { spawn } from 'node:child_process';
import { webApi } from '@slack/bolt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import type { SlackMessage } from '../../src/local/slack-twin/slack-workspace.ts';
import { slackPosterFrom } from '../../src/slack/slack-poster.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';
import { EchoWatcher } from '../../src/watchers/echo-watcher.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { until } from '../../testkit/until.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const CHANNEL = 'C0VYXLOCAL';
const logger = pino({ level: 'silent' });

/** The event ids each posted message says it delivers (message metadata). */
function deliveredIds(messages: SlackMessage[]): number[] {
  return messages.flatMap((m) => {
    const meta = m.metadata as { event_payload?: { event_ids?: string } } | undefined;
    return meta?.event_payload?.event_ids ? meta.event_payload.event_ids.split(',').map(Number) : [];
  });
}

// Many rows through several replicas: each wait is bounded at a minute.
const WAIT_MS = 60_000;

// Any number of replicas: claims and dedup live in Postgres, so each broken machine is alerted
// once and each status change echoed once, also across a kill -9.
describe('several replicas on real Postgres', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;
  let slack: SlackApiServer;
  const everything = () => [
    ...slack.messages(CHANNEL),
    ...slack.messages(CHANNEL).flatMap((m) => slack.thread(CHANNEL, m.ts).slice(1)),
  ];

  beforeAll(async () => {
    s = await startStoreOn('postgres');
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    slack = await startSlackApiServer({ transcriptFile: false });
  });
  afterAll(async () => {
    await emulator?.close();
    await slack?.close();
    await s?.close();
  });

  /** Broken rows: stuck in starting, pointing at machines Fly destroyed or never had. */
  async function brokenRows(prefix: string, n: number): Promise<string[]> {
    const rowId = (i: number) => `vyx-${prefix}${String(i).padStart(4, '0')}`;
    const destroyed = emulator.bulkCreate({
      app: 'vyx-app',
      count: Math.ceil(n / 2),
      state: 'destroyed',
      env: (j) => ({
        MACHINE_ID: rowId(2 * j),
        USER_ID: `u-${rowId(2 * j)}`,
        SUPABASE_URL: 'http://x',
        SUPABASE_SERVICE_KEY: 'k',
      }),
    });
    const ids: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = rowId(i);
      ids.push(id);
      const fly = i % 2 === 0 ? destroyed[i / 2]! : `${prefix}gone${String(i).padStart(6, '0')}`;
      values.push(`('${id}', 'u-${id}', 'starting', 'vyx-app', '${fly}', 'registry.fly.io/vyx-app:latest')`);
    }
    await s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id, image) values ${values.join(',')}`,
    );
    await s.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - interval '5 minutes' where machine_id = any($1)`,
      [ids],
    );
    return ids;
  }

  function replica(owner: string) {
    const store = createVyxStore({ url: s.twin.url, serviceKey: s.twin.serviceKey });
    return {
      store,
      stuck: new StuckWatcher({
        store,
        fly: createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token }),
        registry: createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl }),
        logger,
        owner,
        defaultApp: 'vyx-app',
        stuckAfterS: 60,
        leaseS: 2,
      }),
      echo: new EchoWatcher({
        store,
        slack: slackPosterFrom(new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl })),
        logger,
        owner,
        alertChannel: CHANNEL,
        pollMs: 25,
        // One alert channel takes all 200 machines here; Slack's pacing is tested elsewhere.
        perChannelPerSecond: 0,
        // Short, so the kill -9 test recovers quickly; fencing keeps a slow replica from double-posting.
        claimLeaseS: 5,
      }),
    };
  }

  it('three watcher+echo instances, 200 machines healthy and broken: one alert per broken machine, one echo per status change', async () => {
    const broken = await brokenRows('r', 100);
    const healthy: string[] = [];
    for (let i = 0; i < 100; i++) {
      const { machine } = await s.store.beginProvision({
        userId: `healthy-${i}`,
        flyApp: 'vyx-app',
        region: 'ams',
        image: 'img',
      });
      healthy.push(machine.machine_id);
    }
    const replicas = ['a', 'b', 'c'].map((o) => replica(`replica-${o}`));
    for (const r of replicas) await r.echo.start();
    // Status changes from the runtime side while the watchers tick, all at once.
    const changes = (async () => {
      for (const id of healthy) await replicas[0]!.store.reportStatus(id, 'running');
      for (const id of healthy.slice(0, 50)) await replicas[1]!.store.reportStatus(id, 'stopped');
    })();
    for (let round = 0; round < 4; round++) await Promise.all(replicas.map((r) => r.stuck.tick()));
    await changes;
    await until(async () => (await s.store.pendingEvents()).count === 0, 'every event delivered', WAIT_MS);
    for (const r of replicas) await r.echo.stop();

    const all = everything();
    for (const id of broken)
      expect(
        all.filter((m) => m.text.startsWith(`MACHINE_GONE on ${id}:`)),
        id,
      ).toHaveLength(1);
    const { rows } = await s.twin.backend.query(
      `select id from machine_events where machine_id = any($1) and kind = 'status' and old_status is not null`,
      [healthy],
    );
    const expected = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(expected).toHaveLength(150);
    const posted = deliveredIds(all)
      .filter((id) => expected.includes(id))
      .sort((a, b) => a - b);
    expect(posted).toEqual(expected); // each exactly once
    const dup = await s.twin.backend.query(
      `select count(*)::int as n from diagnoses where machine_id = any($1) and notify_count <> 1`,
      [broken],
    );
    expect(dup.rows[0]?.n).toBe(0);
  });

  it('kill -9 of one instance mid-work: after restart nothing is lost and nothing duplicated', async () => {
    const broken = await brokenRows('k', 120);
    const child = spawn(
      process.execPath,
      [new URL('../fixtures/watch/run-replica.ts', import.meta.url).pathname],
      {
        env: {
          PATH: process.env.PATH ?? '',
          SUPABASE_URL: s.twin.url,
          SUPABASE_SERVICE_KEY: s.twin.serviceKey,
          FLY_URL: emulator.baseUrl,
          FLY_TOKEN: emulator.token,
          SLACK_API_URL: slack.apiUrl,
          SLACK_TOKEN: slack.botToken,
          ALERT_CHANNEL: CHANNEL,
          OWNER: 'doomed',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    const posted = () => {
      const texts = slack.messages(CHANNEL).map((m) => m.text);
      return broken.filter((id) => texts.some((t) => t.startsWith(`MACHINE_GONE on ${id}:`))).length;
    };
    await until(() => posted() >= 10, 'the doomed replica posting', WAIT_MS);
    child.kill('SIGKILL');
    await exited;
    const atKill = posted();

    const after = replica('replica-after');
    await after.echo.start();
    await until(
      async () => {
        await after.stuck.tick();
        const left = await s.twin.backend.query(
          `select count(*)::int as n from cloud_machines where machine_id = any($1) and status = 'starting'`,
          [broken],
        );
        return left.rows[0]?.n === 0 && (await s.store.pendingEvents()).count === 0;
      },
      'every broken row diagnosed and delivered',
      WAIT_MS,
    );
    await after.echo.stop();

    expect(atKill).toBeLessThan(broken.length + 1);
    const all = everything();
    for (const id of broken)
      expect(
        all.filter((m) => m.text.startsWith(`MACHINE_GONE on ${id}:`)),
        id,
      ).toHaveLength(1);
    const ids = deliveredIds(all);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
