/**
 * The Fly emulator: a loopback HTTP server answering the Machines API subset vyxbot uses under
 * `/v1` and the registry's `HEAD|GET /v2/<repo>/manifests/<ref>`, with the real API's paths,
 * bodies, status codes and headers (`fly-request-id`). Machines are real child processes (see
 * machine-lifecycle.ts). For tests: fault injection, bulk machines without processes, request
 * counters, a response hook. `close()` stops every child and awaits its exit. This file assembles
 * the server; a request's way through auth, faults and answer is emulator-handler.ts, the routes
 * live in `*-routes.ts` by resource.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { appRoutes } from './app-routes.ts';
import { type BulkCreateOptions, bulkCreateMachines } from './bulk-create.ts';
import { emulatorAuth } from './emulator-auth.ts';
import { emulatorHandler } from './emulator-handler.ts';
import type { EmulatorParts, Route } from './emulator-reply.ts';
import { createFaultInjector, type FaultInjector, type FaultRule } from './fault-injector.ts';
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
import { registryRoutes } from './registry-routes.ts';
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

  const sockets = new Set<Socket>();

  const handle = emulatorHandler({
    routes,
    auth,
    faults,
    counters,
    requestId: () => store.newRequestId(region),
    ...(options.onResponse ? { onResponse: options.onResponse } : {}),
  });

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
