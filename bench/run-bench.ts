// `npm run bench` (`-- --quick` for a smoke run in under a minute): vyxbot's benchmarks on the
// local stack — real Postgres at 127.0.0.1:5432 (a fresh database, dropped after), the Supabase
// twin's gateway, the Fly emulator (bulk mode for the tick), the Slack Web API twin — with the bot
// in processes of its own. Writes bench/results/latest.{json,md} (quick: quick.{json,md}).
// Benchmarks measure and record; they assert nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { SlackPoster } from '../src/slack/slack-poster.ts';
import type { VyxStore } from '../src/store/vyx-store.ts';
import { EchoWatcher } from '../src/watchers/echo-watcher.ts';
import { forkBot, r1, r2, startServices } from './lib.ts';
import { renderMarkdown } from './report.ts';
import { ackScenario } from './scenarios/ack.ts';
import { detectionScenario } from './scenarios/detection.ts';
import { echoChannel, echoScenario, SOLO_CHANNEL } from './scenarios/echo.ts';
import { APPS, tickScenario } from './scenarios/tick.ts';

const quick = process.argv.includes('--quick');
const profileDir = process.argv.find((a) => a.startsWith('--cpu-prof-dir='))?.split('=')[1];
const P = quick
  ? {
      ackRequests: 200,
      ackLevels: [1, 10, 50],
      tickSizes: [200, 500, 1000],
      echoWrites: 50,
      echoRate: 50,
      oneChannelWrites: 0,
      detectionReps: 3,
    }
  : {
      ackRequests: 2000,
      ackLevels: [1, 10, 50],
      tickSizes: [1000, 5000, 10000],
      echoWrites: 500,
      echoRate: 50,
      oneChannelWrites: 20,
      detectionReps: 20,
    };
// The stuck watcher alone (fast watcher off): the backstop's own figure.
const DETECTION = { thresholdS: 2, intervalS: 1, schedule: '* * * * * *' };
// The fast watcher's case: production's threshold and schedule, so only the fast loop can be quick.
const DETECTION_FAST = { thresholdS: 60, intervalS: 15, schedule: '*/15 * * * * *', fastWatchMs: 2000 };
// The echo's pacing as configured now (EchoWatcher's defaults; createBot passes none).
const pacing = (
  new EchoWatcher({
    store: {} as VyxStore,
    slack: {} as SlackPoster,
    logger: pino({ level: 'silent' }),
    owner: 'bench',
  }) as unknown as { o: { perChannelPerSecond: number; perChannelBurst: number } }
).o;

const t0 = Date.now();
const log = (s: string) => process.stderr.write(`${s}\n`);
log(`vyxbot bench (${quick ? 'quick' : 'full'}), ${availableParallelism()} cores`);

