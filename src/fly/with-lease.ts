import { errorFields } from '../errors/error-line.ts';
import { isVyxError } from '../errors/vyx-error.ts';
import type { Logger } from '../logger.ts';
import type { LeaseCalls } from './lease-calls.ts';

/** Long enough for a stop (Fly's default kill timeout is 5 s) and a start; short if we die holding it. */
export const LEASE_TTL_S = 60;

export interface LeaseTarget {
  app: string;
  flyId: string;
  /** What the lease is for and who took it, as the holder text shows it to someone refused. */
  description: string;
  /** Deadline of each lease call (shutdown has only seconds). */
  deadlineMs?: number;
}

/**
 * Runs `change` holding the Fly machine's lease (its nonce passed in), releasing it after. When
 * someone else holds it (another replica, a person with flyctl) nothing runs and `held` names them.
 * Every change vyxbot makes to a machine goes through here: commands, buttons and cleanups alike.
 */
export async function withLease<T>(
  fly: Pick<LeaseCalls, 'acquireLease' | 'releaseLease'>,
  logger: Pick<Logger, 'warn'>,
  target: LeaseTarget,
  change: (nonce: string) => Promise<T>,
): Promise<{ done: T } | { held: string }> {
  const call = target.deadlineMs === undefined ? {} : { deadlineMs: target.deadlineMs };
  let nonce: string;
  try {
    const lease = await fly.acquireLease(target.app, target.flyId, {
      ...call,
      ttlSeconds: LEASE_TTL_S,
      description: target.description,
    });
    nonce = lease.nonce;
  } catch (err) {
    if (!isVyxError(err, 'FLY_LEASE_HELD')) throw err;
    return { held: String(err.details?.holder ?? 'someone else') };
  }
  try {
    return { done: await change(nonce) };
  } finally {
    // Released whatever happened (a destroyed machine has none left); else it expires after its TTL.
    await fly.releaseLease(target.app, target.flyId, nonce, call).catch((err: unknown) => {
      if (isVyxError(err, 'FLY_NOT_FOUND')) return;
      logger.warn({ err: errorFields(err), flyMachineId: target.flyId }, 'lease release failed');
    });
  }
}
