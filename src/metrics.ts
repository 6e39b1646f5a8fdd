import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Where the outbox lag comes from (the store's `pendingEvents()`), read on each scrape. */
export type OutboxSource = () => Promise<{ count: number; oldest_at: string | null }>;

/**
 * The bot's Prometheus metrics, on their own registry (no globals: each bot, and each test, has
 * its own). Passed to the parts that count through their options.
 */
export interface Metrics {
  registry: Registry;
  /** Slash commands and buttons handled: kind `command|button`, name, outcome `ok|denied|invalid|error|duplicate`. */
  commands: Counter<'kind' | 'name' | 'outcome'>;
  /** From the handler's start (signature checked, body parsed) to Slack's ack sent. */
  ackSeconds: Histogram<'kind'>;
  /** Watcher ticks: watcher `stuck|echo`, result `ok|error`. */
  watcherTicks: Counter<'watcher' | 'result'>;
  watcherTickSeconds: Histogram<'watcher'>;
  /** Rows a tick claimed (stuck: machines; echo: outbox events). */
  watcherRows: Counter<'watcher'>;
  /** Diagnoses made: code, source `watcher|fast|provision`. */
  diagnoses: Counter<'code' | 'source'>;
  /** Fly Machines API answers: method, route template, status (0: no answer). */
  flyRequests: Counter<'method' | 'route' | 'status'>;
  /** Slack Web API calls: method (`chat.postMessage`…), status `ok` or Slack's error code. */
  slackCalls: Counter<'method' | 'status'>;
  /** Outbox events Slack would never accept where they belonged: reason (Slack's error), where the fallback went. */
  slackSetAside: Counter<'reason' | 'fallback'>;
  /** Reads the outbox lag from this source on each scrape. */
  setOutboxSource(source: OutboxSource): void;
  /** The text exposition (`text/plain; version=0.0.4`). */
  scrape(): Promise<string>;
  contentType: string;
}

export function createMetrics(options: { defaultMetrics?: boolean; now?: () => number } = {}): Metrics {
  const registry = new Registry();
  const now = options.now ?? Date.now;
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'vyxbot_' });
  let outbox: OutboxSource | undefined;
  let lastOutbox: { count: number; oldest_at: string | null } | undefined;
  let outboxRead: Promise<void> | undefined;

  /** One store call per scrape, shared by both gauges. */
  const readOutbox = () => {
    outboxRead ??= (async () => {
      try {
        lastOutbox = outbox ? await outbox() : undefined;
        outboxErrors.set(0);
      } catch {
        lastOutbox = undefined;
        outboxErrors.set(1);
      }
    })().finally(() => {
      outboxRead = undefined;
    });
    return outboxRead;
  };

  const outboxErrors = new Gauge({
    name: 'vyxbot_outbox_read_failed',
    help: '1 when the last scrape could not read the outbox (the database is unreachable).',
    registers: [registry],
  });
  new Gauge({
    name: 'vyxbot_outbox_pending_events',
    help: 'Outbox events not yet delivered to Slack.',
    registers: [registry],
    async collect() {
      await readOutbox();
      if (lastOutbox) this.set(lastOutbox.count);
    },
  });
  new Gauge({
    name: 'vyxbot_outbox_oldest_pending_seconds',
    help: 'Age of the oldest undelivered outbox event (0 when none).',
    registers: [registry],
    async collect() {
      await readOutbox();
      if (!lastOutbox) return;
      const at = lastOutbox.oldest_at ? Date.parse(lastOutbox.oldest_at) : Number.NaN;
      this.set(Number.isFinite(at) ? Math.max(0, (now() - at) / 1000) : 0);
    },
  });

  return {
    registry,
    commands: new Counter({
      name: 'vyxbot_commands_total',
      help: 'Slash commands and buttons handled, by kind, name and outcome.',
      labelNames: ['kind', 'name', 'outcome'],
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'vyxbot_ack_seconds',
      help: 'Time from the handler start to the ack sent to Slack (Slack allows 3 s).',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
      registers: [registry],
    }),
    watcherTicks: new Counter({
      name: 'vyxbot_watcher_ticks_total',
      help: 'Watcher ticks, by watcher and result.',
      labelNames: ['watcher', 'result'],
      registers: [registry],
    }),
    watcherTickSeconds: new Histogram({
      name: 'vyxbot_watcher_tick_seconds',
      help: 'Duration of a watcher tick.',
      labelNames: ['watcher'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    watcherRows: new Counter({
      name: 'vyxbot_watcher_rows_total',
      help: 'Rows claimed by watcher ticks (stuck: machines; echo: outbox events).',
      labelNames: ['watcher'],
      registers: [registry],
    }),
    diagnoses: new Counter({
      name: 'vyxbot_diagnoses_total',
      help: 'Diagnoses made, by code and source.',
      labelNames: ['code', 'source'],
      registers: [registry],
    }),
    flyRequests: new Counter({
      name: 'vyxbot_fly_requests_total',
      help: 'Fly Machines API answers, by method, route and HTTP status (0: no answer).',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    slackCalls: new Counter({
      name: 'vyxbot_slack_api_calls_total',
      help: 'Slack Web API calls, by method and status (ok or the Slack error code).',
      labelNames: ['method', 'status'],
      registers: [registry],
    }),
    slackSetAside: new Counter({
      name: 'vyxbot_slack_set_aside_total',
      help: 'Outbox events set aside as undeliverable where they belonged, by Slack error and where the fallback post went (none: nowhere).',
      labelNames: ['reason', 'fallback'],
      registers: [registry],
    }),
    setOutboxSource(source) {
      outbox = source;
    },
    scrape: () => registry.metrics(),
    contentType: registry.contentType,
  };
}

/** Measures a promise into a histogram (and a counter by result) without changing what it returns. */
export async function timed<T>(
  metrics: Metrics | undefined,
  watcher: 'stuck' | 'echo',
  run: () => Promise<T>,
): Promise<T> {
  if (!metrics) return run();
  const end = metrics.watcherTickSeconds.startTimer({ watcher });
  try {
    const result = await run();
    metrics.watcherTicks.inc({ watcher, result: 'ok' });
    return result;
  } catch (err) {
    metrics.watcherTicks.inc({ watcher, result: 'error' });
    throw err;
  } finally {
    end();
  }
}
