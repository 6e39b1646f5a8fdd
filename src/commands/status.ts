import { leaseHolderText } from '../fly/lease-calls.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** `/vyx status [machine]`: the machine's card, privately. */
export async function status(ctx: CommandContext, machineId: string | undefined): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'see it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  // Who holds the Fly lease (a change in progress); the card stands without it if Fly cannot say.
  let leaseHolder: string | undefined;
  if (machine.fly_machine_id && machine.status !== 'destroyed') {
    const lease = await ctx.deps.fly
      .getLease(machine.fly_app ?? ctx.deps.config.flyApp, machine.fly_machine_id, { deadlineMs: 3_000 })
      .catch(() => undefined);
    if (lease) leaseHolder = leaseHolderText(lease);
  }
  await ctx.reply(statusCard(machine, ctx.deps.now(), leaseHolder ? { leaseHolder } : {}));
  return { outcome: 'ok', machineId: machine.machine_id };
}
