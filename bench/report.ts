// The markdown table of a bench run (bench/results/latest.md), meant to be pasted into the README.
import type { AckLevel } from './scenarios/ack.ts';
import type { DetectionResult } from './scenarios/detection.ts';
import type { EchoResult } from './scenarios/echo.ts';
import type { TickSize } from './scenarios/tick.ts';

export interface BenchResults {
  date: string;
  cores: number;
  cpu: string;
  node: string;
  mode: string;
  duration_s: number;
  ack: Record<string, AckLevel> & { command: string };
  echo: {
    p50_ms: number;
    p95_ms: number;
    writes: number;
    burst: EchoResult;
    one_channel?: EchoResult;
    pacing: { per_channel_per_second: number; per_channel_burst: number };
  };
  detection: DetectionResult;
  detection_fast?: DetectionResult & { fast_watch_ms: number };
  tick: Record<string, TickSize>;
  memory: {
    rss_mb: number;
    rows: number;
    rss_before_tick_mb: number;
    small_young_gen_rss_mb?: number;
    small_young_gen_wall_ms?: number;
  };
  growth: {
    sizes: {
      rows: number;
      wall_ms: number;
      wall_us_per_row: number;
      rss_mb: number;
    }[];
    wall_ratio_last_over_first: number;
    rows_ratio_last_over_first: number;
    rss_kb_per_row: number;
  };
}

const ok = (met: boolean) => (met ? 'met' : '**missed**');
const x = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 1)}×`;

export function renderMarkdown(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(
    `Benchmarks (${r.mode}) — ${r.date.slice(0, 16).replace('T', ' ')} UTC, ${r.cores} cores (${r.cpu}), Node ${r.node}; local stack on real Postgres, bot in its own process. \`npm run bench\``,
    '',
    '| scenario | measure | result | target | |',
    '|---|---|---|---|---|',
  );
  const levels = Object.keys(r.ack).filter((k) => /^c\d+$/.test(k));
  for (const k of levels) {
    const a = r.ack[k]!;
    const target = k === 'c50' ? '≤ 50 ms' : '';
    lines.push(
      `| ack (\`${r.ack.command}\`), ${a.requests} req | concurrency ${a.concurrency}: p50 / p95 / p99 | ${a.p50_ms} / ${a.p95_ms} / ${a.p99_ms} ms (p99 = ${(a.p99_ratio_to_slack_limit * 100).toFixed(1)} % of Slack's 3 s) | ${target} | ${target ? `${ok(a.p99_ms <= 50)}${a.p99_ms > 50 ? ` (${x(a.p99_ms, 50)})` : ''}` : ''} |`,
    );
  }
  for (const [key, t] of Object.entries(r.tick)) {
    const fast = t.wall_ms <= 1000;
    const few = t.fly_requests <= t.fly_requests_bound;
    lines.push(
      `| tick ${key} (${t.rows} rows, ${t.apps} apps) | wall; Fly requests; rows diagnosed | ${t.wall_ms} ms; ${t.fly_requests} (bound ${t.fly_requests_bound}); ${t.rows_diagnosed} | ≤ 1 s (at 10k); ≤ 2 × apps + images | ${t.rows === 10_000 ? `${ok(fast)}${fast ? '' : ` (${x(t.wall_ms, 1000)})`}; ` : ''}${ok(few)} |`,
    );
    lines.push(
      `| naive ${key} (fly.get + registry per row) | requests; evidence wall vs batched | ${t.naive_fly_requests} (${t.ratio_requests_naive_over_tick}× the tick's); ${t.naive_wall_ms} ms vs ${t.batched_evidence_wall_ms} ms (${t.ratio_wall_naive_over_batched_evidence}×) | ≥ 100× fewer (at 10k) | ${t.rows === 10_000 ? ok(t.ratio_requests_naive_over_tick >= 100) : ''} |`,
    );
  }
  const e = r.echo;
  lines.push(
    `| echo, ${e.writes} writes at 50/s, own channels | write → thread reply p50 / p95 | ${e.p50_ms} / ${e.p95_ms} ms | p95 ≤ 1 s | ${ok(e.p95_ms <= 1000)} |`,
    `| echo, ${e.burst.writes} writes at once, own channels | p50 / p95 | ${e.burst.p50_ms} / ${e.burst.p95_ms} ms | (burst, no target) | |`,
  );
  if (e.one_channel) {
    lines.push(
      `| echo, ${e.one_channel.writes} writes at once, one channel | p50 / p95 (pacing ${e.pacing.per_channel_per_second}/s after ${e.pacing.per_channel_burst}) | ${e.one_channel.p50_ms} / ${e.one_channel.p95_ms} ms | (Slack's rate) | by design |`,
    );
  }
  const d = r.detection;
  lines.push(
    `| detection (missing tag, auto-destroyed) ×${d.repetitions}, ${d.stagger_ms} ms apart | injection → alert p50 / p95 | ${d.p50_ms} / ${d.p95_ms} ms | ≤ ${d.threshold_s} s threshold + ${d.interval_s} s interval + 2 s = ${d.target_ms} ms | ${ok(d.p95_ms <= d.target_ms)} |`,
  );
  const f = r.detection_fast;
  if (f) {
    lines.push(
      `| detection_fast (missing tag, auto-destroyed) ×${f.repetitions}, threshold ${f.threshold_s} s | injection → alert p50 / p95 (fast watcher every ${f.fast_watch_ms} ms) | ${f.p50_ms} / ${f.p95_ms} ms | ≤ ${f.target_ms} ms | ${ok(f.p95_ms <= f.target_ms)} |`,
    );
  }
  lines.push(
    `| memory (${r.memory.rows} tracked rows) | bot peak RSS over one tick (idle before it) | ${r.memory.rss_mb} MB (${r.memory.rss_before_tick_mb} MB)${r.memory.small_young_gen_rss_mb !== undefined ? `; with --max-semi-space-size=8 ${r.memory.small_young_gen_rss_mb} MB` : ''} | ≤ 200 MB | ${ok(r.memory.rss_mb <= 200)} |`,
  );
  const g = r.growth;
  lines.push(
    `| growth, tick | wall (µs/row), peak RSS | ${g.sizes.map((s) => `${s.rows}: ${s.wall_ms} ms (${s.wall_us_per_row}), ${s.rss_mb} MB`).join('; ')} | linear | ${g.wall_ratio_last_over_first} × wall for ${g.rows_ratio_last_over_first} × rows; +${g.rss_kb_per_row} KB RSS/row |`,
  );
  lines.push('');
  return `${lines.join('\n')}\n`;
}
