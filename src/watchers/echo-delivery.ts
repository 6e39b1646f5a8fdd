import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Card } from '../slack/cards/status-card.ts';
import type { ChannelPacer } from '../slack/channel-pacer.ts';
import type { FallbackPoster } from '../slack/fallback-poster.ts';
import { classifySlackError } from '../slack/slack-errors.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { UpdateBudget } from '../slack/update-budget.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { AlertResolver } from './alert-resolver.ts';
import type { CardRefresher } from './card-refresher.ts';
import type { StatusStories } from './status-stories.ts';

/** Where a machine's events go: its thread (or the channel), and its own card to keep current. */
export interface EchoPlace {
  channel: string;
  threadTs?: string;
  /** The row's own parent message (its card), when the bot started it. */
  parentTs?: string;
  /** Whether the row has a channel of its own (else the alert channel). */
  hasRow: boolean;
}

export interface EchoDeliveryDeps {
  store: VyxStore;
  slack: SlackPoster;
  logger: Logger;
  owner: string;
  claimLeaseS: number;
  retryBaseS: number;
  retryMaxS: number;
  metrics?: Metrics;
  pacer: ChannelPacer;
  budget: UpdateBudget;
  stories: StatusStories;
  fallback: FallbackPoster;
  resolver: AlertResolver;
  cards: CardRefresher;
  notifyOwner: (events: ClaimedEvent[]) => Promise<void>;
  render: (events: ClaimedEvent[], hasRow: boolean) => Card;
  /** Each post into a channel (the burst fold counts them). */
  posted: (channel: string) => void;
  /** Events handled (acknowledged or set aside). */
  handled: (events: ClaimedEvent[]) => void;
}

/** Token and scope errors: the whole app is refused, so nothing is set aside; it waits for a fix. */
const APP_REFUSED = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'not_allowed_token_type',
]);

/** Events Slack never needs to see: the row's first `starting`, and a failure its card already says. */
export function shownOf(events: ClaimedEvent[], all: ClaimedEvent[]): ClaimedEvent[] {
  // A row marked failed by a diagnosis in this same batch: the card already says so.
  const diagnosed = new Set(all.filter((e) => e.kind === 'diagnosis').map((e) => String(e.detail.code)));
  return events.filter(
    (e) =>
      e.kind !== 'resolved' &&
      // A row's first event (`starting`) needs no message: the parent card says it, and rows the
      // bot did not start would flood the alert channel with every healthy boot.
      !(e.kind === 'status' && e.old_status === null && e.new_status === 'starting') &&
      !(e.kind === 'status' && e.new_status === 'failed' && diagnosed.has(String(e.detail.detail))),
  );
}

/**
 * One machine's claimed events into Slack, in order: status changes grouped into one message, each
 * diagnosis or warning its own; a flapping machine's story updated in place; a redelivered event
 * looked for before it is posted again; Slack's refusals set aside or retried with backoff; the
 * machine's card refreshed and its alert cards resolved when it recovers or is destroyed.
 */
export class EchoDelivery {
  private readonly d: EchoDeliveryDeps;

  constructor(deps: EchoDeliveryDeps) {
    this.d = deps;
  }

  async deliverMachine(events: ClaimedEvent[], place: EchoPlace): Promise<number> {
    const { store, logger, owner } = this.d;
    const head = events[0]!;
    const { channel } = place;
    // Group consecutive status events into one message; each diagnosis/warning is its own message.
    const outgoing: ClaimedEvent[][] = [];
    for (const e of events) {
      const last = outgoing.at(-1);
      if (e.kind === 'status' && last?.[0]?.kind === 'status') last.push(e);
      else outgoing.push([e]);
    }
    let done = 0;
    let statusChanged = false;
    for (const out of outgoing) {
      const shown = shownOf(out, events);
      try {
        let ts: string | null = null;
        if (out[0]!.kind === 'resolved') {
          // Nothing new in the channel: the alert card itself is edited.
          ts = await this.d.resolver.resolvedEvent(out[0]!);
        } else if (shown.length > 0) {
          // Fencing: a lease that ran out while this replica was busy may have passed the events
          // to another replica; post only what is still ours (and hold it for one more lease).
          const ours = new Set(
            await store.renewEvents(
              owner,
              out.map((e) => e.id),
              this.d.claimLeaseS,
            ),
          );
          if (out.some((e) => !ours.has(e.id))) {
            logger.info(
              { machineId: head.machine_id },
              'echo: events taken over by another replica; not posting',
            );
            break;
          }
          const found = out.some((e) => e.attempts > 1)
            ? await this.findDelivered(place, shown[0]!.id)
            : null;
          if (found) {
            ts = found;
          } else {
            const sent = await this.send(head, place, out, shown);
            if (sent.setAside !== undefined) {
              done += out.length;
              continue;
            }
            ts = sent.ts;
          }
          if (ts) await this.d.resolver.remember(out, channel, ts);
        }
        // Before the ack: a crash in between redelivers the event, and the claimed notice is not resent.
        await this.d.notifyOwner(out);
        await store.ackEvents(
          owner,
          out.map((e) => ({ id: e.id, slackTs: ts })),
        );
        this.d.handled(out);
        done += out.length;
        if (out.some((e) => e.kind === 'status')) {
          // The card already says what nobody is told (a row's first `starting`).
          if (shown.some((e) => e.kind === 'status')) statusChanged = true;
          await this.resolveAfter(out);
        }
      } catch (err) {
        const failure = classifySlackError(err);
        const rest = events.filter((e) => !events.slice(0, done).includes(e));
        if (failure.permanent && !APP_REFUSED.has(failure.code)) {
          // Nothing a retry changes (msg_too_long, invalid_blocks…): set aside, said once, never looped.
          await store
            .setAsideEvents(
              owner,
              out.map((e) => ({ id: e.id, reason: `${failure.code}; not posted`, slackTs: null })),
            )
            .catch(() => {});
          this.d.metrics?.slackSetAside.inc({ reason: failure.code, fallback: 'none' }, out.length);
          logger.error(
            { machineId: head.machine_id, events: out.map((e) => e.id), reason: failure.code },
            'echo: events set aside (Slack refused them)',
          );
          this.d.handled(out);
          done += out.length;
          continue;
        }
        // Transient (or the app's token refused): back off, bounded, and try again.
        const attempts = Math.max(1, ...rest.map((e) => e.attempts));
        const delayS = Math.min(this.d.retryMaxS, this.d.retryBaseS * 2 ** (attempts - 1));
        logger.warn(
          { err: errorLine(err), code: failure.code, machineId: head.machine_id, attempts, retryInS: delayS },
          'echo: post failed; will retry',
        );
        await store
          .releaseEvents(
            owner,
            rest.map((e) => e.id),
            delayS,
          )
          .catch(() => {});
        break;
      }
    }
    if (statusChanged && place.parentTs) this.d.cards.queue(head.machine_id, channel, place.parentTs);
    return done;
  }

