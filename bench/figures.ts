// The headline figures of a bench run (#17.6): one flat map with exactly these keys, taken from
// whatever shape the scenarios return — the one place that maps their fields to the keys, so a
// scenario can grow fields without the report changing. Works on older results files too (for the
// "before" column): a figure a run did not produce is null.

export const FIGURE_KEYS = [
  'ack.c1.p99_ms',
  'ack.c10.p99_ms',
  'ack.c50.p99_ms',
  'ack_baseline.c1.p99_ms',
  'ack_baseline.c10.p99_ms',
  'ack_baseline.c50.p99_ms',
  'tick.r10000.wall_ms',
  'tick.r10000.floor_wall_ms',
  'tick.r10000.fly_requests',
  'tick.r10000.naive_fly_requests',
  'memory.rss_mb',
  'memory.r100000.rss_mb',
  'tick.r100000.wall_ms',
  'echo.p95_ms',
  'echo.burst_one_channel.messages',
  'echo.burst_one_channel.p95_ms',
  'startup.cold_ms',
  'startup.warm_ms',
] as const;

export type FigureKey = (typeof FIGURE_KEYS)[number];
export type Figures = Record<FigureKey, number | null>;

/** The first of `paths` (dotted) that holds a finite number in `r`. */
function pick(r: unknown, ...paths: string[]): number | null {
  for (const path of paths) {
    let v: unknown = r;
    for (const part of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[part];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return null;
}

/** Today's field names first, then the names scenarios may return instead. */
export function figuresOf(r: unknown): Figures {
  const ack = (c: number) => pick(r, `ack.c${c}.p99_ms`, `ack.vyxbot.c${c}.p99_ms`);
  const base = (c: number) => pick(r, `ack_baseline.c${c}.p99_ms`, `ack.baseline.c${c}.p99_ms`);
  return {
    'ack.c1.p99_ms': ack(1),
    'ack.c10.p99_ms': ack(10),
    'ack.c50.p99_ms': ack(50),
    'ack_baseline.c1.p99_ms': base(1),
    'ack_baseline.c10.p99_ms': base(10),
    'ack_baseline.c50.p99_ms': base(50),
    'tick.r10000.wall_ms': pick(r, 'tick.r10000.wall_ms'),
    'tick.r10000.floor_wall_ms':
      pick(r, 'tick_floor.rows') === 10_000 ? pick(r, 'tick_floor.replay_wall_ms') : null,
    'tick.r10000.fly_requests': pick(r, 'tick.r10000.fly_requests'),
    'tick.r10000.naive_fly_requests': pick(r, 'tick.r10000.naive_fly_requests'),
    'memory.rss_mb': pick(r, 'memory.rss_mb', 'tick.r10000.rss_mb'),
    'memory.r100000.rss_mb': pick(r, 'memory.r100000.rss_mb', 'tick.r100000.rss_mb'),
    'tick.r100000.wall_ms': pick(r, 'tick.r100000.wall_ms'),
    'echo.p95_ms': pick(r, 'echo.p95_ms', 'echo.main.p95_ms'),
    'echo.burst_one_channel.messages': pick(
      r,
      'echo.burst_one_channel.messages',
      'echo.one_channel.messages',
      'echo.one_channel.slack_messages',
    ),
    'echo.burst_one_channel.p95_ms': pick(r, 'echo.burst_one_channel.p95_ms', 'echo.one_channel.p95_ms'),
    'startup.cold_ms': pick(r, 'startup.cold_ms'),
    'startup.warm_ms': pick(r, 'startup.warm_ms'),
  };
}

export interface Target {
  /** What the figure is, for people. */
  label: string;
  unit: string;
  /** The bound the figure is held to (lower is better), or null when it is a reference. */
  bound(f: Figures): number | null;
  /** How the bound reads. */
  says: string;
}

const ackTarget = (c: number, cap?: number): Target => ({
  label: `ack p99, concurrency ${c}`,
  unit: 'ms',
  bound: (f) => {
    const b = f[`ack_baseline.c${c}.p99_ms` as FigureKey];
    const rel = b === null ? null : 1.5 * b;
    if (cap === undefined) return rel;
    return rel === null ? cap : Math.min(rel, cap);
  },
  says: `≤ 1.5 × bare Bolt${cap ? ` and ≤ ${cap} ms` : ''}`,
});

/** The targets of #17, by key. */
export const TARGETS: Record<FigureKey, Target> = {
  'ack.c1.p99_ms': ackTarget(1),
  'ack.c10.p99_ms': ackTarget(10),
  'ack.c50.p99_ms': ackTarget(50, 50),
  'ack_baseline.c1.p99_ms': {
    label: 'bare Bolt ack p99, concurrency 1',
    unit: 'ms',
    bound: () => null,
    says: 'baseline',
  },
  'ack_baseline.c10.p99_ms': {
    label: 'bare Bolt ack p99, concurrency 10',
    unit: 'ms',
    bound: () => null,
    says: 'baseline',
  },
  'ack_baseline.c50.p99_ms': {
    label: 'bare Bolt ack p99, concurrency 50',
    unit: 'ms',
    bound: () => null,
    says: 'baseline',
  },
  'tick.r10000.wall_ms': { label: 'tick, 10,000 rows: wall', unit: 'ms', bound: () => 1000, says: '≤ 1 s' },
  'tick.r10000.floor_wall_ms': {
    label: 'tick, 10,000 rows: the services alone answering its requests (no bot work)',
    unit: 'ms',
    bound: () => null,
    says: 'floor on this machine',
  },
  'tick.r10000.fly_requests': {
    label: 'tick, 10,000 rows: Fly requests',
    unit: '',
    // 20 apps, one image: 2 × apps + images
    bound: () => 41,
    says: '≤ 2 × apps + images (41)',
  },
  'tick.r10000.naive_fly_requests': {
    label: 'naive per-row strategy, 10,000 rows: Fly requests',
    unit: '',
    bound: () => null,
    says: 'reference',
  },
  'memory.rss_mb': {
    label: 'bot peak RSS over a 10,000-row tick',
    unit: 'MB',
    bound: () => 200,
    says: '≤ 200 MB',
  },
  'memory.r100000.rss_mb': {
    label: 'bot peak RSS over a 100,000-row tick',
    unit: 'MB',
    bound: () => 250,
    says: '≤ 250 MB',
  },
  'tick.r100000.wall_ms': {
    label: 'tick, 100,000 rows: wall',
    unit: 'ms',
    bound: () => null,
    says: 'growth',
  },
  'echo.p95_ms': {
    label: 'echo: status write → thread reply p95',
    unit: 'ms',
    bound: () => 1000,
    says: '≤ 1 s',
  },
  'echo.burst_one_channel.messages': {
    label: 'echo: 20 changes in one channel within 1 s → Slack messages',
    unit: '',
    bound: () => 3,
    says: '≤ 3',
  },
  'echo.burst_one_channel.p95_ms': {
    label: 'echo: 20 changes in one channel, last visible p95',
    unit: 'ms',
    bound: () => 2000,
    says: '≤ 2 s',
  },
  'startup.cold_ms': {
    label: '`npm start` → ready, empty data dir',
    unit: 'ms',
    bound: () => 4000,
    says: '≤ 4 s',
  },
  'startup.warm_ms': {
    label: '`npm start` → ready, second start',
    unit: 'ms',
    bound: () => 1500,
    says: '≤ 1.5 s',
  },
};
