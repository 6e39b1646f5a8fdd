import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';

/** `/vyx notify on|off`: whether a failure of your machine also comes to you as a direct message. */
export async function notify(ctx: CommandContext, on: boolean): Promise<Outcome> {
  const linked = authorize(ctx.identity, { verb: 'change your notifications' });
  if (!linked.ok) {
    await ctx.reply(linked.reason);
    return { outcome: 'denied', detail: 'not linked' };
  }
  await ctx.deps.store.setFailureDm(ctx.teamId, ctx.slackUserId, on);
  await ctx.reply(
    on
      ? 'When your machine fails, I will also tell you in a direct message.'
      : 'No more direct messages when your machine fails; the thread and alert channel still say it. `/vyx notify on` turns them back on.',
  );
  return { outcome: 'ok', detail: on ? 'on' : 'off' };
}
