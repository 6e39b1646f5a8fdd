import { randomUUID } from 'node:crypto';
import type { App, BlockButtonAction, RespondFn, SlashCommand } from '@slack/bolt';
import type { BotDeps, CommandContext } from '../../commands/command-context.ts';
import { handleAction } from '../../commands/handle-action.ts';
import { audit, handleCommand, triage } from '../../commands/handle-command.ts';
import { parseCommand } from '../../commands/parse-command.ts';
import { isVyxError } from '../../errors/vyx-error.ts';
import type { Metrics } from '../../metrics.ts';
import { failureText } from '../../slack/cards/failure-text.ts';
import type { Card } from '../../slack/cards/status-card.ts';
import type { SlackIdentity } from '../../store/store-schemas.ts';
import type { AckFirst } from './ack-first.ts';
import { createDeliveryDedupe } from './delivery-dedupe.ts';
import { registerMentionHelp } from './mention-help.ts';

/** Work in flight (commands and buttons), so the local shell and shutdown can wait for it. */
export interface WorkTracker {
  inFlight: number;
  /** Shutting down: new commands are refused with a word to try again (work in flight finishes). */
  draining?: boolean;
}

const DRAINING_TEXT = 'vyxbot is restarting right now; nothing was done. Try again in a few seconds.';

/**
 * The asker's identity: null when not linked (deny by default). When the lookup itself fails, the
 * asker is told why (never "not linked") and undefined comes back.
 */
export async function lookUpIdentity(
  deps: BotDeps,
  teamId: string,
  userId: string,
  reply: (answer: Card | string) => Promise<void>,
  requestId: string,
): Promise<SlackIdentity | null | undefined> {
  try {
    return await deps.store.getIdentity(teamId, userId);
  } catch (err) {
    deps.logger.error(
      { err: isVyxError(err) ? err.toJSON() : String(err), requestId },
      'identity lookup failed',
    );
    await reply(failureText(err)).catch(() => {});
    return undefined;
  }
}

/**
 * A button on the App Home tab carries no response_url (nothing to answer in place): the answer
 * goes to the person's direct message with the app instead.
 */
function replyTo(respond: RespondFn | undefined, deps: BotDeps, slackUserId: string) {
  if (respond) return replyVia(respond);
  return async (answer: Card | string) => {
    const message =
      typeof answer === 'string' ? { text: answer } : { text: answer.text, blocks: answer.blocks };
    await deps.slack.post({ channel: slackUserId, ...message });
  };
}

function replyVia(respond: RespondFn) {
  return async (answer: Card | string) => {
    const message =
      typeof answer === 'string' ? { text: answer } : { text: answer.text, blocks: answer.blocks };
    await respond({ response_type: 'ephemeral', replace_original: false, ...message });
  };
}

/** Who asked `/vyx`, where, and how to answer them. */
function commandContext(
  deps: BotDeps,
  command: SlashCommand,
  requestId: string,
  identity: SlackIdentity | null,
  reply: CommandContext['reply'],
): CommandContext {
  return {
    deps: { ...deps, logger: deps.logger.child({ requestId }) },
    teamId: command.team_id,
    slackUserId: command.user_id,
    channelId: command.channel_id,
    requestId,
    ...(command.trigger_id ? { triggerId: command.trigger_id } : {}),
    identity,
    reply,
  };
}

/**
 * Binds `/vyx` and the card buttons to the commands. `ack()` comes first, always (Slack allows
 * 3 s); the work follows.
 */
