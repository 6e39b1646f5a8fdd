// `npm run bench` (`-- --quick` for a smoke run in under a minute): vyxbot's benchmarks on the
// local stack — real Postgres at 127.0.0.1:5432 (a fresh database, dropped after), the Supabase
// twin's gateway, the Fly emulator (bulk mode for the tick), the Slack Web API twin — with the bot
// in processes of its own. A full run writes bench/results/latest.{json,md} and the README's
// benchmark section; `--quick` writes quick.*; `--only=ack,startup,…` runs those scenarios alone and
// writes partial.* (never latest). `--report` renders latest.md and the README from latest.json
// (and bench/results/before.json, the "before" column, when there) without running anything.
// `--ack-command=status` times another `/vyx` text in the ack scenario than `help` (which is
// answered in the ack itself): what a command with work after its ack costs other requests' acks.
// Benchmarks measure and record; they assert nothing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { SlackPoster } from '../src/slack/slack-poster.ts';
import type { VyxStore } from '../src/store/vyx-store.ts';
import { EchoWatcher } from '../src/watchers/echo-watcher.ts';
import { figuresOf } from './figures.ts';
import { forkBot, r1, r2, type Services, startServices } from './lib.ts';
import { type BenchResults, renderMarkdown, writeReadmeSection } from './report.ts';
import { ackScenario } from './scenarios/ack.ts';
import { detectionScenario } from './scenarios/detection.ts';
import { echoChannel, echoScenario, SOLO_CHANNEL } from './scenarios/echo.ts';
import { startupScenario } from './scenarios/startup.ts';
import { APPS, tickScenario } from './scenarios/tick.ts';
import { tickFloor } from './scenarios/tick-floor.ts';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const README = fileURLToPath(new URL('../README.md', import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);

/** latest.md and the README from latest.json (and before.json when there). */
function publish(results: BenchResults, base: string): void {
  const beforeFile = `${RESULTS}before.json`;
  const before =
    base === 'latest' && existsSync(beforeFile)
      ? (JSON.parse(readFileSync(beforeFile, 'utf8')) as BenchResults)
      : undefined;
  const md = renderMarkdown(results, before);
  writeFileSync(`${RESULTS}${base}.md`, md);
  if (base === 'latest' && !writeReadmeSection(README, md))
    log('README.md has no bench markers: not updated');
}

if (process.argv.includes('--report')) {
  // The figures again from the details (a scenario's fields may be read differently since the run).
  const latest = JSON.parse(readFileSync(`${RESULTS}latest.json`, 'utf8')) as BenchResults;
  latest.figures = figuresOf(latest);
  writeFileSync(`${RESULTS}latest.json`, `${JSON.stringify(latest, null, 2)}\n`);
  publish(latest, 'latest');
  log('rendered bench/results/latest.md and the README section from latest.json');
  process.exit(0);
}

const quick = process.argv.includes('--quick');
const ackCommand =
  process.argv.find((a) => a.startsWith('--ack-command='))?.slice('--ack-command='.length) ?? 'help';
const profileDir = process.argv.find((a) => a.startsWith('--cpu-prof-dir='))?.split('=')[1];
const P = quick
  ? {
      ackRequests: 200,
      ackLevels: [1, 10, 50],
      tickSizes: [200, 500, 1000],
      tickLarge: 0,
      echoWrites: 50,
      echoRate: 50,
      oneChannelWrites: 0,
      detectionReps: 3,
      startupRuns: 1,
    }
  : {
      ackRequests: 2000,
      ackLevels: [1, 10, 50],
      tickSizes: [1000, 5000, 10000],
      tickLarge: 100_000,
      echoWrites: 500,
      echoRate: 50,
      oneChannelWrites: 20,
      detectionReps: 20,
      startupRuns: 3,
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

type Results = Record<string, unknown>;
/** Each scenario: whether it needs the shared services, and what it adds to the results. */
const SCENARIOS: Record<string, { services: boolean; run(svc: Services, out: Results): Promise<void> }> = {
  startup: {
    services: false,
    async run(_svc, out) {
      log(`startup: \`npm start\` → ready, cold (empty data dir) and warm, ${P.startupRuns}×`);
      out.startup = await startupScenario({ runs: P.startupRuns, log });
    },
  },
  ack: {
    services: true,
    async run(svc, out) {
      log(
        `ack: signed \`/vyx ${ackCommand}\` to the HTTP receiver, vyxbot and a bare Bolt app (each in its own process)`,
      );
      const prof = profileDir ? { cpuProfDir: `${profileDir}/ack` } : {};
      const bot = await forkBot(svc, prof);
      const bare = await forkBot(svc, { bare: true, ...prof });
      try {
        const a = await ackScenario(
          svc,
          { bot, bare },
          { requests: P.ackRequests, levels: P.ackLevels, text: ackCommand, log },
        );
        const st = await bot.stats();
        out.ack = {
          command: `/vyx ${ackCommand}`,
          ...a.vyxbot,
          bot_rss_after_mb: r1(st.rssMb),
          bot_loop_delay_ms: {
            p99: r2(st.loopDelayP99Ms ?? Number.NaN),
            max: r2(st.loopDelayMaxMs ?? Number.NaN),
          },
        };
        out.ack_baseline = { app: 'bare Bolt HTTPReceiver, ack only', rounds: a.rounds, ...a.baseline };
      } finally {
        await bare.stop();
        await bot.stop();
      }
    },
  },
  echo: {
    services: true,
    async run(svc, out) {
      log('echo: status writes → thread replies');
      const bot = await forkBot(svc, { startWatchers: true });
      try {
        const e = await echoScenario(svc, bot, {
          writes: P.echoWrites,
          ratePerS: P.echoRate,
          oneChannelWrites: P.oneChannelWrites,
          log,
        });
        out.echo = {
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
    },
  },
  detection: {
    services: true,
    async run(svc, out) {
      log(
        `detection: missing tag + auto_destroy → alert (threshold ${DETECTION.thresholdS} s, every ${DETECTION.intervalS} s)`,
      );
      const bot = await forkBot(svc, {
        startWatchers: true,
        stuckSchedule: DETECTION.schedule,
        stuckAfterS: DETECTION.thresholdS,
        fastWatchMs: 0,
      });
      try {
        out.detection = await detectionScenario(svc, {
          repetitions: P.detectionReps,
          ...DETECTION,
          staggerMs: 1300,
          log,
        });
      } finally {
        await bot.stop();
      }
    },
  },
  detection_fast: {
    services: true,
    async run(svc, out) {
      log(
        `detection_fast: missing tag + auto_destroy → alert (threshold ${DETECTION_FAST.thresholdS} s, fast watcher every ${DETECTION_FAST.fastWatchMs} ms)`,
      );
      const bot = await forkBot(svc, {
        startWatchers: true,
        stuckSchedule: DETECTION_FAST.schedule,
        stuckAfterS: DETECTION_FAST.thresholdS,
        fastWatchMs: DETECTION_FAST.fastWatchMs,
      });
      try {
        const { fastWatchMs, ...cron } = DETECTION_FAST;
        out.detection_fast = {
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
    },
  },
  tick: {
    services: true,
    async run(svc, out) {
      log(`tick: stuck rows over ${APPS} apps (emulator bulk mode), bot tick in its own process`);
      const tick = await tickScenario(svc, P.tickSizes, {
        naive: true,
        log,
        ...(profileDir ? { cpuProfDir: profileDir } : {}),
      });
      out.tick = { ...(out.tick as object | undefined), ...tick };
      const largest = tick[`r${P.tickSizes.at(-1)}`]!;
      out.memory = {
        ...(out.memory as object | undefined),
        rss_mb: largest.rss_mb,
        rows: largest.rows,
        rss_before_tick_mb: largest.rss_before_tick_mb,
        how: 'peak RSS (getrusage maxrss) of a process running the whole bot (createBot, Bolt app) and one stuck-watcher tick over the rows; database, gateway and Fly emulator are other processes',
      };
      const sizes = P.tickSizes.map((n) => tick[`r${n}`]!);
      const first = sizes[0]!;
      const last = sizes.at(-1)!;
      const perRow = (s: (typeof sizes)[number], wall: number) => r2((wall / s.rows) * 1000);
      out.growth = {
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
    },
  },
  // The services' own wall for the largest tick's exact requests, with no bot work: the tick's floor
  // on this machine, beside a tick on the same data.
  tick_floor: {
    services: true,
    async run(svc, out) {
      const n = P.tickSizes.at(-1)!;
      log(`tick_floor: the ${n}-row tick's requests replayed with no bot work, beside a tick`);
      out.tick_floor = await tickFloor(svc, n, { runs: quick ? 1 : 3, log });
    },
  },
  // The 100,000-row point of the growth table (no naive run: 200,000 requests would say nothing new).
  tick_large: {
    services: true,
    async run(svc, out) {
      if (P.tickLarge === 0) return;
      log(`tick_large: ${P.tickLarge} stuck rows over ${APPS} apps, bot tick in its own process`);
      const tick = await tickScenario(svc, [P.tickLarge], { naive: false, log });
      const t = tick[`r${P.tickLarge}`]!;
      out.tick = { ...(out.tick as object | undefined), ...tick };
      out.memory = {
        ...(out.memory as object | undefined),
        [`r${P.tickLarge}`]: { rss_mb: t.rss_mb, rows: t.rows },
      };
      // The growth table's last row: wall and RSS per row at 100,000.
      const growth = out.growth as { sizes: { rows: number }[] } | undefined;
      growth?.sizes.push({
        rows: t.rows,
        wall_ms: t.wall_ms,
        wall_us_per_row: r2((t.wall_ms / t.rows) * 1000),
        rss_mb: t.rss_mb,
        rss_kb_per_row: t.rss_kb_per_row,
      } as { rows: number });
    },
  },
};

const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
  .filter(Boolean);
const unknown = only?.filter((n) => !(n in SCENARIOS)) ?? [];
if (unknown.length > 0) {
  log(`unknown scenario(s): ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}
const chosen = only ?? Object.keys(SCENARIOS);

const t0 = Date.now();
log(
  `vyxbot bench (${quick ? 'quick' : 'full'}${only ? `, only ${chosen.join(', ')}` : ''}), ${availableParallelism()} cores`,
);
const results: Results = {
  date: new Date().toISOString(),
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  mode: quick ? 'quick' : 'full',
  ...(only ? { scenarios: chosen } : {}),
};
// `npm start` first, on a quiet machine (no services of the bench's running yet).
if (chosen.includes('startup')) await SCENARIOS.startup!.run(undefined as never, results);
const rest = chosen.filter((n) => n !== 'startup');
if (rest.length > 0) {
  const channels = [
    ...Array.from({ length: P.echoWrites }, (_, i) => ({ id: echoChannel(i), name: `echo-${i}` })),
    { id: SOLO_CHANNEL, name: 'echo-solo' },
  ];
  const svc = await startServices(channels);
  try {
    for (const name of rest) await SCENARIOS[name]!.run(svc, results);
  } finally {
    await svc.close();
  }
}
results.duration_s = Math.round((Date.now() - t0) / 1000);
results.figures = figuresOf(results);

mkdirSync(RESULTS, { recursive: true });
const base = only ? 'partial' : quick ? 'quick' : 'latest';
writeFileSync(`${RESULTS}${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
publish(results as unknown as BenchResults, base);
log(
  `wrote bench/results/${base}.json and ${base}.md${base === 'latest' ? ' and the README section' : ''} in ${results.duration_s} s`,
);
process.exit(0);
