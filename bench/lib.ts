// Shared pieces of the benchmarks: percentiles, the local stack on real Postgres, bulk stuck rows.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { buildMachineEnv } from '../src/contract/build-machine-env.ts';
import { createFlyMachinesClient, type FlyMachinesClient } from '../src/fly/machines-client.ts';
import { createRegistryClient, type RegistryClient } from '../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../src/local/slack-twin/slack-api-server.ts';
import type { SlackTranscriptEntry } from '../src/local/slack-twin/slack-transcript.ts';
import type { SlackChannel } from '../src/local/slack-twin/slack-workspace.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../testkit/test-postgres.ts';
import type { BotChildInput } from './bot-child.ts';

/** V8 flags the bot runs with in production (Dockerfile CMD, npm start): its bench processes run with them too. */
export const BOT_NODE_FLAGS = ['--max-semi-space-size=8', '--heap-growing-percent=20'];

export const TEAM = 'T0BENCH001';
export const CHANNEL = 'C0BENCHALR';
export const ADMIN = 'U0BENCHADM';
export const FLY_APP = 'vyx-app';
export const IMAGE = 'registry.fly.io/vyx-app:latest';

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}
export const r1 = (x: number) => Math.round(x * 10) / 10;
export const r2 = (x: number) => Math.round(x * 100) / 100;
export const mb = (bytes: number) => r1(bytes / 2 ** 20);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The services the bot talks to: Supabase twin on a fresh real-Postgres database, Fly emulator, Slack twin. */
export interface Services {
  db: TestDatabase;
  twin: SupabaseTwin;
  store: VyxStore;
  emulator: FlyEmulator;
  fly: FlyMachinesClient;
  registry: RegistryClient;
  slack: SlackApiServer;
  /** Every Slack transcript entry is passed to these listeners. */
  onSlack: Set<(e: SlackTranscriptEntry) => void>;
  clock: { skewMs: number };
  close(): Promise<void>;
}

export async function startServices(extraChannels: SlackChannel[] = []): Promise<Services> {
  const db = await createTestDatabase('vyx_bench');
  try {
    const twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url });
    const store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
    // The emulator's clock runs `skew` behind while bulk machines are made, so they started long ago.
    const clock = { skewMs: 0 };
    const emulator = await createFlyEmulator({
      apps: { [FLY_APP]: {} },
      seed: 7,
      now: () => Date.now() - clock.skewMs,
    });
    const onSlack = new Set<(e: SlackTranscriptEntry) => void>();
    const slack = await startSlackApiServer({
      transcriptFile: false,
      identity: { teamId: TEAM, channelId: CHANNEL },
      channels: extraChannels,
      // Slack's limits (1 message/s per channel after a burst of 3; chat.update 50/min): 429 past them.
      rateLimit: {},
      onEntry: (e) => {
        for (const f of onSlack) f(e);
      },
    });
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const registry = createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl });
    return {
      db,
      twin,
      store,
      emulator,
      fly,
      registry,
      slack,
      onSlack,
      clock,
      async close() {
        await emulator.close();
        await slack.close();
        await twin.close();
        await db.drop();
      },
    };
  } catch (err) {
    await db.drop().catch(() => {});
    throw err;
  }
}

/** Empties what a scenario leaves behind so the next starts from the same place. */
export async function resetTables(svc: Services): Promise<void> {
  await svc.twin.backend.query('truncate public.machine_events, public.diagnoses, public.cloud_machines');
}

export const appName = (i: number) => `vyx-bench-${String(i).padStart(2, '0')}`;

/**
 * `rows` stuck rows spread over `apps` Fly apps, which hold only their machines: made by the emulator's bulk mode (no
 * processes; `started`, so the runtime's silence is what is wrong), rows inserted with SQL and
 * backdated ten minutes, each pointing at its machine by `fly_machine_id`.
 */
