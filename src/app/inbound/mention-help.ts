import type { App } from '@slack/bolt';
import type { BotDeps } from '../../commands/command-context.ts';
import { helpCard } from '../../commands/help.ts';
import { errorFields } from '../../errors/error-line.ts';
import type { DeliveryDedupe } from './delivery-dedupe.ts';

/**
 * "@vyx …" in a channel: the commands are `/vyx`, so the mention is answered with help in its own
 * thread (never the channel itself) — whatever was written after the mention, nothing is done.
 * A bot's mention is not answered (two bots must not talk to each other forever).
 */
export function registerMentionHelp(
  app: App,
  deps: Pick<BotDeps, 'slack' | 'logger'>,
  firstDelivery: DeliveryDedupe,
  tracker: { inFlight: number },
): void {
  app.event('app_mention', async ({ event, body, context }) => {
    if ('bot_id' in event && event.bot_id) return;
    if (!event.user) return;
    tracker.inFlight++;
    try {
      if (!(await firstDelivery({ body, context }))) return;
      const card = helpCard(`<@${event.user}>, I answer to \`/vyx\` commands (only you see their answers):`);
      await deps.slack
        .post({ channel: event.channel, threadTs: event.thread_ts ?? event.ts, ...card })
        .catch((err: unknown) =>
          deps.logger.error(
            { err: errorFields(err), channel: event.channel },
            'could not answer a mention with help',
          ),
        );
    } finally {
      tracker.inFlight--;
    }
  });
}
