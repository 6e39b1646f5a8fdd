import { isVyxError } from '../errors/vyx-error.ts';
import type { Logger } from '../logger.ts';
import type { FlyMachinesClient } from './machines-client.ts';
import { type LeaseTarget, withLease } from './with-lease.ts';

/**
 * Force-destroys a Fly machine under its lease. `destroyed`: it is gone (already gone counts: that
 * is what was wanted); `held`: someone else holds its lease, so nothing was done and they are named.
 * Any other failure throws.
 */
export async function destroyUnderLease(
  fly: Pick<FlyMachinesClient, 'acquireLease' | 'releaseLease' | 'destroy'>,
  logger: Pick<Logger, 'warn'>,
  target: LeaseTarget,
): Promise<{ destroyed: true } | { held: string }> {
  const call = target.deadlineMs === undefined ? {} : { deadlineMs: target.deadlineMs };
  try {
    const result = await withLease(fly, logger, target, (leaseNonce) =>
      fly.destroy(target.app, target.flyId, { ...call, force: true, leaseNonce }),
    );
    return 'held' in result ? result : { destroyed: true };
  } catch (err) {
    if (isVyxError(err, 'FLY_NOT_FOUND')) return { destroyed: true };
    throw err;
  }
}
