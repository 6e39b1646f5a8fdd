import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/** `/vyx link @user <vyx-user-id> [admin]`: admins tie a Slack user to a vyx user. */
export async function link(
  ctx: CommandContext,
  args: { slackUserId: string; userId: string; role: 'member' | 'admin' },
): Promise<Outcome> {
  const auth = authorize(ctx.identity, { admin: true, verb: 'link users' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied' };
  }
  await ctx.deps.store.linkIdentity({
    slackTeamId: ctx.teamId,
    slackUserId: args.slackUserId,
    userId: args.userId,
    role: args.role,
    linkedBy: ctx.slackUserId,
  });
  await ctx.reply(`Linked <@${args.slackUserId}> to vyx user \`${args.userId}\` as ${args.role}.`);
  return { outcome: 'ok', detail: `${args.slackUserId} → ${args.userId} (${args.role})` };
}
