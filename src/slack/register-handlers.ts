import { randomUUID } from 'node:crypto';
import type { App, BlockButtonAction, RespondFn } from '@slack/bolt';
import type { BotDeps, CommandContext } from '../commands/command-context.ts';
import { handleAction } from '../commands/handle-action.ts';
import { handleCommand } from '../commands/handle-command.ts';
import type { Card } from './cards/status-card.ts';

/** Work in flight (commands and buttons), so the local shell and shutdown can wait for it. */
export interface WorkTracker {
  inFlight: number;
}

function replyVia(respond: RespondFn) {
  return async (answer: Card | string) => {
    const message =
      typeof answer === 'string' ? { text: answer } : { text: answer.text, blocks: answer.blocks };
    await respond({ response_type: 'ephemeral', replace_original: false, ...message });
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
): WorkTracker {
  app.command('/vyx', async ({ command, ack, respond }) => {
    await ack();
    tracker.inFlight++;
    try {
      const requestId = randomUUID().slice(0, 8);
      const identity = await deps.store.getIdentity(command.team_id, command.user_id).catch(() => null);
      const ctx: CommandContext = {
        deps: { ...deps, logger: deps.logger.child({ requestId }) },
        teamId: command.team_id,
        slackUserId: command.user_id,
        channelId: command.channel_id,
        requestId,
        identity,
        reply: replyVia(respond),
      };
      await handleCommand(ctx, command.text ?? '');
    } finally {
      tracker.inFlight--;
    }
  });

  app.action<BlockButtonAction>(/^vyx_/, async ({ action, body, ack, respond }) => {
    await ack();
    tracker.inFlight++;
    try {
      const requestId = randomUUID().slice(0, 8);
      const teamId = body.team?.id ?? body.user.team_id ?? '';
      const identity = await deps.store.getIdentity(teamId, body.user.id).catch(() => null);
      const ctx: CommandContext = {
        deps: { ...deps, logger: deps.logger.child({ requestId }) },
        teamId,
        slackUserId: body.user.id,
        channelId: body.channel?.id ?? '',
        requestId,
        identity,
        reply: replyVia(respond),
      };
      await handleAction(ctx, action.action_id, action.value ?? '');
    } finally {
      tracker.inFlight--;
    }
  });
  return tracker;
}
