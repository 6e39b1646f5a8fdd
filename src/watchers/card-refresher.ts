import { errorLine } from '../errors/error-line.ts';
import { isVyxError } from '../errors/vyx-error.ts';
import type { Logger } from '../logger.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { UpdateBudget } from '../slack/update-budget.ts';
import type { VyxStore } from '../store/vyx-store.ts';

export interface CardRefresherOptions {
  store: Pick<VyxStore, 'getMachine'>;
  slack: Pick<SlackPoster, 'update'>;
  budget: UpdateBudget;
  logger: Logger;
  now: () => Date;
  /** Places Slack refused for good (no use editing there). */
  refused: (channel: string, ts: string) => boolean;
}

/** Edits a person waits on (bursts, stories, resolved cards) keep this many of the update budget. */
const RESERVE = 5;

/**
 * Machines' own cards (the thread's parent message) brought up to date with their row, once per
 * machine however many changes came in between, within chat.update's workspace budget (Tier 3):
 * a burst of 500 changes edits 500 cards over minutes, never past Slack's limit, and never delays
 * the thread replies or burst messages that carry the changes themselves.
 */
export class CardRefresher {
  private readonly o: CardRefresherOptions;
  private readonly due = new Map<string, { channel: string; ts: string }>();
  private draining: Promise<void> | undefined;

  constructor(options: CardRefresherOptions) {
    this.o = options;
  }

  get pending(): number {
    return this.due.size;
  }

  queue(machineId: string, channel: string, ts: string): void {
    if (this.o.refused(channel, ts)) return;
    this.due.delete(machineId); // to the back: the newest change waits its turn, the card is read then
    this.due.set(machineId, { channel, ts });
  }

  /** Edits as many due cards as the budget allows now; the rest wait for the next call. */
  drain(): Promise<void> {
    this.draining ??= this.drainOnce().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    for (const [machineId, place] of this.due) {
      if (!this.o.budget.tryTake(RESERVE)) return;
      this.due.delete(machineId);
      try {
        const row = await this.o.store.getMachine(machineId);
        const card = statusCard(
          row,
          this.o.now(),
          row.requested_by ? { title: `Machine ${machineId} for <@${row.requested_by}>` } : {},
        );
        await this.o.slack.update({
          channel: place.channel,
          ts: place.ts,
          text: card.text,
          blocks: card.blocks,
        });
      } catch (err) {
        // A row deleted since has no card to keep current.
        const level = isVyxError(err, 'STORE_NOT_FOUND') ? 'debug' : 'warn';
        this.o.logger[level]({ err: errorLine(err), machineId }, 'echo: could not update the parent card');
      }
    }
  }
}
