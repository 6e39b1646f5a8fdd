import { randomUUID } from 'node:crypto';
import type { App } from '@slack/bolt';
import { NOT_LINKED } from '../../commands/authorize.ts';
import type { BotDeps, CommandContext, Outcome } from '../../commands/command-context.ts';
import { audit } from '../../commands/handle-command.ts';
import { start } from '../../commands/start.ts';
import { isVyxError } from '../../errors/vyx-error.ts';
import type { Metrics } from '../../metrics.ts';
import { resolveImage } from '../../provision/resolve-image.ts';
import { clip } from '../../slack/cards/card-parts.ts';
import { failureText } from '../../slack/cards/failure-text.ts';
import type { Card } from '../../slack/cards/status-card.ts';
import { readStartSubmission, START_MODAL } from '../../slack/views/start-modal.ts';
import type { HomeRefresher } from '../../watchers/home-refresher.ts';
import { createDeliveryDedupe } from './delivery-dedupe.ts';
import type { WorkTracker } from './register-handlers.ts';

/** A submission is answered within Slack's 3 s: a region check that takes longer is left to Fly. */
const CHECK_DEADLINE_MS = 2_000;

/** The image tags the dialog offered (the view comes back with the submission, as Slack shows it). */
function offeredTags(view: { blocks?: unknown[] }): Set<string> {
  const block = (view.blocks ?? []).find(
    (b) => (b as { block_id?: string }).block_id === START_MODAL.imageBlock,
  ) as { element?: { options?: { value?: string }[] } } | undefined;
  return new Set((block?.element?.options ?? []).map((o) => String(o.value)));
}

/**
 * The start dialog's answers, checked as `/vyx start --region R --image T` checks them; what is
 * wrong is said under its field (`response_action: errors`), and nothing is created.
 */
async function checkSubmission(
  deps: BotDeps,
  asked: ReturnType<typeof readStartSubmission>,
  offered: Set<string>,
): Promise<Record<string, string>> {
  const errors: Record<string, string> = {};
  const { regionBlock, imageBlock } = START_MODAL;
  if (!asked.channel) errors[regionBlock] = 'This dialog lost where it was opened; run `/vyx start` again.';
  if (!asked.region) errors[regionBlock] = 'Choose a region.';
  else if (!/^[a-z]{3}$/.test(asked.region))
    errors[regionBlock] = 'A Fly region is three lowercase letters, e.g. ams, iad, cdg.';
  else {
    const late = new Promise<undefined>((resolve) =>
      setTimeout(() => resolve(undefined), CHECK_DEADLINE_MS).unref(),
    );
    const region = await Promise.race([deps.regions.check(asked.region), late]);
    if (region?.status === 'unknown')
      errors[regionBlock] = clip(
        `Fly has no region \`${asked.region}\`; nothing was created. Pick one of: ${region.regions.join(', ')}.`,
        2000,
      );
  }
  if (!asked.tag) errors[imageBlock] = 'Choose an image tag.';
  else if (!offered.has(asked.tag))
    errors[imageBlock] = clip(
      `\`${asked.tag}\` is not one of the tags offered; choose one from the list.`,
      2000,
    );
  else {
    try {
      resolveImage(asked.tag, deps.config.defaultImage, deps.registry.policy);
    } catch (err) {
      errors[imageBlock] = clip(isVyxError(err) ? err.message : String(err), 2000);
    }
  }
  return errors;
}

/**
 * App Home and the start dialog: `app_home_opened` renders the person's Home; a start dialog's
 * `view_submission` is checked and acknowledged within Slack's 3 s (errors inline), then the
 * machine is started exactly as the typed command starts it, answered where `/vyx start` was typed.
 */
