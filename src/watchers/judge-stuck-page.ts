import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { type AppMachines, inputsForApp } from '../evidence/gather-evidence.ts';
import { attachLogEvidence } from '../evidence/log-evidence.ts';
import type { StuckRow } from '../store/store-schemas.ts';
import { recordInChunks } from './record-in-chunks.ts';
import type { TickState } from './tick-report.ts';
import type { WatcherDeps } from './watcher-deps.ts';

/** What a page is judged and recorded with: the watcher's collaborators and its two thresholds. */
export type PageDeps = Pick<WatcherDeps, 'store' | 'metrics' | 'logs' | 'secretValues' | 'defaultApp'> & {
  stuckAfterS: number;
  renotifyAfterS: number;
};

/**
 * One page of one app's claimed rows: evidence, diagnosis, the logs some want, the record (which
 * gives the page's leases back in the same call; `release.done` says it did).
 */
export async function judgeStuckPage(
  rows: StuckRow[],
  listed: AppMachines,
  looping: Set<string>,
  tick: TickState,
  release: { owner: string; machineIds: string[]; done: boolean },
  deps: PageDeps,
): Promise<void> {
  const { now, report } = tick;
  deps.metrics?.watcherRows.inc({ watcher: 'stuck' }, rows.length);
  report.claimed += rows.length;
  for (const r of rows) if (r.fly_machine_id) looping.delete(r.fly_machine_id);
  const inputs = await inputsForApp(rows, listed, tick.images, {
    now,
    stuckAfterS: deps.stuckAfterS,
  });
  const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
  for (const input of inputs) {
    if (tick.writes) input.unmatchedWrites = tick.writes;
    const d = diagnose(input);
    // Fly is still bringing it up (under its own five-minute line): nothing to say yet.
    if (d.code === 'UNKNOWN' && ['created', 'starting'].includes(input.machine?.state ?? '')) continue;
    found.push({ machineId: input.row.machine_id, d, input });
  }
  // Taken from the budget before the requests go out: pages of other apps run meanwhile.
  const allowed = tick.logBudget.rows;
  tick.logBudget.rows = 0;
  const logs = await attachLogs(found, now, allowed, deps);
  tick.logBudget.rows += allowed - logs;
  report.logRequests += logs;
  const recorded = await recordFound(found, true, deps, release);
  release.done = true;
  for (const r of recorded) {
    report.diagnosed.push({
      machineId: r.machine_id,
      code: r.code,
      notice: r.notice,
      markedFailed: r.marked_failed,
    });
  }
}

/** The machines' last log lines on the diagnoses that want them (bounded per tick). */
export async function attachLogs(
  found: { d: Diagnosis; input: DiagnosisInput }[],
  now: Date,
  limit: number,
  deps: PageDeps,
): Promise<number> {
  if (!deps.logs || limit <= 0) return 0;
  const { requests } = await attachLogEvidence(
    found,
    {
      logs: deps.logs,
      defaultApp: deps.defaultApp,
      ...(deps.secretValues ? { secretValues: deps.secretValues() } : {}),
    },
    { now, limit },
  );
  return requests;
}

/** Diagnoses recorded in chunks; a certain one fails its row when `markFailed`. */
export function recordFound(
  found: { machineId: string; d: Diagnosis }[],
  markFailed: boolean,
  deps: PageDeps,
  release?: { owner: string; machineIds: string[] },
) {
  return recordInChunks(found, {
    store: deps.store,
    renotifyAfterS: deps.renotifyAfterS,
    markFailed,
    ...(release ? { release: { owner: release.owner, machineIds: release.machineIds } } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
}
