import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';

export interface OwnerNotifierOptions {
  store: Pick<VyxStore, 'claimOwnerNotice' | 'releaseOwnerNotice' | 'getMachine'>;
  slack: Pick<SlackPoster, 'post'>;
  logger: Logger;
  now: () => Date;
}

/**
 * A failed machine's owner gets its card in a direct message, besides the thread or alert channel:
 * one per failure event, claimed in the database first so replicas and redelivered events never
 * send it twice; owners who ran `/vyx notify off` get none. Never throws: the thread comes first.
 */
export function ownerNotifier(o: OwnerNotifierOptions): (events: ClaimedEvent[]) => Promise<void> {
  return async (events) => {
    for (const e of events) {
      if (e.kind !== 'status' || e.new_status !== 'failed') continue;
      let owner: string | null = null;
      try {
        owner = await o.store.claimOwnerNotice(e.id);
        if (!owner) continue;
        const row = await o.store.getMachine(e.machine_id);
        const card = statusCard(row, o.now(), {
          lead: `:red_circle: Your machine \`${e.machine_id}\` failed. (\`/vyx notify off\` stops these messages.)`,
        });
        // A user id as the channel: Slack posts in the app's direct message with them.
        await o.slack.post({ channel: owner, text: card.text, blocks: card.blocks });
      } catch (err) {
        o.logger.error({ err: errorLine(err), machineId: e.machine_id, eventId: e.id }, 'owner DM failed');
        if (owner) await o.store.releaseOwnerNotice(e.id).catch(() => {});
      }
    }
  };
}
