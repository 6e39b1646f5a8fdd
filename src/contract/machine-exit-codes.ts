/**
 * The exit codes of the machine runtime (`runtime/`), sysexits.h where one fits. Fly records each
 * in the machine's exit event, where the watcher reads it: this file is the contract between the
 * two. A workload's own exit code is passed through unchanged (128 + N for signal N).
 */
export const MACHINE_EXIT_CODES = {
  /** Stopped on request (SIGTERM/SIGINT) with `stopped` recorded, or the workload exited 0. */
  ok: 0,
  /** EX_DATAERR: the store refused a report (the row is destroyed, or a value was rejected). */
  reportRefused: 65,
  /** EX_NOUSER: no cloud_machines row for MACHINE_ID (or for FLY_MACHINE_ID without MACHINE_ID). */
  machineNotFound: 67,
  /** EX_SOFTWARE: an unexpected internal error. */
  internal: 70,
  /** EX_TEMPFAIL: asked to stop, but `stopped` could not be recorded before the stop deadline. */
  stopUnrecorded: 75,
  /** EX_NOPERM: the store refused the machine's credential (SUPABASE_MACHINE_TOKEN or SUPABASE_SERVICE_KEY). */
  keyRefused: 77,
  /** EX_CONFIG: the environment is invalid (one log line names every problem). */
  config: 78,
} as const;

/** The exit code for a process killed by a signal, as a shell reports it (128 + signal number). */
export function signalExitCode(signalNumber: number): number {
  return 128 + signalNumber;
}

/** What a runtime exit code means, in words (for a diagnosis's evidence). */
export function describeMachineExitCode(code: number): string {
  switch (code) {
    case MACHINE_EXIT_CODES.ok:
      return 'stopped cleanly';
    case MACHINE_EXIT_CODES.reportRefused:
      return 'the database refused its status report (row destroyed or value rejected)';
    case MACHINE_EXIT_CODES.machineNotFound:
      return 'no cloud_machines row for its MACHINE_ID (or FLY_MACHINE_ID)';
    case MACHINE_EXIT_CODES.internal:
      return 'the runtime crashed';
    case MACHINE_EXIT_CODES.stopUnrecorded:
      return 'stopped, but could not record it before the stop deadline';
    case MACHINE_EXIT_CODES.keyRefused:
      return "the database refused the machine's credential (SUPABASE_MACHINE_TOKEN or SUPABASE_SERVICE_KEY)";
    case MACHINE_EXIT_CODES.config:
      return 'invalid environment (see the machine log line naming the variables)';
    default:
      return code > 128 && code < 160
        ? `the workload was killed by signal ${code - 128}`
        : `the workload exited with code ${code}`;
  }
}
