// One stuck-watcher tick in a process of its own, so its RSS is the bot's alone (the database, the
// Supabase gateway and the Fly emulator stay in the parent). Prints one JSON line on stdout.
// Input (argv[2], JSON): { supabaseUrl, serviceKey, flyUrl, flyToken }.
import { writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import { App, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import { createBot } from '../src/app/create-bot.ts';
import { createFlyLogsClient } from '../src/fly/logs-client.ts';
import { createFlyMachinesClient } from '../src/fly/machines-client.ts';
import { createRegistryClient } from '../src/fly/registry-client.ts';
import { slackPosterFrom } from '../src/slack/slack-poster.ts';
import { createVyxStore } from '../src/store/vyx-store.ts';

interface ChildInput {
  supabaseUrl: string;
  serviceKey: string;
  flyUrl: string;
  flyToken: string;
}

const input = JSON.parse(process.argv[2] ?? '{}') as ChildInput;
const kb = () => process.resourceUsage().maxRSS; // KiB, peak so far

const store = createVyxStore({ url: input.supabaseUrl, serviceKey: input.serviceKey });
const fly = createFlyMachinesClient({ baseUrl: input.flyUrl, token: input.flyToken });
const logs = createFlyLogsClient({ baseUrl: input.flyUrl, token: input.flyToken });
const registry = createRegistryClient({ token: input.flyToken, baseUrlFor: () => input.flyUrl });
const logger = pino({ level: 'silent' });
// The whole bot, as production builds it (Bolt app and both watchers), so RSS is the bot's.
const app = new App({
  token: 'xoxb-bench-unused',
  signingSecret: 'bench-unused',
  clientOptions: { slackApiUrl: 'http://127.0.0.1:9/api/' },
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
  replicaId: `bench-child-${process.pid}`,
  flyApp: 'vyx-bench-00',
  flyRegion: 'ams',
  flyImage: 'registry.fly.io/vyx-app:latest',
  machineSupabaseUrl: input.supabaseUrl,
  machineSupabaseServiceKey: input.serviceKey,
  stuckSchedule: '0 0 1 1 *',
  stuckAfterS: 60,
  renotifyAfterS: 600,
  echoPollMs: 1000,
  startTimeoutS: 30,
});
// Warm the connections and the code paths with a call each, as a running bot has.
await store.pendingEvents();
const rssBefore = process.memoryUsage().rss;
// With TICK_ALLOC_PROFILE=<file>: every allocation of the tick, sampled, collected or not (where the
// churn that raises peak RSS comes from), written as a .heapprofile.
const allocProfile = process.env.TICK_ALLOC_PROFILE;
// With TICK_CPU_PROFILE=<file>: a CPU profile of the tick alone (--cpu-prof covers start-up too).
const cpuProfile = process.env.TICK_CPU_PROFILE;
const session = allocProfile || cpuProfile ? new inspector.Session() : undefined;
session?.connect();
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    session?.post(method, params, (err, res) => (err ? reject(err) : resolve(res))),
  );
if (session)
  await post('HeapProfiler.startSampling', {
    samplingInterval: 64 * 1024,
    // TICK_ALLOC_LIVE=1: only what is still alive when the tick ends (what it retains).
    includeObjectsCollectedByMajorGC: !process.env.TICK_ALLOC_LIVE,
    includeObjectsCollectedByMinorGC: !process.env.TICK_ALLOC_LIVE,
  });
if (cpuProfile) {
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}
// GC pauses of the tick by kind (minor, major, incremental, weak callbacks): count and ms.
const gc: Record<string, { n: number; ms: number }> = {};
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = String((e as unknown as { detail?: { kind?: number } }).detail?.kind ?? '?');
    gc[kind] ??= { n: 0, ms: 0 };
    gc[kind].n++;
    gc[kind].ms += e.duration;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const report = await bot.stuck.tick();
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
gcObserver.disconnect();
if (session && allocProfile) {
  const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
  writeFileSync(allocProfile, JSON.stringify(profile));
}
if (cpuProfile) {
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  writeFileSync(cpuProfile, JSON.stringify(profile));
}
process.stdout.write(
  `${JSON.stringify({
    wallMs,
    tickCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    gc: Object.fromEntries(Object.entries(gc).map(([k, v]) => [k, { n: v.n, ms: Math.round(v.ms) }])),
    claimed: report.claimed,
    diagnosed: report.diagnosed.length,
    codes: Object.fromEntries(
      Object.entries(
        report.diagnosed.reduce<Record<string, number>>((acc, d) => {
          acc[d.code] = (acc[d.code] ?? 0) + 1;
          return acc;
        }, {}),
      ),
    ),
    flyRequestsReported: report.flyRequests,
    rssBeforeMb: rssBefore / 2 ** 20,
    rssAfterMb: process.memoryUsage().rss / 2 ** 20,
    peakRssMb: kb() / 1024,
    heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
  })}\n`,
);
process.exit(0);
