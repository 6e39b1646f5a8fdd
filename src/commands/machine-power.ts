import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';
import { underLease } from './under-lease.ts';

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
  const { fly, config } = ctx.deps;
  const app = machine.fly_app ?? config.flyApp;
  const result = await underLease(ctx, { app, flyId, machineId: id, verb }, async (leaseNonce) => {
    await fly.stop(app, flyId, { leaseNonce });
    await fly.wait(app, flyId, { state: 'stopped', timeoutMs: STOPPED_WITHIN_MS });
    if (verb === 'restart') await fly.start(app, flyId, { leaseNonce });
  });
  if ('held' in result) {
    await ctx.reply(
      `Not ${verb === 'stop' ? 'stopping' : 'restarting'} \`${id}\`: its Fly lease is held by ${result.held}. Try again when that change is done.`,
    );
    return { outcome: 'invalid', machineId: id, detail: `lease held by ${result.held}` };
  }
  await ctx.reply(
    verb === 'restart'
      ? `Machine \`${id}\` restarted (stopped, then started on Fly).`
      : `Machine \`${id}\` stopped. \`/vyx restart ${id}\` starts it again.`,
  );
  return { outcome: 'ok', machineId: id };
}
