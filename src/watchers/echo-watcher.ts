import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { type Metrics, timed } from '../metrics.ts';
import { diagnosisMessage, statusLine, warningMessage } from '../slack/cards/echo-messages.ts';
import { statusCard } from '../slack/cards/status-card.ts';
import { ChannelPacer } from '../slack/channel-pacer.ts';
import { FallbackPoster } from '../slack/fallback-poster.ts';
import { classifySlackError } from '../slack/slack-errors.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { ownerNotifier } from './owner-notifier.ts';
import { StatusStories } from './status-stories.ts';

export interface EchoWatcherOptions {
  store: VyxStore;
  slack: SlackPoster;
  logger: Logger;
  /** This replica's name (leases are held under it). */
  owner: string;
  /** Where events of rows with no channel go (rows the bot did not start, orphans). */
  alertChannel?: string;
  runbookBaseUrl?: string;
  now?: () => Date;
  /** Polling is the guarantee; LISTEN only wakes it sooner. */
  pollMs?: number;
  /** Messages a second into one channel (Slack allows about one, with short bursts); 0 = no limit. */
  perChannelPerSecond?: number;
  /** The burst a channel may take before pacing starts. */
  perChannelBurst?: number;
  /** How long claimed events stay ours; a crashed replica's come back after this. */
  claimLeaseS?: number;
  /** LISTEN hook: called with a wake-up function, returns an unsubscribe. */
  subscribe?: (wake: () => void) => Promise<() => Promise<void>>;
  metrics?: Metrics;
  /** Transient Slack failures are retried after this many seconds, doubling up to `retryMaxS`. */
  retryBaseS?: number;
  retryMaxS?: number;
  /** Called once per outbox event handled (posted, acknowledged or set aside), e.g. to refresh App Home. Must not throw. */
  onMachineChanged?: (e: { userId: string; machineId: string }) => void;
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

/** How long events of a row with a channel but no thread yet wait for the parent message. */
const THREAD_GRACE_MS = 15_000;

interface Outgoing {
  channel: string;
  threadTs?: string;
  events: ClaimedEvent[];
}

/**
 * Delivers the outbox into Slack: each machine's events as thread replies (a channel message when
 * the row has no thread), folded per machine, the parent card updated, each event acknowledged with
 * the Slack ts. At-least-once underneath, exactly-once visible: a redelivered event is first looked
 * for in the thread (its post carries the event ids as message metadata).
 */
export class EchoWatcher {
  private readonly o: Required<
    Omit<EchoWatcherOptions, 'alertChannel' | 'runbookBaseUrl' | 'subscribe' | 'metrics' | 'onMachineChanged'>
  > &
    Pick<
      EchoWatcherOptions,
      'alertChannel' | 'runbookBaseUrl' | 'subscribe' | 'metrics' | 'onMachineChanged'
    >;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly pacer: ChannelPacer;
  private readonly stories = new StatusStories();
  private readonly fallback: FallbackPoster;
  private readonly notifyOwner: (events: ClaimedEvent[]) => Promise<void>;
  /** Events posted or acknowledged so far (for the shell's "settled" and for tests). */
  delivered = 0;
  pending = 0;

  constructor(options: EchoWatcherOptions) {
    this.o = {
      now: () => new Date(),
      pollMs: 1_000,
      perChannelPerSecond: 1,
      perChannelBurst: 3,
      ...options,
      claimLeaseS: options.claimLeaseS ?? 30,
      retryBaseS: options.retryBaseS ?? 5,
      retryMaxS: options.retryMaxS ?? 300,
    };
    this.pacer = new ChannelPacer(this.o.perChannelPerSecond, this.o.perChannelBurst);
    this.fallback = new FallbackPoster({
      slack: this.o.slack,
      store: this.o.store,
      ...(this.o.alertChannel ? { alertChannel: this.o.alertChannel } : {}),
      pace: (channel) => this.pacer.pace(channel),
      paced: (channel) => this.pacer.paced(channel),
    });
    this.notifyOwner = ownerNotifier(this.o);
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.timer.unref?.();
    if (this.o.subscribe) {
      try {
        this.unsubscribe = await this.o.subscribe(() => this.wake());
      } catch (err) {
        this.o.logger.warn({ err: errorLine(err) }, 'echo: LISTEN unavailable; polling only');
      }
    }
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => {});
    await this.running;
    // Give back anything still claimed so another replica delivers it at once.
    await this.o.store.releaseEvents(this.o.owner).catch(() => {});
  }