export function registerHandlers(
  app: App,
  deps: BotDeps,
  tracker: WorkTracker = { inFlight: 0 },
  metrics?: Metrics,
  /** Follow-ups start once no request waits for its ack (the HTTP receiver counts them). */
  ackFirst?: AckFirst,
): WorkTracker {
  // After ack, before anything else: a replay, a retry or a duplicate of either receiver ends here.
  const firstDelivery = createDeliveryDedupe({
    store: deps.store,
    logger: deps.logger.child({ part: 'dedupe' }),
  });
  app.command('/vyx', async ({ command, ack, respond, body, context }) => {
    const text = command.text ?? '';
    const triaged = triage(parseCommand(text));
    const { name } = triaged;
    // Help and a command that does not parse need nothing but their text: the answer goes back in
    // the ack itself (Slack shows it to the asker as it would a response_url post). Nothing to do
    // twice on a duplicate, no second request, nothing after the ack but the audit row.
    const immediate = !tracker.draining && 'answer' in triaged ? triaged : undefined;
    const endAck = metrics?.ackSeconds.startTimer({ kind: 'command' });
    await ack(
      immediate
        ? { response_type: 'ephemeral', text: immediate.answer.text, blocks: immediate.answer.blocks }
        : undefined,
    );
    endAck?.();
    // In flight from here: the local shell and shutdown wait for the duplicate check too.
    tracker.inFlight++;
    try {
      await ackFirst?.turn();
      if (immediate) {
        const requestId = randomUUID().slice(0, 8);
        metrics?.commands.inc({ kind: 'command', name, outcome: immediate.outcome.outcome });
        const ctx = commandContext(deps, command, requestId, null, replyVia(respond));
        ctx.deps.logger.info(
          { command: name, outcome: immediate.outcome.outcome, ms: 0 },
          `/vyx ${name} answered`,
        );
        await audit(ctx, 'command', name, text, immediate.outcome);
        return;
      }
      if (!(await firstDelivery({ body, context }))) {
        metrics?.commands.inc({ kind: 'command', name, outcome: 'duplicate' });
        return;
      }
      // The duplicate checks of a batch answer together: their commands go on one per turn while
      // acks wait, not all at once between a request and its ack.
      await ackFirst?.turn();
      // Draining, whatever the command (help included): the only way here without work to do.
      if (tracker.draining || !('command' in triaged)) {
        metrics?.commands.inc({ kind: 'command', name, outcome: 'refused' });
        await replyVia(respond)(DRAINING_TEXT).catch(() => {});
        return;
      }
      const requestId = randomUUID().slice(0, 8);
      const identity = await lookUpIdentity(
        deps,
        command.team_id,
        command.user_id,
        replyVia(respond),
        requestId,
      );
      if (identity === undefined) {
        metrics?.commands.inc({ kind: 'command', name, outcome: 'error' });
        return;
      }
      const ctx = commandContext(deps, command, requestId, identity, replyVia(respond));
      const t0 = performance.now();
      const outcome = await handleCommand(ctx, triaged.command, text);
      metrics?.commands.inc({ kind: 'command', name, outcome: outcome.outcome });
      ctx.deps.logger.info(
        { command: name, outcome: outcome.outcome, ms: Math.round(performance.now() - t0) },
        `/vyx ${name} handled`,
      );
    } finally {
      tracker.inFlight--;
    }
  });

  app.action<BlockButtonAction>(/^vyx_/, async ({ action, body, ack, respond, context }) => {
    const endAck = metrics?.ackSeconds.startTimer({ kind: 'button' });
    await ack();
    endAck?.();
    tracker.inFlight++;
    try {
      await ackFirst?.turn();
      if (!(await firstDelivery({ body, context }))) {
        metrics?.commands.inc({ kind: 'button', name: action.action_id, outcome: 'duplicate' });
        return;
      }
      await ackFirst?.turn();
      if (tracker.draining) {
        metrics?.commands.inc({ kind: 'button', name: action.action_id, outcome: 'refused' });
        await replyTo(respond, deps, body.user.id)(DRAINING_TEXT).catch(() => {});
        return;
      }
      const requestId = randomUUID().slice(0, 8);
      const teamId = body.team?.id ?? body.user.team_id ?? '';
      const reply = replyTo(respond, deps, body.user.id);
      const identity = await lookUpIdentity(deps, teamId, body.user.id, reply, requestId);
      if (identity === undefined) {
        metrics?.commands.inc({ kind: 'button', name: action.action_id, outcome: 'error' });
        return;
      }
      const ctx: CommandContext = {
        deps: { ...deps, logger: deps.logger.child({ requestId }) },
        teamId,
        slackUserId: body.user.id,
        // From the Home tab there is no channel: a Retry's thread goes to the person's DM.
        channelId: body.channel?.id ?? body.user.id,
        requestId,
        identity,
        reply,
      };
      const outcome = await handleAction(ctx, action.action_id, action.value ?? '');
      metrics?.commands.inc({ kind: 'button', name: action.action_id, outcome: outcome.outcome });
    } finally {
      tracker.inFlight--;
    }
  });
  registerMentionHelp(app, deps, firstDelivery, tracker);
  return tracker;
}
