/** A machine's captured output, one entry a line, stamped the way Fly's logs endpoint pages it. */

/** One captured line, as the logs endpoint serves it. */
export interface LogEntry {
  /** Milliseconds since the epoch (the emulator's clock). */
  at: number;
  /** Nanosecond Unix time, unique and increasing: Fly's `next_token` cursor. */
  ns: bigint;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Lines kept per machine: Fly keeps days of them, the emulator only the newest (bounded memory). */
export const LOG_LINES_KEPT = 500;

/**
 * Makes entries whose `ns` never repeats or goes back, even for lines within one millisecond,
 * so `next_token` paging neither skips nor repeats a line. One per emulator: the cursor spans machines.
 */
export function logEntryMaker(now: () => number): (stream: LogEntry['stream'], line: string) => LogEntry {
  let lastNs = 0n;
  return (stream, line) => {
    const at = now();
    const ns = BigInt(at) * 1_000_000n;
    lastNs = ns > lastNs ? ns : lastNs + 1n;
    return { at, ns: lastNs, stream, line };
  };
}
