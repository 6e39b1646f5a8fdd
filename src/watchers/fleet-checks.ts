import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { crashLooping } from '../diagnose/restart-history.ts';
import { mayBeOrphan, orphanMachine } from '../diagnose/rules/orphan-machine.ts';
import type { Machine } from '../fly/fly-types.ts';
import type { VyxStore } from '../store/vyx-store.ts';

/** What the stuck watcher's checks of an app's whole machine list record with. */
export interface FleetCheckDeps {
  store: Pick<VyxStore, 'knownFlyIds' | 'findMachine'>;
  stuckAfterS: number;
  record(
    found: { machineId: string; d: Diagnosis }[],
    markFailed: boolean,
  ): Promise<
    { machine_id: string; code: string; notice: 'diagnosis' | 'reminder' | null; marked_failed: boolean }[]
  >;
  /** Adds log lines to at most `limit` diagnoses; returns the requests made. */
  attachLogs(found: { d: Diagnosis; input: DiagnosisInput }[], now: Date, limit: number): Promise<number>;
}

/** The ids of an app's machines Fly keeps restarting (few: these are kept while its rows are paged). */
export function crashLoopingIds(machines: Machine[], now: Date): Set<string> {
  return new Set(machines.filter((m) => crashLooping(m, now)).map((m) => m.id));
}

/** Machines of one app that no row points at (vyxbot's metadata, old enough): one diagnosis each. */
export async function orphansOf(
  app: string,
  machines: Machine[],
  now: Date,
  deps: FleetCheckDeps,
): Promise<number> {
  const oldEnough = now.getTime() - deps.stuckAfterS * 1000;
  const candidates = machines.filter((m) => mayBeOrphan(m) && Date.parse(m.created_at ?? '') <= oldEnough);
  if (candidates.length === 0) return 0;
  const known = new Set(await deps.store.knownFlyIds(candidates.map((m) => m.id)));
  const orphans: { machineId: string; d: Diagnosis }[] = [];
  for (const m of candidates) {
    if (!known.has(m.id))
      orphans.push({ machineId: `fly:${m.id}`, d: orphanMachine({ machine: m, app, now })! });
  }
  return (await deps.record(orphans, true)).length;
}

/**
 * Machines Fly keeps restarting (a crash loop) are diagnosed whatever their row says — the row
 * flips running/failed with each restart, so it is never `starting` for long. `looping` holds
 * those whose row was not among the tick's stuck rows. One diagnosis per row and code (dedup in
 * the database); the row is not marked failed: Fly is still restarting it.
 */
export async function crashLoopsOf(
  machines: Machine[],
  looping: Set<string>,
  now: Date,
  budget: { loops: number },
  deps: FleetCheckDeps,
): Promise<
  { machineId: string; code: string; notice: 'diagnosis' | 'reminder' | null; markedFailed: boolean }[]
> {
  const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
  for (const machine of machines) {
    if (!looping.has(machine.id)) continue;
    const row = await deps.store.findMachine({ flyMachineId: machine.id });
    if (!row || row.status === 'destroyed') continue;
    const input: DiagnosisInput = {
      row,
      machine,
      matchedBy: 'fly_machine_id',
      now,
      stuckAfterS: deps.stuckAfterS,
    };
    const d = diagnose(input);
    if (d.code !== 'UNKNOWN') found.push({ machineId: row.machine_id, d, input });
  }
  // Taken from the budget before the requests go out: other apps' checks run meanwhile.
  const allowed = budget.loops;
  budget.loops = 0;
  budget.loops += allowed - (await deps.attachLogs(found, now, allowed));
  const recorded = await deps.record(found, false);
  return recorded.map((r) => ({
    machineId: r.machine_id,
    code: r.code,
    notice: r.notice,
    markedFailed: r.marked_failed,
  }));
}
