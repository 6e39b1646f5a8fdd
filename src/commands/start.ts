import { isVyxError, VyxError } from '../errors/vyx-error.ts';
import { resolveImage } from '../provision/resolve-image.ts';
import { diagnosisCard } from '../slack/cards/diagnosis-card.ts';
import { failureText } from '../slack/cards/failure-text.ts';
import { startingCard } from '../slack/cards/starting-card.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import { cannotPostHere, classifySlackError } from '../slack/slack-errors.ts';
import { authorize } from './authorize.ts';
import type { CommandContext, Outcome } from './command-context.ts';
import { openStartDialog } from './start-dialog.ts';

/**
 * `/vyx start [--region R] [--image TAG]`: one active machine per user; a doomed one is refused at
 * preflight. With no options at all, the start dialog opens instead (VYX_START_DIALOG, and only
 * with a trigger_id: without one, e.g. a command relayed by something other than Slack, the
 * defaults are started as before).
 */
export async function start(
  ctx: CommandContext,
  options: { region?: string; image?: string; dialog?: true },
): Promise<Outcome> {
  const auth = authorize(ctx.identity, { verb: 'start machines' });
  if (!auth.ok) {
    await ctx.reply(auth.reason);
    return { outcome: 'denied', detail: 'not linked' };
  }
  if (options.dialog && ctx.deps.config.startDialog && ctx.triggerId)
    return openStartDialog(ctx, ctx.triggerId);
  const { provisioner, now, config, registry } = ctx.deps;
  let image: string | undefined;
  try {
    // The one image parser, before anything is created (the Retry button comes through here too).
    image =
      options.image === undefined
        ? undefined
        : resolveImage(options.image, config.defaultImage, registry.policy);
  } catch (err) {
    if (!isVyxError(err)) throw err;
    await ctx.reply(failureText(err));
    return { outcome: 'invalid', detail: err.code };
  }
  if (options.region !== undefined) {
    const region = await ctx.deps.regions.check(options.region);
    if (region.status === 'unknown') {
      const unknown = new VyxError(
        'REGION_UNKNOWN',
        `Fly has no region \`${region.code}\`; nothing was created.`,
        {
          suggestion: `Pick one of: ${region.regions.join(', ')}.`,
        },
      );
      await ctx.reply(failureText(unknown));
      return { outcome: 'invalid', detail: 'REGION_UNKNOWN' };
    }
    if (region.status === 'unverified') {
      ctx.deps.logger.warn(
        { region: region.code, reason: region.reason },
        'Fly regions unavailable; Fly will judge the region',
      );
    }
  }
  let accepted = '';
  const result = await provisioner.start({
    onAccepted: (id, warning) => {
      accepted = id;
      return ctx.reply(startingCard(id, warning));
    },
    // At once, privately: where the follow-up cannot go, and what to do about it.
    onThreadFailed: (err) =>
      ctx.reply(
        `${cannotPostHere(classifySlackError(err), ctx.channelId)} Machine \`${accepted}\` is starting anyway; \`/vyx status\` shows how it goes, and I will tell you in a direct message.`,
      ),
    userId: auth.identity.user_id,
    slackTeamId: ctx.teamId,
    slackUserId: ctx.slackUserId,
    channel: ctx.channelId,
    requestId: ctx.requestId,
    ...(options.region ? { region: options.region } : {}),
    ...(image ? { image } : {}),
  });
  switch (result.kind) {
    case 'existing':
      await ctx.reply(
        statusCard(result.machine, now(), {
          title: `Your machine ${result.machine.machine_id}`,
          lead: 'You already have a machine (one per person); here it is.',
        }),
      );
      return { outcome: 'ok', machineId: result.machine.machine_id, detail: 'existing' };
    case 'refused':
      await ctx.reply(
        diagnosisCard(result.diagnosis, {
          ...(config.runbookBaseUrl ? { runbookBaseUrl: config.runbookBaseUrl } : {}),
          buttons: [],
        }),
      );
      return { outcome: 'error', detail: `refused at preflight: ${result.diagnosis.code}` };
    case 'started':
      return { outcome: 'ok', machineId: result.machine.machine_id };
    case 'unresolved':
      await ctx.reply(
        `Fly’s answer about machine \`${result.machine.machine_id}\` was lost. I’m finding out whether it was made, and I’ll say so in its thread.`,
      );
      return { outcome: 'error', machineId: result.machine.machine_id, detail: 'create unresolved' };
    case 'failed':
      await ctx.reply(
        `Machine \`${result.machine.machine_id}\` failed to start (${result.diagnosis.code}); the diagnosis is in its thread.`,
      );
      return { outcome: 'error', machineId: result.machine.machine_id, detail: result.diagnosis.code };
  }
}
