/**
 * The Machines API's machine routes: create, list, get, stop, start, destroy, events — with the real
 * API's validation messages and statuses; a leased machine refuses changes without its nonce. Waiting is in wait-route.ts.
 */
import {
  apiError,
  appOr404,
  type EmulatorParts,
  isReply,
  machineOr404,
  NOT_FOUND_MACHINE,
  type Reply,
  type RequestContext,
  type Route,
  routePattern,
  SEGMENT,
} from './emulator-reply.ts';
import { leaseRefusal } from './lease-routes.ts';
import { machineImageRef } from './machine-image-ref.ts';
import type { MachineRecord } from './machine-store.ts';

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const STOP_SIGNALS = new Set(['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGKILL', 'SIGUSR1', 'SIGUSR2', 'SIGTERM']);

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

export function machineRoutes({ store, catalogue, lifecycle, now, region }: EmulatorParts): Route[] {
  function createMachine(ctx: RequestContext): Reply {
    const app = appOr404(store, ctx.params[0]);
    if (!('machines' in app)) return app;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return apiError(400, 'json: cannot unmarshal into Go value of type api.LaunchMachineInput');
    }
    const config = body.config as Record<string, unknown> | undefined;
    if (
      typeof config !== 'object' ||
      config === null ||
      typeof config.image !== 'string' ||
      config.image === ''
    ) {
      return apiError(400, 'failed to launch VM: config.image required');
    }
    for (const field of ['env', 'metadata'] as const) {
      const map = config[field];
      if (map === undefined || map === null) continue;
      if (
        typeof map !== 'object' ||
        Array.isArray(map) ||
        Object.values(map).some((v) => typeof v !== 'string')
      ) {
        return apiError(
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
      return apiError(400, `invalid restart policy "${String(restart.policy)}"`);
    }
    const name = typeof body.name === 'string' && body.name !== '' ? body.name : store.newName();
    for (const other of app.machines.values()) {
      if (other.name === name && other.state !== 'destroyed') {
        return apiError(409, `machine name "${name}" is already taken`, { status: 'name_taken' });
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
      imageRef: machineImageRef(image, found),
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
    const app = appOr404(store, ctx.params[0]);
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
      return apiError(400, 'invalid_argument: limit must be a positive integer');
    }
    let after = -1;
    const cursor = q.get('cursor');
    if (cursor) {
      const decoded = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
      if (!Number.isInteger(decoded)) return apiError(400, 'invalid_argument: invalid cursor');
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
    const parts: Buffer[] = [OPEN];
    for (const record of page) parts.push(store.jsonBytes(record, { summary }), COMMA);
    if (page.length > 0) parts.pop();
    parts.push(CLOSE);
    return { status: 200, json: Buffer.concat(parts), headers };
  }

  function getMachine(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    return { status: 200, body: store.toJson(record) };
  }

  function stopMachine(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const refused = leaseRefusal(record, ctx, now());
    if (refused) return refused;
    const body = ctx.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return apiError(
        400,
        `json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type main.stopRequest`,
      );
    }
    const { signal, timeout } = body as { signal?: unknown; timeout?: unknown };
    if (signal !== undefined && (typeof signal !== 'string' || !STOP_SIGNALS.has(signal))) {
      return apiError(400, `invalid signal "${String(signal)}"`);
    }
    const timeoutMs = timeout === undefined ? undefined : parseDuration(timeout);
    if (timeout !== undefined && timeoutMs === undefined)
      return apiError(400, `invalid timeout "${String(timeout)}"`);
    lifecycle.stop(record, {
      ...(signal ? { signal: signal as NodeJS.Signals } : {}),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    });
    return { status: 200, body: { ok: true } };
  }

  function startMachine(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const refused = leaseRefusal(record, ctx, now());
    if (refused) return refused;
    const previous = lifecycle.start(record);
    return { status: 200, body: { previous_state: previous, migrated: false, new_host: '' } };
  }

  function destroyMachine(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    if (record.state === 'destroyed') return NOT_FOUND_MACHINE();
    const refused = leaseRefusal(record, ctx, now());
    if (refused) return refused;
    const force = ctx.query.get('force') === 'true' || ctx.query.get('kill') === 'true';
    try {
      lifecycle.destroy(record, force);
    } catch {
      return apiError(
        412,
        'failed_precondition: unable to destroy machine, not currently stopped, suspended or failed',
      );
    }
    return { status: 200, body: { ok: true } };
  }

  function machineEvents(ctx: RequestContext): Reply {
    const record = machineOr404(store, ctx);
    if (isReply(record)) return record;
    const limitText = ctx.query.get('limit');
    const limit = limitText === null ? 20 : Math.min(50, Math.max(1, Math.floor(Number(limitText)) || 20));
    return { status: 200, body: record.events.slice(0, limit).map((event) => store.eventJson(event)) };
  }

  return [
    {
      method: 'GET',
      template: '/v1/apps/:app/machines',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/?`),
      handler: listMachines,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/?`),
      handler: createMachine,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}`),
      handler: getMachine,
    },
    {
      method: 'DELETE',
      template: '/v1/apps/:app/machines/:id',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}`),
      handler: destroyMachine,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines/:id/stop',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}/stop`),
      handler: stopMachine,
    },
    {
      method: 'POST',
      template: '/v1/apps/:app/machines/:id/start',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}/start`),
      handler: startMachine,
    },
    {
      method: 'GET',
      template: '/v1/apps/:app/machines/:id/events',
      pattern: routePattern(`/v1/apps/${SEGMENT}/machines/${SEGMENT}/events`),
      handler: machineEvents,
    },
  ];
}
