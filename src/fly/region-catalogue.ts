import type { FlyMachinesClient } from './machines-client.ts';

export type RegionCheck =
  | { status: 'known'; code: string; name: string; deprecated: boolean }
  | { status: 'unknown'; code: string; regions: string[] }
  /** Fly could not list its regions: the create itself will tell. */
  | { status: 'unverified'; code: string; reason: string };

export type RegionList =
  | { status: 'listed'; regions: { code: string; name: string }[] }
  | { status: 'unverified'; reason: string };

export interface RegionCatalogue {
  check(code: string): Promise<RegionCheck>;
  /** Fly's current (not deprecated) regions by code, for the start dialog. */
  list(): Promise<RegionList>;
  /** Fetch now (at start-up), so the first `--region` costs no Fly request. */
  warm(): Promise<void>;
}

/**
 * Fly's regions (`GET /v1/platform/regions`), cached: they change rarely, so one list serves every
 * `/vyx start --region` for `ttlMs`; after a failure Fly is asked again no sooner than `retryMs`.
 */
export function createRegionCatalogue(
  fly: Pick<FlyMachinesClient, 'listRegions'>,
  o: { ttlMs?: number; retryMs?: number; now?: () => number } = {},
): RegionCatalogue {
  const ttlMs = o.ttlMs ?? 3_600_000;
  const retryMs = o.retryMs ?? 30_000;
  const now = o.now ?? Date.now;
  let cached: { at: number; regions: Map<string, { name: string; deprecated: boolean }> } | undefined;
  let failed: { at: number; reason: string } | undefined;
  let inFlight: Promise<void> | undefined;

  const refresh = () =>
    (inFlight ??= fly
      .listRegions({ deadlineMs: 5_000 })
      .then((list) => {
        cached = { at: now(), regions: new Map(list.map((r) => [r.code, r])) };
        failed = undefined;
      })
      .catch((err: unknown) => {
        failed = { at: now(), reason: (err as Error)?.message ?? String(err) };
      })
      .finally(() => {
        inFlight = undefined;
      }));

  const fresh = async () => {
    const stale = !cached || now() - cached.at > ttlMs;
    const mayAsk = !failed || now() - failed.at > retryMs;
    if (stale && mayAsk) await refresh();
  };

  return {
    warm: refresh,
    async list() {
      await fresh();
      if (!cached) return { status: 'unverified', reason: failed?.reason ?? 'no answer yet' };
      const regions = [...cached.regions]
        .filter(([, r]) => !r.deprecated)
        .map(([code, r]) => ({ code, name: r.name }))
        .sort((a, b) => a.code.localeCompare(b.code));
      return { status: 'listed', regions };
    },
    async check(code) {
      await fresh();
      if (!cached) return { status: 'unverified', code, reason: failed?.reason ?? 'no answer yet' };
      const found = cached.regions.get(code);
      if (found) return { status: 'known', code, name: found.name, deprecated: found.deprecated };
      const current = [...cached.regions].filter(([, r]) => !r.deprecated).map(([c]) => c);
      return { status: 'unknown', code, regions: current.sort() };
    },
  };
}
