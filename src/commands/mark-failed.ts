import type { CommandContext, Outcome } from './command-context.ts';
import { machineInReach } from './find-machine.ts';

/** Statuses a row can be closed from: it has not ended yet. */
const OPEN = new Set(['starting', 'running', 'stopping', 'stopped']);

/**
 * `/vyx fail <machine> [CODE]`: closes a row as `failed` where a runbook says to (the Fly machine
 * was destroyed by hand, or the host cannot be reached), which frees its owner to `/vyx start`.
 * Only the row changes; the detail says who closed it and why.
 */
export async function markFailed(
  ctx: CommandContext,
  machineId: string,
  reason: string | undefined,
): Promise<Outcome> {
  const found = await machineInReach(ctx, machineId, 'mark it failed');
  if ('outcome' in found) return found.outcome;
  const { machine } = found;
  if (!OPEN.has(machine.status)) {
    await ctx.reply(`Machine \`${machineId}\` is already ${machine.status}; nothing to close.`);
    return { outcome: 'invalid', machineId, detail: `already ${machine.status}` };
  }
  const detail = `${reason ?? 'marked failed'} by <@${ctx.slackUserId}>`;
  await ctx.deps.store.reportStatus(machineId, 'failed', detail);
  await ctx.reply(
    `Machine \`${machineId}\` is marked failed (${reason ?? 'no code given'}). \`/vyx start\` starts a new one.`,
  );
  return { outcome: 'ok', machineId, detail };
}