export function registerViewHandlers(
  app: App,
  deps: BotDeps,
  home: HomeRefresher,
  tracker: WorkTracker,
  metrics?: Metrics,
): void {
  // A Socket Mode redelivery or HTTP retry of the same submission (same trigger id) starts nothing twice.
  const firstDelivery = createDeliveryDedupe({
    store: deps.store,
    logger: deps.logger.child({ part: 'dedupe' }),
  });
  app.event('app_home_opened', async ({ event, body }) => {
    // The Messages tab opens this event too; only the Home tab is ours to draw.
    if (event.tab !== 'home') return;
    const teamId = (body as { team_id?: string }).team_id ?? '';
    tracker.inFlight++;
    try {
      await home.opened(teamId, event.user);
    } finally {
      tracker.inFlight--;
    }
  });

  app.view(START_MODAL.callbackId, async ({ ack, body, view, context }) => {
    const endAck = metrics?.ackSeconds.startTimer({ kind: 'view' });
    tracker.inFlight++;
    try {
      const teamId = body.team?.id ?? body.user.team_id ?? '';
      const requestId = randomUUID().slice(0, 8);
      const asked = readStartSubmission(view);
      let identity: Awaited<ReturnType<BotDeps['store']['getIdentity']>>;
      try {
        identity = await deps.store.getIdentity(teamId, body.user.id);
      } catch (err) {
        await ack({
          response_action: 'errors',
          errors: { [START_MODAL.regionBlock]: clip(failureText(err), 2000) },
        });
        endAck?.();
        metrics?.commands.inc({ kind: 'view', name: 'start', outcome: 'error' });
        return;
      }
      const errors = identity
        ? await checkSubmission(deps, asked, offeredTags(view))
        : { [START_MODAL.regionBlock]: NOT_LINKED };
      if (Object.keys(errors).length > 0) {
        await ack({ response_action: 'errors', errors });
        endAck?.();
        metrics?.commands.inc({ kind: 'view', name: 'start', outcome: identity ? 'invalid' : 'denied' });
        deps.logger.info({ requestId, fields: Object.keys(errors) }, 'start dialog refused inline');
        return;
      }
      await ack();
      endAck?.();
      if (!(await firstDelivery({ body, context }))) {
        metrics?.commands.inc({ kind: 'view', name: 'start', outcome: 'duplicate' });
        return;
      }
      const channel = asked.channel!;
      const ctx: CommandContext = {
        deps: { ...deps, logger: deps.logger.child({ requestId }) },
        teamId,
        slackUserId: body.user.id,
        channelId: channel,
        requestId,
        identity,
        reply: privately(deps, channel, body.user.id),
      };
      const args = `dialog --region ${asked.region} --image ${asked.tag}`;
      let outcome: Outcome;
      try {
        outcome = await start(ctx, { region: asked.region!, image: asked.tag! });
      } catch (err) {
        ctx.deps.logger.error({ err: isVyxError(err) ? err.toJSON() : String(err) }, 'start dialog failed');
        await ctx.reply(failureText(err)).catch(() => {});
        outcome = { outcome: 'error', detail: isVyxError(err) ? err.code : 'internal error' };
      }
      metrics?.commands.inc({ kind: 'view', name: 'start', outcome: outcome.outcome });
      await audit(ctx, 'command', 'start', args, outcome);
    } finally {
      tracker.inFlight--;
    }
  });
}

/**
 * A dialog's submission has no response_url: the private answer is an ephemeral message in the
 * channel where `/vyx start` was typed, or the person's DM with the app when that is refused.
 */
function privately(deps: BotDeps, channel: string, user: string) {
  return async (answer: Card | string) => {
    const message =
      typeof answer === 'string' ? { text: answer } : { text: answer.text, blocks: answer.blocks };
    try {
      await deps.slack.ephemeral({ channel, user, ...message });
    } catch (err) {
      deps.logger.warn(
        { err: String((err as Error)?.message ?? err), channel },
        'ephemeral refused; DM instead',
      );
      await deps.slack.post({ channel: user, ...message });
    }
  };
}
