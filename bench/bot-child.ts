// The bot in a process of its own (as production runs it), against the services in the parent:
// Bolt's HTTP receiver, createBot, both watchers when asked. Its event loop, CPU and RSS are its
// own, so the load generator and the twins do not skew what is measured. IPC (fork):
// parent → {cmd:'stats'|'tick'|'stop'}; child → {kind:'ready', url, signingSecret} | {kind:'stats', …}.
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { getHeapSpaceStatistics } from 'node:v8';
import { App, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import { createBot } from '../src/app/create-bot.ts';
import { AckFirst } from '../src/app/inbound/ack-first.ts';
import { GuardedHttpReceiver } from '../src/app/inbound/guarded-http-receiver.ts';
import { createFlyLogsClient } from '../src/fly/logs-client.ts';
import { createFlyMachinesClient } from '../src/fly/machines-client.ts';
import { createRegistryClient } from '../src/fly/registry-client.ts';
import { createLeanFetch } from '../src/http/lean-fetch.ts';
import { createPostgresBackend } from '../src/local/supabase-twin/postgres-backend.ts';
import { redactingOptions } from '../src/logger.ts';
import { slackPosterFrom } from '../src/slack/slack-poster.ts';
import { createVyxStore } from '../src/store/vyx-store.ts';
import { processFigures, serveChildIpc } from './child-ipc.ts';

export interface BotChildInput {
  supabaseUrl: string;
  serviceKey: string;
  databaseUrl: string;
  flyUrl: string;
  flyToken: string;
  slackApiUrl: string;
  slackToken: string;
  alertChannel: string;
  flyApp: string;
  stuckSchedule: string;
  stuckAfterS: number;
  echoPollMs: number;
  fastWatchMs?: number;
  startWatchers: boolean;
}

const input = JSON.parse(process.argv[2] ?? '{}') as BotChildInput;
const signingSecret = `bench-${randomBytes(8).toString('hex')}`;
let logLines = 0;
const sink = new Writable({
  write(chunk, _enc, done) {
    logLines += String(chunk).split('\n').length - 1;
    done();
  },
});
// production's default level (info), written to a counting sink instead of stdout
const logger = pino({ level: 'info', ...redactingOptions() }, sink);
const store = createVyxStore({ url: input.supabaseUrl, serviceKey: input.serviceKey });
const fly = createFlyMachinesClient({ baseUrl: input.flyUrl, token: input.flyToken });
const logs = createFlyLogsClient({ baseUrl: input.flyUrl, token: input.flyToken });
const registry = createRegistryClient({ token: input.flyToken, baseUrlFor: () => input.flyUrl });
const listener = createPostgresBackend(input.databaseUrl);
// As production runs it: Bolt's HTTPReceiver behind the request guard, follow-ups after the acks.
// VYX_BENCH_NO_ACK_FIRST=1: follow-ups start at once after ack() (the A/B of the gate, side by side).
const ackFirst = process.env.VYX_BENCH_NO_ACK_FIRST ? undefined : new AckFirst();
const app = new App({
  token: input.slackToken,
  receiver: new GuardedHttpReceiver({
    signingSecret,
    logger,
    audit: (entry) => store.recordAudit(entry),
    ackFirst,
  }),
  clientOptions: { slackApiUrl: input.slackApiUrl, fetch: createLeanFetch() },
  convoStore: false,
  logLevel: LogLevel.ERROR,
});
const bot = createBot({
  app,
  store,
  fly,
  registry,
  logs,
  slack: slackPosterFrom(app.client),
  logger,
  ackFirst,
  replicaId: `bench-bot-${process.pid}`,
  flyApp: input.flyApp,
  flyRegion: 'ams',
  flyImage: 'registry.fly.io/vyx-app:latest',
  machineSupabaseUrl: input.supabaseUrl,
  machineSupabaseServiceKey: input.serviceKey,
  alertChannel: input.alertChannel,
  runbookUrl: 'https://github.com/vyx/vyxbot/blob/main/docs/diagnoses/',
  stuckSchedule: input.stuckSchedule,
  stuckAfterS: input.stuckAfterS,
  renotifyAfterS: 600,
  echoPollMs: input.echoPollMs,
  ...(input.fastWatchMs !== undefined ? { fastWatchMs: input.fastWatchMs } : {}),
  startTimeoutS: 30,
  // as main.ts does on a local database: NOTIFY wakes the echo, polling is the guarantee
  subscribe: (wake) => listener.listen('vyx_machine_events', () => wake()),
});
if (input.startWatchers) await bot.start();
const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

// How long callbacks waited for the event loop: what a request's ack waits behind.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
serveChildIpc({
  url,
  signingSecret,
  stats: () => ({
    ...processFigures(),
    spaces: Object.fromEntries(
      getHeapSpaceStatistics().map((x) => [x.space_name, Math.round(x.physical_space_size / 2 ** 20)]),
    ),
    inFlight: bot.tracker.inFlight,
    delivered: bot.echo.delivered,
    stuckTicks: bot.stuck.ticks,
    logLines,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
  }),
  async stop() {
    await app.stop().catch(() => {});
    await bot.stop().catch(() => {});
    await listener.close();
  },
});
