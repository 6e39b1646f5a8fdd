/**
 * What the exit of a machine's process means, as Fly reports it: the `exit` event with its
 * exit_event, and whether the restart policy brings the machine back (`no`, `always`,
 * `on-failure` with max_retries; on-failure is the default), after a backoff that doubles.
 */
import { type ProcessExit, signalNumber } from './machine-process.ts';
import type { MachineRecord, StoredEvent } from './machine-store.ts';

type NewEvent = Omit<StoredEvent, 'id' | 'timestamp'>;

export interface MachineExit {
  event: NewEvent;
  /** Set when the machine restarts: how long until it boots again. */
  restartDelayMs: number | undefined;
}

/** Reads `record.restartCount` as it was before this exit (the caller counts the restart). */
export function machineExit(
  record: MachineRecord,
  exit: ProcessExit,
  context: { requested: boolean; closing: boolean; exitedAt: number; restartBackoffMs: number },
): MachineExit {
  const { requested, closing } = context;
  const signalled = exit.signal !== null;
  const exitCode = exit.code ?? (signalled ? 128 + Math.max(0, signalNumber(exit.signal)) : 0);
  const restart = (record.config.restart ?? {}) as { policy?: string; max_retries?: number };
  const policy = restart.policy === 'no' || restart.policy === 'always' ? restart.policy : 'on-failure';
  const maxRetries = restart.max_retries ?? 10;
  const restarting =
    !requested &&
    !closing &&
    (policy === 'always' || (policy === 'on-failure' && exitCode !== 0 && record.restartCount < maxRetries));
  const event: NewEvent = {
    type: 'exit',
    status: 'stopped',
    source: 'flyd',
    request: {
      exit_event: {
        exit_code: exitCode,
        guest_exit_code: exit.code ?? 0,
        guest_signal: signalNumber(exit.signal),
        // A SIGKILL nobody asked for is how the kernel's OOM killer looks from outside.
        oom_killed: exit.signal === 'SIGKILL' && !requested,
        requested_stop: requested,
        restarting,
        signal: signalNumber(exit.signal),
        exited_at: context.exitedAt,
      },
      restart_count: record.restartCount,
    },
  };
  const restartDelayMs = restarting
    ? Math.min(2_000, context.restartBackoffMs * 2 ** record.restartCount)
    : undefined;
  return { event, restartDelayMs };
}

/** A started bulk machine has no process: stopping it is a requested exit with code 0. */
export function bulkStopEvent(record: MachineRecord, exitedAt: number): NewEvent {
  return {
    type: 'exit',
    status: 'stopped',
    source: 'flyd',
    request: {
      exit_event: {
        exit_code: 0,
        oom_killed: false,
        requested_stop: true,
        restarting: false,
        exited_at: exitedAt,
      },
      restart_count: record.restartCount,
    },
  };
}