  /** Delivered status changes: a machine that recovered or is gone resolves its alert cards (a flap does not). */
  async resolveAfter(events: ClaimedEvent[]): Promise<void> {
    const id = events[0]!.machine_id;
    if (this.d.stories.flapping(id)) return;
    await this.d.resolver.afterStatus(events).catch((err: unknown) => {
      this.d.logger.error({ err: errorLine(err), machineId: id }, 'echo: could not resolve the alert cards');
    });
  }

  /** A redelivered event's earlier post: in its thread, else in the channel (a burst's message). */
  private async findDelivered(place: EchoPlace, eventId: number): Promise<string | null> {
    const { slack } = this.d;
    const inThread = await slack.findDelivered(place.channel, place.threadTs, eventId).catch(() => null);
    if (inThread || !place.threadTs) return inThread;
    return slack.findDelivered(place.channel, undefined, eventId).catch(() => null);
  }

  /**
   * Posts the events' message, or updates the flapping machine's story. `setAside` is set when Slack
   * will never take it where it belongs (the events are then out of the queue, said where).
   */
  private async send(
    head: ClaimedEvent,
    place: EchoPlace,
    out: ClaimedEvent[],
    shown: ClaimedEvent[],
  ): Promise<{ ts: string | null; setAside?: string }> {
    const { channel, threadTs } = place;
    const { logger, store, owner } = this.d;
    // A flapping machine's changes (and its diagnosis) update one message instead of posting.
    const plan = this.d.stories.plan(
      shown,
      { channel, threadTs },
      () => this.d.render(shown, place.hasRow),
      Date.now(),
    );
    const { card } = plan;
    if (plan.updateTs) {
      await this.d.budget.take();
      const updated = await this.d.slack
        .update({ channel, ts: plan.updateTs, text: card.text, blocks: card.blocks })
        .then(() => true)
        .catch((err: unknown) => {
          // The story's message is gone or cannot be edited: tell it in a new one instead.
          logger.warn(
            { err: errorLine(err), machineId: head.machine_id },
            'echo: could not update the story',
          );
          return false;
        });
      if (updated) {
        plan.commit(plan.updateTs, Date.now());
        return { ts: plan.updateTs };
      }
    }
    const sent = await this.d.fallback.post(
      head,
      { channel, ...(threadTs ? { threadTs } : {}) },
      card,
      shown,
    );
    this.d.posted(channel);
    if (sent.setAside) {
      // Slack will never take it where it belongs: out of the queue, with why and where it went.
      await store.setAsideEvents(
        owner,
        out.map((e) => ({ id: e.id, reason: sent.setAside!, slackTs: sent.ts })),
      );
      this.d.metrics?.slackSetAside.inc({ reason: sent.code!, fallback: sent.fallback }, out.length);
      logger.error(
        {
          machineId: head.machine_id,
          events: out.map((e) => e.id),
          attempts: Math.max(...out.map((e) => e.attempts)),
          reason: sent.setAside,
          fallback: sent.fallback,
        },
        'echo: events set aside (Slack will not accept them where they belong)',
      );
      this.d.handled(out);
      return { ts: sent.ts, setAside: sent.setAside };
    }
    if (sent.ts) plan.commit(sent.ts, Date.now());
    return { ts: sent.ts };
  }
}
