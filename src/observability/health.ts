import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import { scrubSecrets } from '../logger.ts';
import type { Metrics } from './metrics.ts';

/** One dependency readiness depends on: a cheap call that throws when it is not reachable. */
export interface ReadinessCheck {
  name: string;
  run(signal: AbortSignal): Promise<unknown>;
  /** Default the health's `timeoutMs`. */
  timeoutMs?: number;
  /** Reuse a success this long (e.g. Slack's auth.test); failures are never reused. */
  cacheOkMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  /** `ok`, or `failed: <why>` (never a secret value). */
  checks: Record<string, string>;
  /** The names that failed. */
  failed?: string[];
  /** Set while shutting down. */
  shuttingDown?: boolean;
  /** Configuration the operator should know about that does not stop the bot (e.g. machine credentials). */
  notices?: Record<string, string>;
}

export interface HealthOptions {
  checks: ReadinessCheck[];
  metrics?: Metrics;
  /** Deadline of each check. Default 3 000 ms. */
  timeoutMs?: number;
  /** Values to scrub from failure reasons. */
  secrets?: () => readonly string[];
  /** Shown in every readiness report as `notices` (never affects readiness). */
  notices?: Record<string, string>;
  now?: () => number;
}

export interface Health {
  /** Readiness: every check in parallel, each with its deadline. */
  readiness(): Promise<ReadinessReport>;
  /** From now on /readyz answers 503 (shutting down) without asking anyone. */
  setDraining(): void;
  readonly draining: boolean;
  /** Serves /healthz, /readyz and /metrics; false for any other path (left to the caller). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The same routes for Bolt's HTTPReceiver `customRoutes`. */
  routes(): {
    path: string;
    method: string[];
    handler: (req: IncomingMessage, res: ServerResponse) => void;
  }[];
}

function reasonOf(err: unknown): string {
  if (isVyxError(err)) return `${err.code}: ${err.message}`;
  const e = err as { data?: { error?: unknown }; message?: unknown; code?: unknown } | undefined;
  if (typeof e?.data?.error === 'string') return `Slack answered ${e.data.error}`;
  return String(e?.message ?? e?.code ?? err).slice(0, 300);
}

export function createHealth(options: HealthOptions): Health {
  const timeoutMs = options.timeoutMs ?? 3_000;
  const now = options.now ?? Date.now;
  const okUntil = new Map<string, number>();
  let draining = false;

  async function runCheck(check: ReadinessCheck): Promise<string> {
    if ((okUntil.get(check.name) ?? 0) > now()) return 'ok';
    const ms = check.timeoutMs ?? timeoutMs;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check.run(controller.signal),
        new Promise((_, reject) => {
          timer = setTimeout(() => {
            controller.abort();
            reject(
              new VyxError('READY_TIMEOUT', `no answer within ${ms} ms`, {
                suggestion: 'Check that the service is up and reachable from the bot.',
              }),
            );
          }, ms);
        }),
      ]);
      if (check.cacheOkMs) okUntil.set(check.name, now() + check.cacheOkMs);
      return 'ok';
    } catch (err) {
      okUntil.delete(check.name);
      return `failed: ${scrubSecrets(reasonOf(err), options.secrets?.() ?? [])}`;
    } finally {
      clearTimeout(timer);
    }
  }

  async function readiness(): Promise<ReadinessReport> {
    if (draining) {
      return {
        ready: false,
        shuttingDown: true,
        checks: Object.fromEntries(options.checks.map((c) => [c.name, 'not checked: shutting down'])),
        failed: [],
      };
    }
    const results = await Promise.all(options.checks.map(async (c) => [c.name, await runCheck(c)] as const));
    const checks = Object.fromEntries(results);
    const failed = results.filter(([, r]) => r !== 'ok').map(([n]) => n);
    const notices =
      options.notices && Object.keys(options.notices).length ? { notices: options.notices } : {};
    return failed.length === 0
      ? { ready: true, checks, ...notices }
      : { ready: false, checks, failed, ...notices };
  }

  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    const text = typeof body === 'string' ? body : `${JSON.stringify(body)}\n`;
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(text);
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    '/healthz': async (_req, res) => send(res, 200, { live: true }),
    '/readyz': async (_req, res) => {
      const report = await readiness();
      send(res, report.ready ? 200 : 503, report);
    },
    '/metrics': async (_req, res) => {
      if (!options.metrics) return send(res, 404, { error: 'metrics are off' });
      send(res, 200, await options.metrics.scrape(), options.metrics.contentType);
    },
  };

  const serve = (path: string, req: IncomingMessage, res: ServerResponse) => {
    routes[path]!(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: scrubSecrets(reasonOf(err), options.secrets?.() ?? []) });
      else res.destroy();
    });
  };

  return {
    readiness,
    setDraining() {
      draining = true;
    },
    get draining() {
      return draining;
    },
    handle(req, res) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!(path in routes) || !['GET', 'HEAD'].includes(req.method ?? '')) return false;
      serve(path, req, res);
      return true;
    },
    routes() {
      return Object.keys(routes).map((path) => ({
        path,
        method: ['GET', 'HEAD'],
        handler: (req: IncomingMessage, res: ServerResponse) => serve(path, req, res),
      }));
    },
  };
}

/** A small HTTP server for the health routes, for the modes where Bolt serves no HTTP (Socket Mode, local). */
export async function startHealthServer(
  health: Health,
  options: { port: number; host: string },
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!health.handle(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found: try /healthz, /readyz or /metrics"}\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
