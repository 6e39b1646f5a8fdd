import { type ExitEvent, ExitEventSchema, type Machine } from '../fly/fly-types.ts';
import type { DiagnosisInput, Evidence } from './diagnosis.ts';
import { fact, formatDuration } from './evidence.ts';

/** One `exit` event of a machine, as Fly listed it. */
export interface ExitRecord {
  at: number;
  exit: ExitEvent;
  restartCount: number | undefined;
}

/** The machine's exit events, newest first (Fly lists events newest first). */
export function exitsOf(machine: Pick<Machine, 'events'>): ExitRecord[] {
  const out: ExitRecord[] = [];
  for (const e of machine.events) {
    if (e.type !== 'exit' || !e.request) continue;
    const request = e.request as Record<string, unknown>;
    const raw =
      request.exit_event ?? (request.MonitorEvent as { exit_event?: unknown } | undefined)?.exit_event;
    const parsed = ExitEventSchema.safeParse(raw);
    if (!parsed.success) continue;
    out.push({
      at: e.timestamp,
      exit: parsed.data,
      restartCount: typeof request.restart_count === 'number' ? request.restart_count : undefined,
    });
  }
  return out;
}

/**
 * How often Fly restarted the machine after an exit nobody asked for, and over how long: the
 * newest exit's restart_count, else the exits marked `restarting`. Zero for a machine that never
 * restarted.
 */
export function restartsOf(machine: Pick<Machine, 'events'>): { count: number; overS: number } {
  const exits = exitsOf(machine).filter((x) => !x.exit.requested_stop);
  if (exits.length === 0) return { count: 0, overS: 0 };
  const restarting = exits.filter((x) => x.exit.restarting).length;
  const count = Math.max(exits[0]!.restartCount ?? 0, restarting);
  const overS = Math.round((exits[0]!.at - exits.at(-1)!.at) / 1000);
  return { count, overS };
}

/** An exit in words: `exit 137 (SIGKILL, not requested)`. */
export function describeExit(exit: ExitEvent): string {
  const signal =
    exit.signal !== undefined && exit.signal !== null && exit.signal > 0 ? exit.signal : undefined;
  const killed = signal === 9 || exit.exit_code === 137;
  const parts = [
    ...(killed ? ['SIGKILL'] : signal ? [`signal ${signal}`] : []),
    ...(exit.oom_killed ? ['OOM-killed'] : []),
    exit.requested_stop ? 'requested' : 'not requested',
  ];
  return `exit ${exit.exit_code ?? '?'} (${parts.join(', ')})`;
}

/** Evidence of a restart loop: the count and the newest exit events. Empty for a machine that never restarted. */
export function restartEvidence(input: DiagnosisInput, machine: Machine): Evidence[] {
  const { count, overS } = restartsOf(machine);
  if (count === 0) return [];
  const exits = exitsOf(machine)
    .slice(0, 5)
    .map((x) => `${new Date(x.at).toISOString().slice(11, 19)} ${describeExit(x.exit)}`);
  return [
    fact(
      input,
      'restarts',
      `restarted ${count}× in ${formatDuration(overS)} (restart policy ${machine.config?.restart?.policy ?? 'on-failure (Fly’s default)'})`,
      'fly',
    ),
    fact(input, 'exit events', exits.join('; '), 'fly'),
  ];
}

/** Fewest restarts that make a loop (flyctl's own line: restart_count > 1). */
export const CRASH_LOOP_RESTARTS = 2;

/** A loop whose newest exit is older than this is over (the machine has run since, or Fly gave up long ago). */
export const CRASH_LOOP_RECENT_S = 600;

/**
 * Fly keeps restarting the machine after exits nobody asked for (flyctl's `isConstantlyRestarting`):
 * the newest exit is recent, non-zero and unrequested, and it has restarted at least
 * CRASH_LOOP_RESTARTS times.
 */
export function crashLooping(machine: Pick<Machine, 'events' | 'state'>, now: Date): boolean {
  if (machine.state === 'destroyed') return false;
  const newest = exitsOf(machine)[0];
  if (!newest || newest.exit.requested_stop || !newest.exit.exit_code) return false;
  if (now.getTime() - newest.at > CRASH_LOOP_RECENT_S * 1000) return false;
  return restartsOf(machine).count >= CRASH_LOOP_RESTARTS;
}
