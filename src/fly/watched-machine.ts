import type { Machine } from './fly-types.ts';

/**
 * The part of a listed machine the watchers judge by: what diagnose, match-machine, the orphan and
 * crash-loop checks and the log scrubber read (id, name, state, region, times, host status, image,
 * env, metadata, auto_destroy, restart policy, guest memory, events). The rest (services, mounts,
 * checks, image_ref, …) is dropped before validation: a machine of Fly's list is ~1.3 KB of JSON
 * and several times that once parsed, and a watcher tick may read 100,000 of them.
 */
const MACHINE_KEYS = [
  'id',
  'name',
  'state',
  'region',
  'instance_id',
  'created_at',
  'updated_at',
  'host_status',
  'events',
] as const;
const CONFIG_KEYS = ['image', 'env', 'metadata', 'auto_destroy', 'restart', 'guest'] as const;

function pick(from: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
}

/** The watched fields of one raw (unvalidated) machine object; anything else is returned as it is. */
export function watchedFields(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const m = raw as Record<string, unknown>;
  const out = pick(m, MACHINE_KEYS);
  const config = m.config;
  if (config !== undefined) {
    out.config =
      config !== null && typeof config === 'object' && !Array.isArray(config)
        ? pick(config as Record<string, unknown>, CONFIG_KEYS)
        : config;
  }
  return out;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A field that does not have the type MachineSchema requires. */
class Unexpected extends Error {}
const bad = (path: string): never => {
  throw new Unexpected(path);
};
const str = (v: unknown, path: string): string => (typeof v === 'string' ? v : bad(path));
const optStr = (v: unknown, path: string): string | undefined =>
  v === undefined || v === null || v === '' ? undefined : str(v, path);
const optNum = (v: unknown, path: string): number | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'number' && Number.isFinite(v) ? v : bad(path);
const optBool = (v: unknown, path: string): boolean | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'boolean' ? v : bad(path);
const stringMap = (v: unknown, path: string): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) return out;
  if (!isObject(v)) bad(path);
  for (const [key, entry] of Object.entries(v as Raw)) {
    if (entry === null || entry === undefined) continue;
    out[key] = typeof entry === 'string' ? entry : JSON.stringify(entry);
  }
  return out;
};
const POLICIES = new Set(['no', 'always', 'on-failure', 'spot-price']);

/**
 * A listed machine's watched fields read exactly as `MachineSchema.parse(watchedFields(raw))`
 * reads them (nulls and "" as unset, string maps, Fly's `false` restart policy as `no`; the test
 * holds the two equal), without the schema's per-field allocations: zod made ~14 KB of garbage per
 * machine, 140 MB for a 10,000-machine tick. Null when a field has the wrong type: the caller
 * then validates with the schema, whose error names the field.
 */
export function readWatchedMachine(raw: unknown): Machine | null {
  try {
    if (!isObject(raw)) return null;
    const c = raw.config;
    let config: Machine['config'];
    if (c !== undefined && c !== null) {
      if (!isObject(c)) return null;
      const r = c.restart;
      const g = c.guest;
      config = {
        image: str(c.image, 'config.image'),
        env: stringMap(c.env, 'config.env'),
        metadata: stringMap(c.metadata, 'config.metadata'),
        auto_destroy: optBool(c.auto_destroy, 'config.auto_destroy'),
        restart:
          r === undefined || r === null
            ? undefined
            : isObject(r)
              ? {
                  ...r,
                  policy:
                    r.policy === false
                      ? 'no'
                      : r.policy === undefined || r.policy === null || r.policy === ''
                        ? undefined
                        : typeof r.policy === 'string' && POLICIES.has(r.policy)
                          ? (r.policy as 'no')
                          : bad('config.restart.policy'),
                  max_retries: optNum(r.max_retries, 'config.restart.max_retries'),
                }
              : bad('config.restart'),
        guest:
          g === undefined || g === null
            ? undefined
            : isObject(g)
              ? {
                  ...g,
                  cpu_kind: optStr(g.cpu_kind, 'config.guest.cpu_kind'),
                  cpus: optNum(g.cpus, 'config.guest.cpus'),
                  memory_mb: optNum(g.memory_mb, 'config.guest.memory_mb'),
                }
              : bad('config.guest'),
        init: undefined,
      };
    }
    const ev = raw.events;
    const events: Machine['events'] = [];
    if (ev !== undefined && ev !== null) {
      if (!Array.isArray(ev)) return null;
      for (const e of ev) {
        if (!isObject(e)) return null;
        const request = e.request;
        events.push({
          ...e,
          id: optStr(e.id, 'events.id'),
          type: str(e.type, 'events.type'),
          status: str(e.status, 'events.status'),
          source: optStr(e.source, 'events.source'),
          timestamp:
            typeof e.timestamp === 'number' && Number.isFinite(e.timestamp)
              ? e.timestamp
              : bad('events.timestamp'),
          request:
            request === undefined || request === null
              ? undefined
              : isObject(request)
                ? { ...request }
                : bad('events.request'),
        });
      }
    }
    return {
      id: str(raw.id, 'id'),
      name: optStr(raw.name, 'name'),
      state: str(raw.state, 'state'),
      region: optStr(raw.region, 'region'),
      instance_id: optStr(raw.instance_id, 'instance_id'),
      version: undefined,
      private_ip: undefined,
      config,
      incomplete_config: undefined,
      image_ref: undefined,
      events,
      checks: [],
      created_at: optStr(raw.created_at, 'created_at'),
      updated_at: optStr(raw.updated_at, 'updated_at'),
      host_status: optStr(raw.host_status, 'host_status'),
      nonce: undefined,
    };
  } catch (err) {
    if (err instanceof Unexpected) return null;
    throw err;
  }
}
