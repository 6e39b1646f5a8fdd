/**
 * The Fly emulator: a loopback HTTP server answering the Machines API subset vyxbot uses under
 * `/v1` and the registry's `HEAD|GET /v2/<repo>/manifests/<ref>`, with the real API's paths,
 * bodies, status codes and headers (`fly-request-id`). Machines are real child processes (see
 * machine-lifecycle.ts). For tests: fault injection, bulk machines without processes, request
 * counters, a response hook. `close()` stops every child and awaits its exit.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseImageRef } from '../../fly/image-ref.ts';
import { createFaultInjector, type Fault, type FaultInjector, type FaultRule } from './fault-injector.ts';
import {
  type CatalogueImage,
  createImageCatalogue,
  defaultImageCatalogueEntries,
  type ImageCatalogue,
  type ImageCatalogueEntry,
} from './image-catalogue.ts';
import { createMachineLifecycle, type LifecycleTiming } from './machine-lifecycle.ts';
import { type AppRecord, createMachineStore, type MachineRecord } from './machine-store.ts';
import { FLY_REGIONS } from './regions.ts';
import { createRequestCounters, type RequestCounters } from './request-counters.ts';
import { seededRandom } from './seeded-random.ts';

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

export interface BulkCreateOptions {
  app?: string;
  count: number;
  /** Final state of each machine. Default `started`. */
  state?: 'created' | 'started' | 'stopped' | 'destroyed';
  image?: string;
  region?: string | ((index: number) => string);
  metadata?: (index: number) => Record<string, string>;
  env?: (index: number) => Record<string, string>;
  autoDestroy?: boolean;
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
  /** Thousands of machines without processes (benchmarks); returns their ids. */
  bulkCreate(options: BulkCreateOptions): string[];
  /** Pids of the machines' processes still running. */
  livePids(): number[];
  /** Stops every machine process (SIGTERM, SIGKILL after a grace) and the server. */
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  /** Plain-text body instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
}

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  handler: (ctx: RequestContext) => Reply | Promise<Reply>;
}

interface RequestContext {
  params: string[];
  query: URLSearchParams;
  body: unknown;
  method: string;
}

const WAIT_STATES = new Set(['started', 'stopped', 'suspended', 'destroyed', 'failed', 'settled']);
const STOP_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGTERM']);

const error = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { error: message, ...extra },
});
const NOT_FOUND_MACHINE = () => error(404, 'not_found: machine not found');

/** Go duration (`10s`, `1m30s`, `500ms`) or a number of seconds → ms. */
function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string' || value === '') return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let match: RegExpExecArray | null = re.exec(value);
  let consumed = 0;
  while (match) {
    total += Number(match[1]) * (units[match[2] ?? 's'] ?? 1000);
    consumed = re.lastIndex;
    match = re.exec(value);
  }
  return consumed === value.length ? total : undefined;
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

  // ——— Machines API handlers ———

  const appOr404 = (name: string | undefined): AppRecord | Reply => {
    const app = name === undefined ? undefined : store.app(name);
    return app ?? error(404, 'app not found');
  };
  const machineOr404 = (ctx: RequestContext): MachineRecord | Reply => {
    const app = appOr404(ctx.params[0]);
    if (!('machines' in app)) return app;
    return app.machines.get(ctx.params[1] ?? '') ?? NOT_FOUND_MACHINE();
  };
  const isReply = (value: unknown): value is Reply =>
    typeof value === 'object' &&
    value !== null &&
    'status' in value &&
    !('machines' in value) &&
    !('seq' in value);

  function imageRefFor(image: string, found: CatalogueImage | undefined): MachineRecord['imageRef'] {
    if (found) {
      return {
        registry: found.ref.registry,
        repository: found.ref.repository,
        tag: found.ref.tag ?? 'latest',
        digest: found.digest,
        labels: { ...found.labels },
      };
    }
    try {
      const ref = parseImageRef(image);
      return { registry: ref.registry, repository: ref.repository, tag: ref.tag ?? '', labels: {} };
    } catch {
      return { registry: '', repository: image, tag: '', labels: {} };
    }
  }

  function createMachine(ctx: RequestContext): Reply {
    const app = appOr404(ctx.params[0]);
    if (!('machines' in app)) return app;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return error(400, 'json: cannot unmarshal into Go value of type api.LaunchMachineInput');
    }
    const config = body.config as Record<string, unknown> | undefined;
    if (
      typeof config !== 'object' ||
      config === null ||
      typeof config.image !== 'string' ||
      config.image === ''
    ) {
      return error(400, 'failed to launch VM: config.image required');
    }
    for (const field of ['env', 'metadata'] as const) {
      const map = config[field];
      if (map === undefined || map === null) continue;
      if (
        typeof map !== 'object' ||
        Array.isArray(map) ||
        Object.values(map).some((v) => typeof v !== 'string')
      ) {
        return error(
          400,
          `json: cannot unmarshal into Go struct field MachineConfig.config.${field} of type string`,
        );
      }
    }
    const restart = config.restart as { policy?: unknown } | undefined;
    if (
      restart?.policy !== undefined &&
      !['no', 'always', 'on-failure', 'spot-price', ''].includes(String(restart.policy))
    ) {
      return error(400, `invalid restart policy "${String(restart.policy)}"`);
    }
    const name = typeof body.name === 'string' && body.name !== '' ? body.name : store.newName();
    for (const other of app.machines.values()) {
      if (other.name === name && other.state !== 'destroyed') {
        return error(409, `machine name "${name}" is already taken`, { status: 'name_taken' });
      }
    }
    const image = config.image;
    const found = catalogue.resolve(image);
    const storedConfig = {
      ...config,
      image,
      guest: config.guest ?? { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
    } as MachineRecord['config'];
    const record = store.insert({
      id: store.newMachineId(),
      app: app.name,
      name,
      state: 'created',
      region: typeof body.region === 'string' && body.region !== '' ? body.region : region,
      instanceId: store.newVersion(),
      privateIp: store.newPrivateIp(),
      config: storedConfig,
      imageRef: imageRefFor(image, found),
      events: [],
      createdAt: now(),
      updatedAt: now(),
      restartCount: 0,
      bulk: false,
    });
    store.addEvent(record, { type: 'launch', status: 'created', source: 'user' });
    const reply: Reply = { status: 200, body: store.toJson(record) };
    if (body.skip_launch !== true) setImmediate(() => lifecycle.launch(record));
    return reply;
  }

  function listMachines(ctx: RequestContext): Reply {
    const app = appOr404(ctx.params[0]);
    if (!('machines' in app)) return app;
    const q = ctx.query;
    const includeDeleted = q.get('include_deleted') === 'true';
    const regionFilter = q.get('region');
    const states = q.get('state')?.split(',').filter(Boolean);
    const summary = q.get('summary') === 'true';
    const metadata: Array<[string, string]> = [];
    for (const [key, value] of q) if (key.startsWith('metadata.')) metadata.push([key.slice(9), value]);
    const limitText = q.get('limit');
    const limit = limitText === null ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      return error(400, 'invalid_argument: limit must be a positive integer');
    }
    let after = -1;
    const cursor = q.get('cursor');
    if (cursor) {
      const decoded = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded)) return error(400, 'invalid_argument: invalid cursor');
      after = decoded;
    }
    const page: MachineRecord[] = [];
    let more = false;
    for (const record of app.order) {
      if (record.seq <= after) continue;
      if (!includeDeleted && (record.state === 'destroyed' || record.state === 'destroying')) continue;
      if (regionFilter && record.region !== regionFilter) continue;
      if (states && !states.includes(record.state)) continue;
      if (metadata.length > 0) {
        const recordMetadata = (record.config.metadata ?? {}) as Record<string, unknown>;
        if (!metadata.every(([key, value]) => recordMetadata[key] === value)) continue;
      }
      if (limit !== undefined && page.length >= Math.min(limit, 1000)) {
        more = true;
        break;
      }
      page.push(record);
    }
    const headers: Record<string, string> = {};
    const last = page.at(-1);
    if (more && last) headers['fly-next-cursor'] = Buffer.from(String(last.seq)).toString('base64url');
    return { status: 200, body: page.map((record) => store.toJson(record, { summary })), headers };
  }

  function getMachine(ctx: RequestContext): Reply {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    return { status: 200, body: store.toJson(record) };
  }

  async function waitMachine(ctx: RequestContext): Promise<Reply> {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    const states = ctx.query
      .getAll('state')
      .flatMap((value) => value.split(','))
      .filter(Boolean);
    if (states.length === 0) states.push('started');
    const bad = states.find((state) => !WAIT_STATES.has(state));
    if (bad) return error(400, `invalid_argument: invalid state "${bad}"`);
    const timeoutText = ctx.query.get('timeout');
    const timeoutS = timeoutText === null ? 60 : Number(timeoutText);
    if (!Number.isFinite(timeoutS) || timeoutS < 1 || timeoutS > 60) {
      return error(400, 'invalid_argument: timeout must be in the range [1s, 1m0s]');
    }
    const version = ctx.query.get('version') ?? ctx.query.get('instance_id');
    if (states.includes('stopped') && !version) {
      return error(400, 'instance_id required when waiting for stopped machine');
    }
    const outcome = await lifecycle.waitFor(record, states, timeoutS * 1000);
    if (outcome === 'reached') {
      return {
        status: 200,
        body: {
          ok: true,
          state: record.state,
          version: record.instanceId,
          event_id: record.events[0]?.id ?? '',
        },
      };
    }
    if (outcome === 'gone') return NOT_FOUND_MACHINE();
    if (outcome === 'failed') return error(400, 'machine failed to reach desired state');
    return error(408, `deadline_exceeded: timeout waiting for machine to be ${states.join(',')}`);
  }

  function stopMachine(ctx: RequestContext): Reply {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const body = ctx.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return error(
        400,
        `json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type main.stopRequest`,
      );
    }
    const { signal, timeout } = body as { signal?: unknown; timeout?: unknown };
    if (signal !== undefined && (typeof signal !== 'string' || !STOP_SIGNALS.has(signal))) {
      return error(400, `invalid signal "${String(signal)}"`);
    }
    const timeoutMs = timeout === undefined ? undefined : parseDuration(timeout);
    if (timeout !== undefined && timeoutMs === undefined)
      return error(400, `invalid timeout "${String(timeout)}"`);
    lifecycle.stop(record, {
      ...(signal ? { signal: signal as NodeJS.Signals } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return { status: 200, body: { ok: true } };
  }

  function startMachine(ctx: RequestContext): Reply {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const previous = lifecycle.start(record);
    return { status: 200, body: { previous_state: previous, migrated: false, new_host: '' } };
  }

  function destroyMachine(ctx: RequestContext): Reply {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const force = ctx.query.get('force') === 'true' || ctx.query.get('kill') === 'true';
    try {
      lifecycle.destroy(record, force);
    } catch {
      return error(
        412,
        'failed_precondition: unable to destroy machine, not currently stopped, suspended or failed',
      );
    }
    return { status: 200, body: { ok: true } };
  }

  function machineEvents(ctx: RequestContext): Reply {
    const record = machineOr404(ctx);
    if (isReply(record)) return record;
    const limitText = ctx.query.get('limit');
    const limit = limitText === null ? 20 : Math.min(50, Math.max(1, Math.floor(Number(limitText)) || 20));
    return { status: 200, body: record.events.slice(0, limit).map((event) => store.eventJson(event)) };
  }

  function listSecrets(ctx: RequestContext): Reply {
    const app = appOr404(ctx.params[0]);
    if (!('machines' in app)) return app;
    return { status: 200, body: store.secretsJson(app) };
  }

  // ——— registry ———

  const registryError = (status: number, code: string, message: string, detail: unknown): Reply => ({
    status,
    body: { errors: [{ code, message, detail }] },
  });

  function registryBase(): Reply {
    return { status: 200, body: {}, headers: { 'docker-distribution-api-version': 'registry/2.0' } };
  }

  function manifest(ctx: RequestContext): Reply {
    const repository = ctx.params[0] ?? '';
    const reference = ctx.params[1] ?? '';
    const image = catalogue.findManifest(repository, reference);
    if (!image) {
      if (!catalogue.hasRepository(repository)) {
        return registryError(404, 'NAME_UNKNOWN', 'repository name not known to registry', {
          name: repository,
        });
      }
      return registryError(404, 'MANIFEST_UNKNOWN', 'manifest unknown', { Tag: reference });
    }
    return {
      status: 200,
      text: image.manifest,
      headers: {
        'content-type': image.mediaType,
        'docker-content-digest': image.digest,
        'docker-distribution-api-version': 'registry/2.0',
        etag: `"${image.digest}"`,
      },
    };
  }

  const p = (source: string) => new RegExp(`^${source}$`);
  const seg = '([^/]+)';
  const routes: Route[] = [
    {
      method: 'GET',
      template: '/v1/apps/:app/machines',
      pattern: p(`/v1/apps/${seg}/machines/?`),
      handler: listMachines,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines',
      pattern: p(`/v1/apps/${seg}/machines/?`),
      handler: createMachine,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id',
      pattern: p(`/v1/apps/${seg}/machines/${seg}`),
      handler: getMachine,
    },
    {
      method: 'DELETE',
      template: '/v1/apps/:app/machines/:id',
      pattern: p(`/v1/apps/${seg}/machines/${seg}`),
      handler: destroyMachine,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id/wait',
      pattern: p(`/v1/apps/${seg}/machines/${seg}/wait`),
      handler: waitMachine,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines/:id/stop',
      pattern: p(`/v1/apps/${seg}/machines/${seg}/stop`),
      handler: stopMachine,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines/:id/start',
      pattern: p(`/v1/apps/${seg}/machines/${seg}/start`),
      handler: startMachine,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id/events',
      pattern: p(`/v1/apps/${seg}/machines/${seg}/events`),
      handler: machineEvents,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/secrets',
      pattern: p(`/v1/apps/${seg}/secrets`),
      handler: listSecrets,
    },
    {
      method: 'GET',
      template: '/v1/platform/regions',
      pattern: p('/v1/platform/regions'),
      handler: () => ({ status: 200, body: { nearest: region, regions: FLY_REGIONS } }),
    },
    { method: 'GET', template: '/v2/', pattern: p('/v2/?'), handler: registryBase },
    {
      method: 'GET',
      template: '/v2/:repo/manifests/:reference',
      pattern: p('/v2/(.+)/manifests/([^/]+)'),
      handler: manifest,
    },
  ];

  // ——— auth ———

  const bare = (value: string) => value.replace(/^FlyV1\s+/, '').trim();
  const apiAuthorized = (header: string | undefined): boolean => {
    if (!header) return false;
    let value = header.trim();
    if (/^bearer\s+/i.test(value)) value = value.replace(/^bearer\s+/i, '');
    return bare(value) === bare(token);
  };
  const registryAuthorized = (header: string | undefined): boolean => {
    if (!header?.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && bare(decoded.slice(colon + 1)) === bare(token);
  };

  // ——— server ———

  const faultReply = (fault: Fault): Reply => {
    switch (fault.kind) {
      case 'rate-limit':
        return {
          ...error(429, 'rate limit exceeded, try again later'),
          headers: { 'retry-after': String(fault.retryAfterSeconds) },
        };
      case 'timeout':
        return error(408, 'deadline_exceeded: request timed out');
      case 'bad-gateway':
        return error(502, 'bad gateway');
      case 'unavailable':
        return error(503, 'service unavailable');
      case 'status':
        return error(fault.status, fault.message ?? `injected ${fault.status}`);
      default:
        return error(500, 'internal server error');
    }
  };

  const REGISTRY_CODES: Record<number, [string, string]> = {
    401: ['UNAUTHORIZED', 'authentication required'],
    403: ['DENIED', 'requested access to the resource is denied'],
    429: ['TOOMANYREQUESTS', 'too many requests'],
  };
  const registryFault = (fault: Fault): Reply => {
    const status = faultReply(fault).status;
    const [code, message] = REGISTRY_CODES[status] ?? ['UNAVAILABLE', fault.message ?? `injected ${status}`];
    return {
      ...registryError(status, code, message, null),
      ...(status === 401 ? { headers: { 'www-authenticate': 'Basic realm="flyio-registry.fly.dev"' } } : {}),
    };
  };

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

    if (isRegistry && !registryAuthorized(req.headers.authorization)) {
      return send({
        ...registryError(401, 'UNAUTHORIZED', 'authentication required', null),
        headers: { 'www-authenticate': 'Basic realm="flyio-registry.fly.dev"' },
      });
    }
    // The regions list needs no token (`security: []` in the spec).
    const isPublic = route.template === '/v1/platform/regions';
    if (!isRegistry && !isPublic && !apiAuthorized(req.headers.authorization)) {
      return send(error(401, 'Authenticate: token validation error'));
    }
    const raw = await readBody(req);
    let body: unknown;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(error(400, 'invalid character in request body: not JSON'));
      }
    }
    let reply = await route.handler({ params, query: url.searchParams, body, method });
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
    bulkCreate(bulk) {
      const appName = bulk.app ?? Object.keys(appOptions)[0] ?? 'vyx-app';
      const app = store.ensureApp(appName);
      const image = bulk.image ?? catalogue.list()[0]?.name ?? `registry.fly.io/${appName}:latest`;
      const found = catalogue.resolve(image);
      const finalState = bulk.state ?? 'started';
      const ids: string[] = [];
      for (let i = 0; i < bulk.count; i++) {
        const env = bulk.env?.(i);
        const metadata = bulk.metadata?.(i);
        const record = store.insert({
          id: store.newMachineId(),
          app: app.name,
          name: `bulk-${app.order.length}`,
          state: 'created',
          region: typeof bulk.region === 'function' ? bulk.region(i) : (bulk.region ?? region),
          instanceId: store.newVersion(),
          privateIp: store.newPrivateIp(),
          config: {
            image,
            ...(env ? { env } : {}),
            ...(metadata ? { metadata } : {}),
            ...(bulk.autoDestroy ? { auto_destroy: true } : {}),
            restart: { policy: 'no' },
            guest: { cpu_kind: 'shared', cpus: 1, memory_mb: 256 },
          },
          imageRef: imageRefFor(image, found),
          events: [],
          createdAt: now(),
          updatedAt: now(),
          restartCount: 0,
          bulk: true,
        });
        store.addEvent(record, { type: 'launch', status: 'created', source: 'user' });
        if (finalState !== 'created') {
          store.addEvent(record, { type: 'start', status: 'started', source: 'flyd' });
          record.state = 'started';
        }
        if (finalState === 'stopped' || finalState === 'destroyed') lifecycle.stop(record);
        if (finalState === 'destroyed' && record.state !== 'destroyed') lifecycle.destroy(record, true);
        ids.push(record.id);
      }
      return ids;
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
