import { isVyxError } from '../errors/vyx-error.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** Long enough for a stop (Fly's default kill timeout is 5 s) and a start; short if we die holding it. */
const LEASE_TTL_S = 60;
const STOPPED_WITHIN_MS = 30_000;

export type PowerVerb = 'stop' | 'restart';

/**
 * `/vyx stop|restart [machine]` and the Stop/Restart buttons. Every change to the Fly machine runs
 * under a Fly lease (nonce, short TTL): another replica, or a person with flyctl, holding one
 * means this one is refused and the asker is told who holds it. The row follows from the
 * machine's runtime, which reports `stopped` and `running` itself.
 */
export async function machinePower(
  ctx: CommandContext,
  verb: PowerVerb,
  machineId: string | undefined,
): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, `${verb} it`);
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  const id = machine.machine_id;
  if (machine.status === 'destroyed') {
    await ctx.reply(`Machine \`${id}\` is destroyed; \`/vyx start\` makes a new one.`);
    return { outcome: 'invalid', machineId: id, detail: 'destroyed' };
  }
  const flyId = machine.fly_machine_id;
  if (!flyId) {
    await ctx.reply(
      `Machine \`${id}\` has no Fly machine recorded yet, so there is nothing to ${verb}. \`/vyx diagnose ${id}\` looks for it.`,
    );
    return { outcome: 'invalid', machineId: id, detail: 'no fly machine id' };
  }
  const { fly, config, logger } = ctx.deps;
  const app = machine.fly_app ?? config.flyApp;
  let nonce: string;
  try {
    const lease = await fly.acquireLease(app, flyId, {
      ttlSeconds: LEASE_TTL_S,
      description: `vyxbot ${verb} by ${ctx.slackUserId}`,
    });
    nonce = lease.nonce;
  } catch (err) {
    if (!isVyxError(err, 'FLY_LEASE_HELD')) throw err;
    const holder = String(err.details?.holder ?? 'someone else');
    await ctx.reply(
      `Not ${verb === 'stop' ? 'stopping' : 'restarting'} \`${id}\`: its Fly lease is held by ${holder}. Try again when that change is done.`,
    );
    return { outcome: 'invalid', machineId: id, detail: `lease held by ${holder}` };
  }
  try {
    await fly.stop(app, flyId, { leaseNonce: nonce });
    await fly.wait(app, flyId, { state: 'stopped', timeoutMs: STOPPED_WITHIN_MS });
    if (verb === 'restart') await fly.start(app, flyId, { leaseNonce: nonce });
  } finally {
    // Released whatever happened; if this fails the lease still expires after its TTL.
    await fly
      .releaseLease(app, flyId, nonce)
      .catch((err: unknown) =>
        logger.warn(
          { err: isVyxError(err) ? err.toJSON() : String(err), machineId: id, requestId: ctx.requestId },
          'lease release failed',
        ),
      );
  }
  await ctx.reply(
    verb === 'restart'
      ? `Machine \`${id}\` restarted (stopped, then started on Fly).`
      : `Machine \`${id}\` stopped. \`/vyx restart ${id}\` starts it again.`,
  );
  return { outcome: 'ok', machineId: id };
}
