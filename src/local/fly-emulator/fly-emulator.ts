/**
 * The Fly emulator: a loopback HTTP server answering the Machines API subset vyxbot uses under
 * `/v1` and the registry's `HEAD|GET /v2/<repo>/manifests/<ref>`, with the real API's paths,
 * bodies, status codes and headers (`fly-request-id`). Machines are real child processes (see
 * machine-lifecycle.ts). For tests: fault injection, bulk machines without processes, request
 * counters, a response hook. `close()` stops every child and awaits its exit. This file is the
 * server (auth, faults, answers); the routes live in `*-routes.ts` by resource.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { appRoutes } from './app-routes.ts';
import { type BulkCreateOptions, bulkCreateMachines } from './bulk-create.ts';
import { emulatorAuth } from './emulator-auth.ts';
import { apiError, type EmulatorParts, type Reply, type Route } from './emulator-reply.ts';
import { createFaultInjector, type Fault, type FaultInjector, type FaultRule } from './fault-injector.ts';
import { faultReply } from './fault-reply.ts';
import {
  createImageCatalogue,
  defaultImageCatalogueEntries,
  type ImageCatalogue,
  type ImageCatalogueEntry,
} from './image-catalogue.ts';
import { leaseRoutes } from './lease-routes.ts';
import { logsRoutes } from './logs-route.ts';
import { createMachineLifecycle, type LifecycleTiming } from './machine-lifecycle.ts';
import { machineRoutes } from './machine-routes.ts';
import { type AppRecord, createMachineStore } from './machine-store.ts';
import { regionRoutes } from './region-routes.ts';
import { registryError, registryFault, registryRoutes } from './registry-routes.ts';
import { createRequestCounters, type RequestCounters } from './request-counters.ts';
import { seededRandom } from './seeded-random.ts';
import { waitRoutes } from './wait-route.ts';

export interface FlyEmulatorAppOptions {
  /** App secrets: names are listed by `GET /v1/apps/{app}/secrets`, values injected into machines. */
  secrets?: Record<string, string>;
}

export interface FlyEmulatorOptions {
  /** Loopback port; 0 (default) picks a free one. */
  port?: number;
  /** The token the API and registry accept. Default: a generated `fly-local-…` token. */
  token?: string;
  /** Apps served. Default `{ 'vyx-app': {} }`. */
  apps?: Record<string, FlyEmulatorAppOptions>;
  /** Images that exist. Default: `defaultImageCatalogueEntries(app)` for every app. */
  catalogue?: ImageCatalogueEntry[];
  /** Region of machines created without one. Default `ord`. */
  region?: string;
  /** Seed of the RNG behind ids and faults. Default random. */
  seed?: number;
  random?: () => number;
  now?: () => number;
  faults?: FaultRule[];
  timing?: Partial<LifecycleTiming>;
  /** PATH given to machines (the only host variable they get). Default the emulator's PATH. */
  machinePath?: string;
  /** Called with every answer that has a body (not dropped connections): for schema checks. */
  onResponse?: (response: EmulatorResponse) => void;
  /** Machine output and notable events, one line each. */
  log?: (line: string) => void;
  /** Who Fly says holds a lease taken with this token (Fly: the token's user). Default `emulator@fly.local`. */
  leaseOwner?: string;
}

export interface EmulatorResponse {
  method: string;
  /** Route template, e.g. `GET /v1/apps/:app/machines/:id`; `unmatched` for unknown paths. */
  route: string;
  status: number;
  /** Parsed JSON body, or the text for non-JSON bodies; undefined when there is none. */
  body: unknown;
  fault: string | undefined;
}

