/**
 * Message timestamps as Slack makes them: `"<10-digit seconds>.<6 digits>"`, unique and strictly
 * increasing within a workspace (two messages in the same microsecond get consecutive values).
 */
export interface SlackTsClock {
  next(): string;
}

export function createSlackTsClock(now: () => number = Date.now): SlackTsClock {
  let last = 0n;
  return {
    next() {
      let micros = BigInt(Math.floor(now())) * 1000n;
      if (micros <= last) micros = last + 1n;
      last = micros;
      return formatTs(micros);
    },
  };
}

export function formatTs(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = micros % 1_000_000n;
  return `${seconds.toString().padStart(10, '0')}.${fraction.toString().padStart(6, '0')}`;
}

/** Milliseconds since the epoch of a Slack ts (for display). */
export function tsToMillis(ts: string): number {
  return Math.floor(Number(ts) * 1000);
}

export function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(BigInt(as) - BigInt(bs)) || Number(BigInt(af.padEnd(6, '0')) - BigInt(bf.padEnd(6, '0')));
}
