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