const channels = [
  ...Array.from({ length: P.echoWrites }, (_, i) => ({ id: echoChannel(i), name: `echo-${i}` })),
  { id: SOLO_CHANNEL, name: 'echo-solo' },
];
const svc = await startServices(channels);
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  mode: quick ? 'quick' : 'full',
};
try {
  log('ack: signed `/vyx help` to the HTTP receiver (bot in its own process)');
  {
    const bot = await forkBot(svc, {});
    try {
      results.ack = {
        command: '/vyx help',
        ...(await ackScenario(svc, bot, { requests: P.ackRequests, levels: P.ackLevels, log })),
        bot_rss_after_mb: r1((await bot.stats()).rssMb),
      };
    } finally {
      await bot.stop();
    }
  }

  log('echo: status writes → thread replies');
  {
    const bot = await forkBot(svc, { startWatchers: true });
    try {
      const e = await echoScenario(svc, bot, {
        writes: P.echoWrites,
        ratePerS: P.echoRate,
        oneChannelWrites: P.oneChannelWrites,
        log,
      });
      results.echo = {
        p50_ms: e.main.p50_ms,
        p95_ms: e.main.p95_ms,
        writes: e.main.writes,
        how: `${e.main.writes} writes at ${P.echoRate}/s, each machine's thread in a channel of its own, so the default per-channel pacing (${pacing.perChannelPerSecond} message/s after a burst of ${pacing.perChannelBurst}) never binds; echo poll 1000 ms + LISTEN wake`,
        pacing: {
          per_channel_per_second: pacing.perChannelPerSecond,
          per_channel_burst: pacing.perChannelBurst,
        },
        steady: e.main,
        burst: e.burst,
        ...(e.one_channel ? { one_channel: e.one_channel } : {}),
      };
    } finally {
      await bot.stop();
    }
  }

  log(
    `detection: missing tag + auto_destroy → alert (threshold ${DETECTION.thresholdS} s, every ${DETECTION.intervalS} s)`,
  );
  {
    const bot = await forkBot(svc, {
      startWatchers: true,
      stuckSchedule: DETECTION.schedule,
      stuckAfterS: DETECTION.thresholdS,
      fastWatchMs: 0,
    });
    try {
      results.detection = await detectionScenario(svc, {
        repetitions: P.detectionReps,
        ...DETECTION,
        staggerMs: 1300,
        log,
      });
    } finally {
      await bot.stop();
    }
  }

  log(
    `detection_fast: missing tag + auto_destroy → alert (threshold ${DETECTION_FAST.thresholdS} s, fast watcher every ${DETECTION_FAST.fastWatchMs} ms)`,
  );
  {
    const bot = await forkBot(svc, {
      startWatchers: true,
      stuckSchedule: DETECTION_FAST.schedule,
      stuckAfterS: DETECTION_FAST.thresholdS,
      fastWatchMs: DETECTION_FAST.fastWatchMs,
    });
    try {
      const { fastWatchMs, ...cron } = DETECTION_FAST;
      results.detection_fast = {
        ...(await detectionScenario(svc, {
          repetitions: P.detectionReps,
          ...cron,
          staggerMs: 1300,
          targetMs: 5000,
          log,
        })),
        fast_watch_ms: fastWatchMs,
        how: 'from the row insert (before Fly even fails the launch) to the alert in Slack: an upper bound on failure → alert',
      };
    } finally {
      await bot.stop();
    }
  }

  log(`tick: stuck rows over ${APPS} apps (emulator bulk mode), bot tick in its own process`);
  const tick = await tickScenario(svc, P.tickSizes, {
    naive: true,
    log,
    ...(profileDir ? { cpuProfDir: profileDir } : {}),
  });
  results.tick = tick;
  const largest = tick[`r${P.tickSizes.at(-1)}`]!;
  results.memory = {
    rss_mb: largest.rss_mb,
    rows: largest.rows,
    rss_before_tick_mb: largest.rss_before_tick_mb,
    how: 'peak RSS (getrusage maxrss) of a process running the whole bot (createBot, Bolt app) and one stuck-watcher tick over the rows; database, gateway and Fly emulator are other processes',
    small_young_gen_rss_mb: largest.small_young_gen_rss_mb,
    small_young_gen_wall_ms: largest.small_young_gen_wall_ms,
  };
  const sizes = P.tickSizes.map((n) => tick[`r${n}`]!);
  const first = sizes[0]!;
  const last = sizes.at(-1)!;
  const perRow = (s: (typeof sizes)[number], wall: number) => r2((wall / s.rows) * 1000);
  results.growth = {
    sizes: sizes.map((s) => ({
      rows: s.rows,
      wall_ms: s.wall_ms,
      wall_us_per_row: perRow(s, s.wall_ms),
      rss_mb: s.rss_mb,
    })),
    wall_ratio_last_over_first: r2(last.wall_ms / first.wall_ms),
    rows_ratio_last_over_first: r2(last.rows / first.rows),
    rss_kb_per_row: r2(((last.rss_mb - first.rss_mb) * 1024) / (last.rows - first.rows)),
  };
} finally {
  await svc.close();
}
results.duration_s = Math.round((Date.now() - t0) / 1000);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const base = quick ? 'quick' : 'latest';
writeFileSync(`${dir}${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(`${dir}${base}.md`, renderMarkdown(results as never));
log(`wrote bench/results/${base}.json and ${base}.md in ${results.duration_s} s`);
process.exit(0);
