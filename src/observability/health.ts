import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import { scrubSecrets } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

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
  /**
   * Who may see /metrics and readiness details (which dependency failed and why): everyone on this
   * server (`open`, a loopback or internal port), or only requests with
   * `Authorization: Bearer <opsToken>`. Others get /healthz and readiness as a bare status.
   */
  ops?: { open: boolean; token?: string };
}

export interface Health {
  /** Readiness: every check in parallel, each with its deadline. */
  readiness(): Promise<ReadinessReport>;
  /** From now on /readyz answers 503 (shutting down) without asking anyone. */
  setDraining(): void;
  readonly draining: boolean;
  /** Serves /healthz, /readyz and /metrics; false for any other path (left to the caller). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The same routes with operations details open to every caller (an internal port). */
  handleOpen(req: IncomingMessage, res: ServerResponse): boolean;
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

  const ops = options.ops ?? { open: true };
  const token = ops.token ? Buffer.from(`Bearer ${ops.token}`) : undefined;
  const allowed = (req: IncomingMessage, open: boolean) => {
    if (open) return true;
    const given = Buffer.from(String(req.headers.authorization ?? ''));
    return token !== undefined && given.length === token.length && timingSafeEqual(given, token);
  };
  type Route = (req: IncomingMessage, res: ServerResponse, open: boolean) => Promise<void>;
  const routes: Record<string, Route> = {
    '/healthz': async (_req, res) => send(res, 200, { live: true }),
    '/readyz': async (req, res, open) => {
      const report = await readiness();
      // The public answer is the status alone: which dependency failed and why is for operators.
      send(res, report.ready ? 200 : 503, allowed(req, open) ? report : { ready: report.ready });
    },
    '/metrics': async (req, res, open) => {
      if (!options.metrics) return send(res, 404, { error: 'metrics are off' });
      if (!allowed(req, open)) {
        return send(res, 401, {
          error: token
            ? 'metrics need Authorization: Bearer <VYX_OPS_TOKEN>'
            : 'metrics are served on VYX_OPS_PORT, or here with VYX_OPS_TOKEN set',
        });
      }
      send(res, 200, await options.metrics.scrape(), options.metrics.contentType);
    },
  };

  const serve = (path: string, req: IncomingMessage, res: ServerResponse, open = ops.open) => {
    routes[path]!(req, res, open).catch((err: unknown) => {
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
      if (!Object.hasOwn(routes, path) || !['GET', 'HEAD'].includes(req.method ?? '')) return false;
      serve(path, req, res);
      return true;
    },
    handleOpen(req, res) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (!Object.hasOwn(routes, path) || !['GET', 'HEAD'].includes(req.method ?? '')) return false;
      serve(path, req, res, true);
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
  options: { port: number; host: string; variable: string; open?: boolean },
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!(options.open ? health.handleOpen(req, res) : health.handle(req, res))) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not found: try /healthz, /readyz or /metrics"}\n');
    }
  });
  await listenOrName(server, options);
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

/** Listens, or fails with one line naming the variable that chose the port (`PORT_IN_USE`). */
export async function listenOrName(
  server: Server,
  options: { port: number; host: string; variable: string },
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(portError(err, options.variable, options.port));
    server.once('error', fail);
    server.listen(options.port, options.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

/** A listen failure as one line naming the variable (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
export function portError(err: unknown, variable: string, port: number): VyxError {
  const code = findErrno(err);
  const why =
    code === 'EADDRINUSE'
      ? `port ${port} is already in use`
      : code === 'EACCES'
        ? `port ${port} needs privileges this process does not have`
        : code === 'EADDRNOTAVAIL'
          ? `the address for port ${port} is not available here`
          : `port ${port} could not be opened (${code ?? String((err as Error)?.message ?? err)})`;
  return new VyxError('PORT_IN_USE', `${variable}: ${why}`, {
    suggestion: `Set ${variable} to a free port (0 picks one), or stop what is using it.`,
    details: { variable, port, errno: code },
    cause: err,
  });
}

/** The errno code of an error or of its cause (Node wraps some listen errors). */
export function findErrno(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}