  /** Runs a tick now, or right after the one in progress (ticks never overlap). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.tick()
      .then(
        () => undefined,
        (err: unknown) => this.o.logger.error({ err: errorLine(err) }, 'echo tick failed'),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** One pass: claim, post, acknowledge. Returns how many events were handled. */
  tick(): Promise<number> {
    return timed(this.o.metrics, 'echo', () => this.tickOnce());
  }

  private async tickOnce(): Promise<number> {
    const events = await this.o.store.claimEvents({
      owner: this.o.owner,
      limit: 200,
      leaseS: this.o.claimLeaseS,
    });
    this.o.metrics?.watcherRows.inc({ watcher: 'echo' }, events.length);
    this.pending = events.length;
    if (events.length === 0) return 0;
    const byMachine = new Map<string, ClaimedEvent[]>();
    for (const e of events) byMachine.set(e.machine_id, [...(byMachine.get(e.machine_id) ?? []), e]);
    let handled = 0;
    for (const machineEvents of byMachine.values()) {
      const n = await this.deliverMachine(machineEvents);
      handled += n;
      this.changed(machineEvents.slice(0, n));
    }
    this.pending = 0;
    return handled;
  }

  private async deliverMachine(events: ClaimedEvent[]): Promise<number> {
    const { store, logger, owner } = this.o;
    const head = events[0]!;
    const channel = head.slack_channel ?? this.o.alertChannel;
    if (!channel) {
      // Nowhere to say it: acknowledge so it does not block the machine's queue, and log it.
      logger.warn(
        { machineId: head.machine_id, events: events.map((e) => e.kind) },
        'echo: no channel for these events',
      );
      await this.notifyOwner(events);
      await store.ackEvents(
        owner,
        events.map((e) => ({ id: e.id, slackTs: null })),
      );
      return events.length;
    }
    const threadTs = head.slack_channel ? (head.slack_thread_ts ?? undefined) : undefined;
    if (head.slack_channel && !threadTs && Date.parse(head.created_at) > Date.now() - THREAD_GRACE_MS) {
      // The provisioner is posting the parent message right now: wait for its thread.
      await store.releaseEvents(
        owner,
        events.map((e) => e.id),
        1,
      );
      return 0;
    }
    // Group consecutive status events into one message; each diagnosis/warning is its own message.
    const outgoing: Outgoing[] = [];
    for (const e of events) {
      const last = outgoing.at(-1);
      if (e.kind === 'status' && last?.events[0]?.kind === 'status') last.events.push(e);
      else outgoing.push({ channel, ...(threadTs ? { threadTs } : {}), events: [e] });
    }
    // A row marked failed by a diagnosis in this same batch: the card already says so.
    const diagnosed = new Set(events.filter((e) => e.kind === 'diagnosis').map((e) => String(e.detail.code)));
    const saidByCard = (e: ClaimedEvent) =>
      e.kind === 'status' && e.new_status === 'failed' && diagnosed.has(String(e.detail.detail));
    let done = 0;
    let statusChanged = false;
    for (const out of outgoing) {
      // A row's first event (`starting`) needs no message: the parent card says it, and rows the
      // bot did not start would flood the alert channel with every healthy boot.
      const shown = out.events.filter(
        (e) =>
          !(e.kind === 'status' && e.old_status === null && e.new_status === 'starting') && !saidByCard(e),
      );
      try {
        let ts: string | null = null;
        if (shown.length > 0) {
          // Fencing: a lease that ran out while this replica was busy may have passed the events
          // to another replica; post only what is still ours (and hold it for one more lease).
          const ours = new Set(
            await store.renewEvents(
              owner,
              out.events.map((e) => e.id),
              this.o.claimLeaseS,
            ),
          );
          if (out.events.some((e) => !ours.has(e.id))) {
            logger.info(
              { machineId: head.machine_id },
              'echo: events taken over by another replica; not posting',
            );
            break;
          }
          const already = out.events.some((e) => e.attempts > 1)
            ? await this.o.slack.findDelivered(channel, threadTs, shown[0]!.id).catch(() => null)
            : null;
          if (already) {
            ts = already;
          } else {
            // A flapping machine's changes (and its diagnosis) update one message instead of posting.
            const plan = this.stories.plan(
              shown,
              { channel, threadTs },
              () => this.render(shown, Boolean(head.slack_channel)),
              Date.now(),
            );
            const { card } = plan;
            let updated = false;
            if (plan.updateTs) {
              await this.pacer.pace(channel);
              updated = await this.o.slack
                .update({ channel, ts: plan.updateTs, text: card.text, blocks: card.blocks })
                .then(() => true)
                .catch((err: unknown) => {
                  // The story's message is gone or cannot be edited: tell it in a new one instead.
                  logger.warn(
                    { err: errorLine(err), machineId: head.machine_id },
                    'echo: could not update the story',
                  );
                  return false;
                })
                .finally(() => this.pacer.paced(channel));
            }
            if (updated) {
              ts = plan.updateTs!;
            } else {
              const sent = await this.fallback.post(
                head,
                { channel, ...(threadTs ? { threadTs } : {}) },
                card,
                shown,
              );
              ts = sent.ts;
              if (sent.setAside) {
                // Slack will never take it where it belongs: out of the queue, with why and where it went.
                await store.setAsideEvents(
                  owner,
                  out.events.map((e) => ({ id: e.id, reason: sent.setAside!, slackTs: ts })),
                );
                this.o.metrics?.slackSetAside.inc(
                  { reason: sent.code!, fallback: sent.fallback },
                  out.events.length,
                );
                logger.error(
                  {
                    machineId: head.machine_id,
                    events: out.events.map((e) => e.id),
                    attempts: Math.max(...out.events.map((e) => e.attempts)),
                    reason: sent.setAside,
                    fallback: sent.fallback,
                  },
                  'echo: events set aside (Slack will not accept them where they belong)',
                );
                this.delivered += out.events.length;
                done += out.events.length;
                continue;
              }
            }
            if (ts) plan.commit(ts, Date.now());
          }
        }
        // Before the ack: a crash in between redelivers the event, and the claimed notice is not resent.
        await this.notifyOwner(out.events);
        await store.ackEvents(
          owner,
          out.events.map((e) => ({ id: e.id, slackTs: ts })),
        );
        this.delivered += out.events.length;
        done += out.events.length;
        if (out.events.some((e) => e.kind === 'status')) statusChanged = true;
      } catch (err) {
        const failure = classifySlackError(err);
        const rest = events.filter((e) => !events.slice(0, done).includes(e));
        if (failure.permanent && !APP_REFUSED.has(failure.code)) {
          // Nothing a retry changes (msg_too_long, invalid_blocks…): set aside, said once, never looped.
          await store
            .setAsideEvents(
              owner,
              out.events.map((e) => ({ id: e.id, reason: `${failure.code}; not posted`, slackTs: null })),
            )
            .catch(() => {});
          this.o.metrics?.slackSetAside.inc({ reason: failure.code, fallback: 'none' }, out.events.length);
          logger.error(
            { machineId: head.machine_id, events: out.events.map((e) => e.id), reason: failure.code },
            'echo: events set aside (Slack refused them)',
          );
          done += out.events.length;
          continue;
        }
        // Transient (or the app's token refused): back off, bounded, and try again.
        const attempts = Math.max(1, ...rest.map((e) => e.attempts));
        const delayS = Math.min(this.o.retryMaxS, this.o.retryBaseS * 2 ** (attempts - 1));
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
    if (statusChanged && threadTs) await this.updateParent(head.machine_id, channel, threadTs);
    return done;
  }

  /** Tells the hook (App Home) about each handled event of a row with an owner. */
  private changed(events: ClaimedEvent[]): void {
    const hook = this.o.onMachineChanged;
    if (!hook) return;
    for (const e of events) {
      if (!e.user_id) continue;
      try {
        hook({ userId: e.user_id, machineId: e.machine_id });
      } catch (err) {
        this.o.logger.warn({ err: errorLine(err), machineId: e.machine_id }, 'echo: onMachineChanged failed');
      }
    }
  }

  private render(events: ClaimedEvent[], hasRow: boolean) {
    const e = events[0]!;
    if (e.kind === 'status') return statusLine(events);
    if (e.kind === 'warning') return warningMessage(e);
    return diagnosisMessage(e, this.o.runbookBaseUrl, hasRow);
  }

  private async updateParent(machineId: string, channel: string, ts: string): Promise<void> {
    if (this.fallback.refused(channel, ts)) return;
    try {
      const row = await this.o.store.getMachine(machineId);
      const card = statusCard(
        row,
        this.o.now(),
        row.requested_by ? { title: `Machine ${machineId} for <@${row.requested_by}>` } : {},
      );
      await this.o.slack.update({ channel, ts, text: card.text, blocks: card.blocks });
    } catch (err) {
      this.o.logger.warn({ err: errorLine(err), machineId }, 'echo: could not update the parent card');
    }
  }
}
