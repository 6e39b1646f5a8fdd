import { isVyxError } from '../errors/vyx-error.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
import type { CommandContext } from './command-context.ts';

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
