import { MACHINE_EXIT_CODES as EXIT_CODES } from '../src/contract/machine-exit-codes.ts';
import { isVyxError } from '../src/errors/vyx-error.ts';

/** How the runtime treats a failed store call. */
export type StoreFailureKind =
  /** Network error, timeout, 5xx, database down: retried with backoff, forever if need be. */
  | 'transient'
  /** No row matched (SQL P0001): retried a few times (the bot may not have written the row yet), then fatal. */
  | 'not-found'
  /** The key was refused: retried a few times, then fatal. */
  | 'unauthorized'
  /** The store refused the call (row destroyed, invalid value): fatal at once. */
  | 'refused'
  /** Anything else (a bug, a database without the migrations): fatal at once. */
  | 'internal';

export function classifyStoreError(err: unknown): StoreFailureKind {
  if (!isVyxError(err)) return 'internal';
  const httpStatus = typeof err.details.httpStatus === 'number' ? err.details.httpStatus : undefined;
  switch (err.code) {
    case 'STORE_UNAVAILABLE':
      return 'transient';
    case 'STORE_NOT_FOUND':
      return 'not-found';
    case 'STORE_UNAUTHORIZED':
      return 'unauthorized';
    case 'STORE_CONFLICT':
    case 'STORE_INVALID':
      return 'refused';
    case 'STORE_FAILED':
      return httpStatus !== undefined && httpStatus >= 500 ? 'transient' : 'internal';
    default:
      return 'internal';
  }
}

export function exitCodeFor(kind: StoreFailureKind): number {
  switch (kind) {
    case 'not-found':
      return EXIT_CODES.machineNotFound;
    case 'unauthorized':
      return EXIT_CODES.keyRefused;
    case 'refused':
      return EXIT_CODES.reportRefused;
    default:
      return EXIT_CODES.internal;
  }
}

export interface RetryPolicy {
  /** First delay after a transient failure; doubles each time, up to maxDelayMs, with jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Attempts in all for not-found/unauthorized answers before giving up. */
  boundedAttempts: number;
  /** First delay between those attempts (doubles, jittered). */
  boundedBaseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  boundedAttempts: 4,
  boundedBaseDelayMs: 1_000,
};

/**
 * Exponential backoff with "equal jitter": after the n-th failure (n ≥ 1) the delay is
 * d = min(max, base·2^(n-1)), of which half is fixed and half random, so it lies in [d/2, d].
 */
export function backoffDelayMs(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** A store call that will not succeed: what failed, why, and the exit code it warrants. */
export class StoreCallFailure extends Error {
  override readonly name = 'StoreCallFailure';
  readonly kind: StoreFailureKind;
  readonly exitCode: number;
  readonly attempts: number;

  constructor(what: string, kind: StoreFailureKind, attempts: number, cause: unknown) {
    const reason = isVyxError(cause)
      ? cause.toLine()
      : cause instanceof Error
        ? cause.message
        : String(cause);
    super(`${what} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${reason}`, { cause });
    this.kind = kind;
    this.exitCode = exitCodeFor(kind);
    this.attempts = attempts;
  }
}

export interface RetryDeps {
  sleep(ms: number): Promise<void>;
  random(): number;
  policy: RetryPolicy;
  /** Called before each wait, for a log line. */
  onRetry?(info: { kind: StoreFailureKind; attempt: number; delayMs: number; error: unknown }): void;
}

/**
 * Calls `fn` until it succeeds: transient failures are retried forever with backoff and jitter,
 * not-found/unauthorized ones `policy.boundedAttempts` times in all, anything else not at all.
 * Throws StoreCallFailure.
 */
export async function callWithRetries<T>(what: string, fn: () => Promise<T>, deps: RetryDeps): Promise<T> {
  let attempts = 0;
  let transient = 0;
  let bounded = 0;
  for (;;) {
    attempts++;
    try {
      return await fn();
    } catch (err) {
      const kind = classifyStoreError(err);
      let delayMs: number;
      if (kind === 'transient') {
        transient++;
        delayMs = backoffDelayMs(transient, deps.policy.baseDelayMs, deps.policy.maxDelayMs, deps.random);
      } else if (kind === 'not-found' || kind === 'unauthorized') {
        bounded++;
        if (bounded >= deps.policy.boundedAttempts) throw new StoreCallFailure(what, kind, attempts, err);
        delayMs = backoffDelayMs(
          bounded,
          deps.policy.boundedBaseDelayMs,
          deps.policy.maxDelayMs,
          deps.random,
        );
      } else {
        throw new StoreCallFailure(what, kind, attempts, err);
      }
      deps.onRetry?.({ kind, attempt: attempts, delayMs, error: err });
      await deps.sleep(delayMs);
    }
  }
}
