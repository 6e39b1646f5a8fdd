import { isVyxError } from '../errors/vyx-error.ts';
import type { CommandContext } from './command-context.ts';

/** Long enough for a stop (Fly's default kill timeout is 5 s) and a start; short if we die holding it. */
const LEASE_TTL_S = 60;

/**
 * Runs `change` holding the Fly machine's lease (its nonce passed in), releasing it after. When
 * someone else holds it (another replica, a person with flyctl) nothing runs and `held` names them.
 */
export async function underLease<T>(
  ctx: CommandContext,
  target: { app: string; flyId: string; machineId: string; verb: string },
  change: (nonce: string) => Promise<T>,
): Promise<{ done: T } | { held: string }> {
  const { fly, logger } = ctx.deps;
  let nonce: string;
  try {
    const lease = await fly.acquireLease(target.app, target.flyId, {
      ttlSeconds: LEASE_TTL_S,
      description: `vyxbot ${target.verb} by ${ctx.slackUserId}`,
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
    await fly.releaseLease(target.app, target.flyId, nonce).catch((err: unknown) => {
      if (isVyxError(err, 'FLY_NOT_FOUND')) return;
      logger.warn(
        {
          err: isVyxError(err) ? err.toJSON() : String(err),
          machineId: target.machineId,
          requestId: ctx.requestId,
        },
        'lease release failed',
      );
    });
  }
}
