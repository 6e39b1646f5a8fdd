import { isVyxError } from '../errors/vyx-error.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/**
 * The machine a command is about: the one named, else the asker's active one, else their newest.
 * Null after telling the asker why there is none.
 */
export async function findMachine(
  ctx: CommandContext,
  machineId: string | undefined,
): Promise<CloudMachine | null> {
  const { store } = ctx.deps;
  if (machineId) {
    try {
      return await store.getMachine(machineId);
    } catch (err) {
      if (isVyxError(err, 'STORE_NOT_FOUND')) {
        await ctx.reply(`There is no machine \`${machineId}\`. \`/vyx list\` shows yours.`);
        return null;
      }
      throw err;
    }
  }
  const userId = ctx.identity?.user_id;
  if (!userId) return null;
  const mine = (await store.getActiveMachine(userId)) ?? (await store.listMachines({ userId, limit: 1 }))[0];
  if (!mine) await ctx.reply('You have no machine yet. `/vyx start` starts one.');
  return mine ?? null;
}

/**
 * The machine a command acts on, if the asker may: linked (else told so), the machine found (else
 * told why), and theirs unless they are an admin. Otherwise the outcome to audit, already answered.
 */
export async function machineInReach(
  ctx: CommandContext,
  machineId: string | undefined,
  verb: string,
): Promise<{ machine: CloudMachine } | { outcome: Outcome }> {
  const linked = authorize(ctx.identity, { verb });
  if (!linked.ok) {
    await ctx.reply(linked.reason);
    return { outcome: { outcome: 'denied', detail: 'not linked' } };
  }
  const machine = await findMachine(ctx, machineId);
  if (!machine) return { outcome: { outcome: 'invalid', detail: 'no machine' } };
  const auth = authorize(ctx.identity, { machine, verb });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: { outcome: 'denied', machineId: machine.machine_id } };
  }
  return { machine };
}
