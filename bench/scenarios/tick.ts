// tick, memory, growth: one stuck-watcher tick over N stuck rows spread over 20 apps, in a child
// process (its RSS is the bot's own, run with the bot's production V8 flags); the naive per-row
// strategy beside it, in this process.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { gatherEvidence } from '../../src/evidence/gather-evidence.ts';
import { PAGE_ROWS } from '../../src/watchers/stuck-watcher.ts';
import { BOT_NODE_FLAGS, r1, r2, resetDiagnoses, resetTables, type Services, seedStuck } from '../lib.ts';

export const APPS = 20;

/**
 * The sizes a full `npm run bench` runs the tick at: the growth table's points, up to the issue's
 * 100,000 rows (issue #17: memory flat in the number of rows). The naive per-row comparison runs
 * only up to NAIVE_MAX_ROWS (it makes one Fly request per row).
 */
export const FULL_TICK_SIZES = [1_000, 5_000, 10_000, 100_000];
export const NAIVE_MAX_ROWS = 10_000;

export interface ChildResult {
  wallMs: number;
  claimed: number;
  diagnosed: number;
  codes: Record<string, number>;
  flyRequestsReported: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  peakRssMb: number;
  heapUsedMb: number;
  /** From the emulator's counters: every Fly API and registry request of the tick. */
  flyRequests: number;
  flyByRoute: Record<string, number>;
  /** Machine-log requests (the logs endpoint), not in flyRequests. */
  logRequests: number;
}

const CHILD = fileURLToPath(new URL('../tick-child.ts', import.meta.url));

export async function runTickChild(
  svc: Services,
  o: { cpuProfDir?: string; nodeFlags?: string[] } = {},
): Promise<ChildResult> {
  svc.emulator.counters.reset();
  const arg = JSON.stringify({
    supabaseUrl: svc.twin.url,
    serviceKey: svc.twin.serviceKey,
    flyUrl: svc.emulator.baseUrl,
    flyToken: svc.emulator.token,
  });
  const flags = [
    ...BOT_NODE_FLAGS,
    ...(o.nodeFlags ?? []),
    ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []),
  ];
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [...flags, CHILD, arg],
      { timeout: 1_200_000, maxBuffer: 1 << 20, env: { ...process.env, LOG_LEVEL: 'silent' } },
      (err, out, errOut) => (err ? reject(new Error(`tick child: ${err.message}\n${errOut}`)) : resolve(out)),
    );
  });
  const line = stdout.trim().split('\n').at(-1) ?? '{}';
  const byRoute = svc.emulator.counters.snapshot();
  // Machine logs (#16) are another Fly endpoint (api.fly.io) with their own per-tick budget, counted
  // apart: the bound `2 × apps + images` is the Machines API's and the registry's.
  const logRequests = byRoute[LOGS_ROUTE] ?? 0;
  return {
    ...(JSON.parse(line) as ChildResult),
    flyRequests: svc.emulator.counters.total() - logRequests,
    logRequests,
    flyByRoute: byRoute,
  };
}

/**
 * The naive strategy: for each row, ask Fly for its machine (`fly.get`) and the registry for its
 * image, one row after the other. Evidence only; compared with the batched gatherEvidence.
 */
async function naiveEvidence(svc: Services): Promise<{ wallMs: number; requests: number; rows: number }> {
  const { rows } = await svc.twin.backend.query(
    `select fly_app, fly_machine_id, image from cloud_machines where status = 'starting' order by status_changed_at`,
  );
  svc.emulator.counters.reset();
  const t0 = performance.now();
  for (const r of rows) {
    try {
      await svc.fly.get(String(r.fly_app), String(r.fly_machine_id));
    } catch {
      // a missing machine is evidence too
    }
    await svc.registry.checkImage(String(r.image));
  }
  return { wallMs: performance.now() - t0, requests: svc.emulator.counters.total(), rows: rows.length };
}

/** The batched evidence step alone (what the tick does before diagnosing), in this process. */
async function batchedEvidence(svc: Services): Promise<{ wallMs: number; requests: number }> {
  const rows = await svc.store.claimStuck({
    owner: 'bench-evidence',
    olderThanS: 60,
    leaseS: 60,
    limit: 10_000,
  });
  svc.emulator.counters.reset();
  const t0 = performance.now();
  await gatherEvidence(
    rows,
    { fly: svc.fly, registry: svc.registry, defaultApp: 'vyx-bench-00' },
    { now: new Date(), stuckAfterS: 60 },
  );
  const wallMs = performance.now() - t0;
  await svc.store.releaseLeases('bench-evidence');
  return { wallMs, requests: svc.emulator.counters.total() };
}

