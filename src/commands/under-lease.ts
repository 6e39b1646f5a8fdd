import { withLease } from '../fly/with-lease.ts';
import type { CommandContext } from './command-context.ts';

/**
 * A person's change to a Fly machine, under its lease (src/fly/with-lease.ts). The lease says what,
 * for whom and on which replica, so whoever is refused meanwhile is told exactly that.
 */
export function underLease<T>(
  ctx: CommandContext,
  target: { app: string; flyId: string; machineId: string; verb: string },
  change: (nonce: string) => Promise<T>,
): Promise<{ done: T } | { held: string }> {
  const on = ctx.deps.owner ? ` on ${ctx.deps.owner}` : '';
  return withLease(
    ctx.deps.fly,
    ctx.deps.logger.child({ machineId: target.machineId, requestId: ctx.requestId }),
    { app: target.app, flyId: target.flyId, description: `vyxbot ${target.verb} by ${ctx.slackUserId}${on}` },
    change,
  );
}
