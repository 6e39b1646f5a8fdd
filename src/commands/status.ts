import { statusCard } from '../slack/cards/status-card.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** `/vyx status [machine]`: the machine's card, privately. */
export async function status(ctx: CommandContext, machineId: string | undefined): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'see it');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  await ctx.reply(statusCard(machine, ctx.deps.now()));
  return { outcome: 'ok', machineId: machine.machine_id };
}