export interface FlyEmulator {
  /** `http://127.0.0.1:<port>`: the Machines API is at `/v1`, the registry at `/v2`. */
  readonly baseUrl: string;
  readonly port: number;
  readonly token: string;
  readonly catalogue: ImageCatalogue;
  readonly faults: FaultInjector;
  readonly counters: RequestCounters;
  addApp(name: string, options?: FlyEmulatorAppOptions): void;
  setSecrets(app: string, secrets: Record<string, string>): void;
  /** Machines as the API would list them (include_deleted), straight from the store. */
  machines(app?: string): Array<Record<string, unknown>>;
  /** stdout/stderr lines of a machine's processes (`stdout: …`). */
  machineLogs(machineId: string, app?: string): string[];
  /** Sets a machine's `host_status` as Fly reports it (a host lost, or back). False: no such machine. */
  setHostStatus(machineId: string, status: 'ok' | 'unknown' | 'unreachable', app?: string): boolean;
  /** Thousands of machines without processes (benchmarks); returns their ids. */
  bulkCreate(options: BulkCreateOptions): string[];
  /**
   * Forgets an app's machines, as if never made (benchmarks: each fleet size on its own fleet);
   * returns how many. Throws when one of them still has a process (or a pending state change): stop
   * and destroy those through the API.
   */
  forgetMachines(app: string): number;
  /** Pids of the machines' processes still running. */
  livePids(): number[];
  /** Stops every machine process (SIGTERM, SIGKILL after a grace) and the server. */
  close(): Promise<void>;
}