const LOGS_ROUTE = 'GET /api/v1/apps/:app/logs';

export interface TickSize {
  rows: number;
  apps: number;
  distinct_images: number;
  wall_ms: number;
  fly_requests: number;
  fly_requests_bound: number;
  /** Requests to Fly's logs endpoint (bounded by the tick's log budget), apart from fly_requests. */
  log_requests: number;
  fly_requests_by_route: Record<string, number>;
  rows_claimed: number;
  rows_diagnosed: number;
  codes: Record<string, number>;
  rss_mb: number;
  rss_before_tick_mb: number;
  /** Wall time per row (µs) and peak RSS above the idle bot per row (KB): the growth table's columns. */
  wall_us_per_row: number;
  rss_over_before_mb: number;
  rss_kb_per_row: number;
  /** Stuck rows claimed per SQL call (the tick's page), from the watcher. */
  page_rows: number;
  naive_fly_requests: number;
  naive_wall_ms: number;
  batched_evidence_wall_ms: number;
  batched_evidence_fly_requests: number;
  ratio_requests_naive_over_tick: number;
  ratio_wall_naive_over_batched_evidence: number;
}

export async function tickScenario(
  svc: Services,
  sizes: number[],
  o: { naive: boolean; log: (s: string) => void; cpuProfDir?: string },
): Promise<Record<string, TickSize>> {
  const out: Record<string, TickSize> = {};
  for (const n of sizes) {
    await resetTables(svc);
    await seedStuck(svc, n, APPS);
    const cur = await runTickChild(svc, o.cpuProfDir ? { cpuProfDir: `${o.cpuProfDir}/tick-${n}` } : {});
    o.log(
      `  tick r${n}: ${r1(cur.wallMs)} ms, ${cur.flyRequests} Fly requests (+${cur.logRequests} log requests), ${cur.diagnosed} diagnosed, peak RSS ${r1(cur.peakRssMb)} MB`,
    );
    const size: TickSize = {
      rows: n,
      apps: APPS,
      distinct_images: 1,
      wall_ms: r1(cur.wallMs),
      fly_requests: cur.flyRequests,
      fly_requests_bound: 2 * APPS + 1,
      fly_requests_by_route: cur.flyByRoute,
      log_requests: cur.logRequests,
      rows_claimed: cur.claimed,
      rows_diagnosed: cur.diagnosed,
      codes: cur.codes,
      rss_mb: r1(cur.peakRssMb),
      rss_before_tick_mb: r1(cur.rssBeforeMb),
      wall_us_per_row: r2((cur.wallMs / n) * 1000),
      rss_over_before_mb: r1(cur.peakRssMb - cur.rssBeforeMb),
      rss_kb_per_row: r2(((cur.peakRssMb - cur.rssBeforeMb) * 1024) / n),
      page_rows: PAGE_ROWS,
      naive_fly_requests: 0,
      naive_wall_ms: 0,
      batched_evidence_wall_ms: 0,
      batched_evidence_fly_requests: 0,
      ratio_requests_naive_over_tick: 0,
      ratio_wall_naive_over_batched_evidence: 0,
    };
    if (o.naive && n <= NAIVE_MAX_ROWS) {
      await resetDiagnoses(svc);
      const batched = await batchedEvidence(svc);
      const naive = await naiveEvidence(svc);
      size.naive_fly_requests = naive.requests;
      size.naive_wall_ms = r1(naive.wallMs);
      size.batched_evidence_wall_ms = r1(batched.wallMs);
      size.batched_evidence_fly_requests = batched.requests;
      size.ratio_requests_naive_over_tick = r1(naive.requests / cur.flyRequests);
      size.ratio_wall_naive_over_batched_evidence = r1(naive.wallMs / batched.wallMs);
      o.log(
        `  naive r${n}: ${naive.requests} requests in ${r1(naive.wallMs)} ms; batched evidence ${batched.requests} in ${r1(batched.wallMs)} ms`,
      );
    }
    out[`r${n}`] = size;
  }
  return out;
}
