import { statusCard } from '../slack/cards/status-card.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { findMachine } from './find-machine.ts';

/** `/vyx status [machine]`: the machine's card, privately. */
export async function status(ctx: CommandContext, machineId: string | undefined): Promise<Outcome> {
  const first = authorize(ctx.identity, { verb: 'see machines' });
  if (!first.ok) {
    await ctx.reply(first.reason);
    return { outcome: 'denied', detail: 'not linked' };
  }
  const machine = await findMachine(ctx, machineId);
  if (!machine) return { outcome: 'invalid', detail: 'no machine' };
  const auth = authorize(ctx.identity, { machine, verb: 'see it' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied', machineId: machine.machine_id };
  }
  await ctx.reply(statusCard(machine, ctx.deps.now()));
  return { outcome: 'ok', machineId: machine.machine_id };
}