export async function seedStuck(svc: Services, rows: number, apps: number): Promise<{ apps: string[] }> {
  const names: string[] = [];
  for (let a = 0; a < apps; a++) {
    const app = appName(a);
    names.push(app);
    svc.emulator.addApp(app, { secrets: { SUPABASE_SERVICE_KEY: 'x' } });
    // Each fleet size on a fleet of its own: a smaller size's machines, their rows truncated, would
    // be listed again and judged orphans (r10000 ran on 16,000 machines, 6,000 of them orphans).
    svc.emulator.forgetMachines(app);
  }
  const batch: { mid: string[]; uid: string[]; app: string[]; fid: string[] } = {
    mid: [],
    uid: [],
    app: [],
    fid: [],
  };
  const tag = randomBytes(3).toString('hex');
  svc.clock.skewMs = 10 * 60_000;
  for (let a = 0; a < apps; a++) {
    const count = Math.floor(rows / apps) + (a < rows % apps ? 1 : 0);
    const app = names[a]!;
    const base = batch.mid.length;
    const ids = svc.emulator.bulkCreate({
      app,
      count,
      state: 'started',
      image: IMAGE,
      env: (i) =>
        buildMachineEnv({
          machineId: `vyx-${tag}-${base + i}`,
          userId: `u-${tag}-${base + i}`,
          supabaseUrl: svc.twin.url,
          supabaseServiceKey: svc.twin.serviceKey,
        }),
      metadata: (i) => ({ vyx_machine_id: `vyx-${tag}-${base + i}` }),
    });
    ids.forEach((fid, i) => {
      batch.mid.push(`vyx-${tag}-${base + i}`);
      batch.uid.push(`u-${tag}-${base + i}`);
      batch.app.push(app);
      batch.fid.push(fid);
    });
  }
  svc.clock.skewMs = 0;
  const q = (sql: string, params?: unknown[]) => svc.twin.backend.query(sql, params);
  for (let i = 0; i < batch.mid.length; i += 5000) {
    const s = (xs: string[]) => xs.slice(i, i + 5000);
    await q(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id, region, image)
       select m, u, 'starting', a, f, 'ams', $5 from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as t(m, u, a, f)`,
      [s(batch.mid), s(batch.uid), s(batch.app), s(batch.fid), IMAGE],
    );
  }
  await q(
    `update cloud_machines set status_changed_at = now() - interval '10 minutes', created_at = now() - interval '10 minutes' where status = 'starting'`,
  );
  // The insert trigger wrote one `starting` event per row: not what is measured here.
  await q('delete from machine_events');
  await q('vacuum analyze cloud_machines');
  return { apps: names };
}

/** Between two ticks over the same rows: forget diagnoses, events and leases (rows stay `starting`). */
export async function resetDiagnoses(svc: Services): Promise<void> {
  const q = (sql: string) => svc.twin.backend.query(sql);
  await q('delete from diagnoses');
  await q('delete from machine_events');
  await q(
    `update cloud_machines set diagnosis = null, flagged_at = null, lease_owner = null, lease_until = null where status = 'starting'`,
  );
}

export interface BotProcess {
  url: string;
  signingSecret: string;
  pid: number;
  stats(): Promise<BotStats>;
  /** Stats after a full garbage collection in the child. */
  gcStats(): Promise<BotStats>;
  stop(): Promise<BotStats>;
}
export interface BotStats {
  inFlight: number;
  delivered: number;
  stuckTicks: number;
  rssMb: number;
  /** CPU time (user + system) used so far, ms. */
  cpuMs: number;
  peakRssMb: number;
  heapUsedMb: number;
  externalMb: number;
  logLines: number;
  /** The bot's event-loop delay since it started (p99, max); absent for the bare app. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
}

/**
 * The bot in its own process (bench/bot-child.ts) against these services; `bare: true` forks the
 * ack baseline instead (bench/bare-bolt-child.ts: a Bolt app that acknowledges and does nothing).
 */
export async function forkBot(
  svc: Services,
  o: {
    bare?: boolean;
    stuckSchedule?: string;
    stuckAfterS?: number;
    echoPollMs?: number;
    fastWatchMs?: number;
    startWatchers?: boolean;
    cpuProfDir?: string;
  } = {},
): Promise<BotProcess> {
  const input: BotChildInput = {
    supabaseUrl: svc.twin.url,
    serviceKey: svc.twin.serviceKey,
    databaseUrl: svc.db.url,
    flyUrl: svc.emulator.baseUrl,
    flyToken: svc.emulator.token,
    slackApiUrl: svc.slack.apiUrl,
    slackToken: svc.slack.botToken,
    alertChannel: CHANNEL,
    flyApp: FLY_APP,
    stuckSchedule: o.stuckSchedule ?? '0 0 1 1 *',
    stuckAfterS: o.stuckAfterS ?? 60,
    echoPollMs: o.echoPollMs ?? 1000,
    ...(o.fastWatchMs !== undefined ? { fastWatchMs: o.fastWatchMs } : {}),
    startWatchers: o.startWatchers ?? false,
  };
  const script = o.bare ? './bare-bolt-child.ts' : './bot-child.ts';
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [JSON.stringify(input)], {
    execArgv: [
      ...BOT_NODE_FLAGS,
      '--expose-gc',
      ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waitFor = <T>(kind: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`bench: bot child gave no ${kind} in ${ms} ms`));
      }, ms);
      const onMessage = (m: { kind: string }) => {
        if (m.kind !== kind) return;
        done();
        resolve(m as T);
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`bench: bot child exited (${code}) before ${kind}`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
  const ready = await waitFor<{ url: string; signingSecret: string }>('ready', 60_000);
  return {
    url: ready.url,
    signingSecret: ready.signingSecret,
    pid: child.pid ?? 0,
    async stats() {
      const p = waitFor<BotStats>('stats', 10_000);
      child.send({ cmd: 'stats' });
      return p;
    },
    async gcStats() {
      const p = waitFor<BotStats>('gc', 30_000);
      child.send({ cmd: 'gc' });
      return p;
    },
    async stop() {
      const p = waitFor<BotStats>('stopped', 30_000);
      child.send({ cmd: 'stop' });
      const s = await p;
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      return s;
    },
  };
}