export async function createFlyEmulator(options: FlyEmulatorOptions = {}): Promise<FlyEmulator> {
  const random = options.random ?? seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  const now = options.now ?? Date.now;
  const token = options.token ?? `fly-local-${randomBytes(16).toString('hex')}`;
  const region = options.region ?? 'ord';
  const appOptions = options.apps ?? { 'vyx-app': {} };
  const catalogue = createImageCatalogue(
    options.catalogue ?? Object.keys(appOptions).flatMap((app) => defaultImageCatalogueEntries(app)),
  );
  const faults = createFaultInjector({ random, rules: options.faults ?? [] });
  const counters = createRequestCounters();
  const store = createMachineStore({ now, random });
  const timing: LifecycleTiming = {
    launchFailMs: options.timing?.launchFailMs ?? 100,
    restartBackoffMs: options.timing?.restartBackoffMs ?? 100,
    stopTimeoutMs: options.timing?.stopTimeoutMs ?? 5_000,
    closeGraceMs: options.timing?.closeGraceMs ?? 1_500,
  };
  const lifecycle = createMachineLifecycle({
    store,
    catalogue,
    timing,
    now,
    path: options.machinePath ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    ...(options.log ? { log: options.log } : {}),
  });

  const setSecrets = (app: AppRecord, secrets: Record<string, string>) => {
    app.secrets.clear();
    for (const [name, value] of Object.entries(secrets)) {
      app.secrets.set(name, { value, createdAt: now(), updatedAt: now() });
    }
  };
  const addApp = (name: string, appConfig: FlyEmulatorAppOptions = {}) => {
    setSecrets(store.ensureApp(name), appConfig.secrets ?? {});
  };
  for (const [name, appConfig] of Object.entries(appOptions)) addApp(name, appConfig);

  // Routes by resource, each in its own file; the first whose method and path match answers.
  const parts: EmulatorParts = { store, catalogue, lifecycle, now, region };
  const routes: Route[] = [
    ...machineRoutes(parts),
    ...leaseRoutes(parts, options.leaseOwner ?? 'emulator@fly.local'),
    ...waitRoutes(parts),
    ...appRoutes(parts),
    ...logsRoutes(parts),
    ...regionRoutes(parts),
    ...registryRoutes(parts),
  ];
  const auth = emulatorAuth(token);

  const readBody = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const sockets = new Set<Socket>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const lookupMethod = method === 'HEAD' ? 'GET' : method;
    let route: Route | undefined;
    let params: string[] = [];
    for (const candidate of routes) {
      if (candidate.method !== lookupMethod) continue;
      const match = candidate.pattern.exec(url.pathname);
      if (match) {
        route = candidate;
        params = match.slice(1).map((part) => decodeURIComponent(part));
        break;
      }
    }
    const template = route ? `${method} ${route.template}` : 'unmatched';
    counters.increment(template);
    const fault = route ? faults.pick(method, route.template) : undefined;
    const delay = () => new Promise((resolve) => setTimeout(resolve, fault?.latencyMs ?? 0));
    if (fault?.kind === 'latency' && fault.phase === 'before') {
      await delay();
      // The client hung up while the request waited in front of Fly: it never reaches Fly (a
      // create then never happens — what a crash of the caller during a slow create looks like).
      if (req.socket.destroyed) return;
    }
    const failing = fault && fault.kind !== 'latency' ? fault : undefined;

    const send = (reply: Reply) => {
      if (failing?.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      const isJson = reply.text === undefined && reply.body !== undefined;
      const payload = isJson ? JSON.stringify(reply.body) : (reply.text ?? '');
      const headers: Record<string, string | number> = {
        'fly-request-id': store.newRequestId(region),
        'content-length': Buffer.byteLength(payload),
        ...(isJson
          ? { 'content-type': 'application/json; charset=utf-8' }
          : { 'content-type': 'text/plain; charset=utf-8' }),
        ...reply.headers,
      };
      res.writeHead(reply.status, headers);
      res.end(method === 'HEAD' ? undefined : payload);
      options.onResponse?.({
        method,
        route: template,
        status: reply.status,
        body: isJson ? reply.body : reply.text === '' ? undefined : reply.text,
        fault: failing?.kind,
      });
    };

    if (!route) return send({ status: 404, text: '404 page not found\n' });
    const isRegistry = route.template.startsWith('/v2/');
    // The registry answers in its own error format (OCI distribution), not the Machines API's.
    const failReply = (fault: Fault): Reply => (isRegistry ? registryFault(fault) : faultReply(fault));
    if (failing?.phase === 'before') return send(failReply(failing));

    if (isRegistry && !auth.registry(req.headers.authorization)) {
      return send({
        ...registryError(401, 'UNAUTHORIZED', 'authentication required', null),
        headers: { 'www-authenticate': 'Basic realm="flyio-registry.fly.dev"' },
      });
    }
    // The regions list needs no token (`security: []` in the spec).
    const isPublic = route.template === '/v1/platform/regions';
    if (!isRegistry && !isPublic && !auth.api(req.headers.authorization)) {
      return send(apiError(401, 'Authenticate: token validation error'));
    }
    const raw = await readBody(req);
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(apiError(400, 'invalid character in request body: not JSON'));
      }
    }
    const nonceHeader = req.headers['fly-machine-lease-nonce'];
    const leaseNonce = Array.isArray(nonceHeader) ? nonceHeader[0] : nonceHeader;
    let reply = await route.handler({
      params,
      query: url.searchParams,
      body,
      method,
      ...(leaseNonce ? { leaseNonce } : {}),
    });
    if (failing?.phase === 'after') reply = failReply(failing);
    // Done, but the answer is held back (a create made whose answer has not arrived yet).
    if (fault?.kind === 'latency' && fault.phase === 'after') await delay();
    send(reply);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((cause: unknown) => {
      options.log?.(`emulator error: ${cause instanceof Error ? cause.stack : String(cause)}`);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: 'internal error' }));
      }
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const onProcessExit = () => lifecycle.killAllNow();
  process.on('exit', onProcessExit);

  let closed: Promise<void> | undefined;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    token,
    catalogue,
    faults,
    counters,
    addApp,
    setSecrets(app, secrets) {
      setSecrets(store.ensureApp(app), secrets);
    },
    machines(app) {
      const names = app ? [app] : [...store.apps.keys()];
      return names.flatMap((name) => (store.app(name)?.order ?? []).map((record) => store.toJson(record)));
    },
    machineLogs(machineId, app) {
      for (const record of app ? [store.app(app)] : store.apps.values()) {
        const machine = record?.machines.get(machineId);
        if (machine) return lifecycle.logs(machine);
      }
      return [];
    },
    setHostStatus(machineId, status, app) {
      for (const record of app ? [store.app(app)] : store.apps.values()) {
        const machine = record?.machines.get(machineId);
        if (machine) {
          machine.hostStatus = status;
          return true;
        }
      }
      return false;
    },
    bulkCreate: (bulk) => bulkCreateMachines(parts, Object.keys(appOptions)[0], bulk),
    forgetMachines(app) {
      const record = store.app(app);
      if (!record) return 0;
      const busy = record.order.find((m) => lifecycle.isBusy(m));
      if (busy) throw new Error(`machine ${busy.id} of ${app} has a process: destroy it through the API`);
      const n = record.order.length;
      for (const m of record.order) lifecycle.forget(m);
      record.machines.clear();
      record.order.length = 0;
      return n;
    },
    livePids: () => lifecycle.livePids(),
    close() {
      closed ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        await lifecycle.closeAll();
        await serverClosed;
        process.off('exit', onProcessExit);
      })();
      return closed;
    },
  };
}
