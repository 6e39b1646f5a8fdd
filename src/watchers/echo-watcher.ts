import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { type Metrics, timed } from '../metrics.ts';
import { diagnosisMessage, flapStory, statusLine, warningMessage } from '../slack/cards/echo-messages.ts';
import { ChannelPacer } from '../slack/channel-pacer.ts';
import { FallbackPoster } from '../slack/fallback-poster.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import { UpdateBudget } from '../slack/update-budget.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import { AlertResolver } from './alert-resolver.ts';
import { BurstFold, type FoldGroup } from './burst-fold.ts';
import { CardRefresher } from './card-refresher.ts';
import { EchoDelivery } from './echo-delivery.ts';
import { byChannel, type EchoRouting, routeEvents } from './echo-routing.ts';
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
  /** chat.update calls a minute for the whole app (Slack's Tier 3 is 50+ per workspace); 0 = no limit. */
  updatesPerMinute?: number;
  /** How long a burst in one channel is given to arrive before it is folded into one message; 0 = never fold. */
  foldGatherMs?: number;
  /** How long after its last change a burst message is edited with further changes instead of followed. */
  foldLiveMs?: number;
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

type Optional = 'alertChannel' | 'runbookBaseUrl' | 'subscribe' | 'metrics' | 'onMachineChanged';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Delivers the outbox into Slack: each machine's events as thread replies (a channel message when
 * the row has no thread; the alert card's thread once it has one), a burst of changes in one
 * channel folded into one message, the machines' cards kept current, alert cards resolved in place,
 * each event acknowledged with the Slack ts. At-least-once underneath, exactly-once visible: a
 * redelivered event is first looked for in Slack (its post carries the event ids as metadata).
 */
export class EchoWatcher {
  private readonly o: Required<Omit<EchoWatcherOptions, Optional>> & Pick<EchoWatcherOptions, Optional>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private unsubscribe: (() => Promise<void>) | undefined;
  private readonly stories = new StatusStories();
  private readonly fallback: FallbackPoster;
  private readonly notifyOwner: (events: ClaimedEvent[]) => Promise<void>;
  private readonly cards: CardRefresher;
  private readonly delivery: EchoDelivery;
  private readonly folds: BurstFold;
  private readonly routing: EchoRouting;
  /** Events posted or acknowledged so far (for the shell's "settled" and for tests). */
  delivered = 0;
  pending = 0;

  constructor(options: EchoWatcherOptions) {
    this.o = {
      now: () => new Date(),
      pollMs: 1_000,
      perChannelPerSecond: 1,
      perChannelBurst: 3,
      updatesPerMinute: 40,
      foldGatherMs: 400,
      foldLiveMs: 3_000,
      ...options,
      claimLeaseS: options.claimLeaseS ?? 30,
      retryBaseS: options.retryBaseS ?? 5,
      retryMaxS: options.retryMaxS ?? 300,
    };
    const { store, slack, logger, owner, claimLeaseS } = this.o;
    const pacer = new ChannelPacer(this.o.perChannelPerSecond, this.o.perChannelBurst);
    const budget = new UpdateBudget(this.o.updatesPerMinute, 40);
    this.fallback = new FallbackPoster({
      slack,
      store,
      ...(this.o.alertChannel ? { alertChannel: this.o.alertChannel } : {}),
      pace: (channel) => pacer.pace(channel),
      paced: (channel) => pacer.paced(channel),
    });
    this.notifyOwner = ownerNotifier(this.o);
    this.cards = new CardRefresher({
      store,
      slack,
      budget,
      logger,
      now: this.o.now,
      refused: (channel, ts) => this.fallback.refused(channel, ts),
    });
    this.routing = {
      store,
      logger,
      owner,
      ...(this.o.alertChannel ? { alertChannel: this.o.alertChannel } : {}),
      stories: this.stories,
      notifyOwner: this.notifyOwner,
      handled: (events) => this.handled(events),
    };
    this.folds = new BurstFold({
      store,
      slack,
      pacer,
      budget,
      logger,
      owner,
      claimLeaseS,
      liveMs: this.o.foldLiveMs,
    });
    this.delivery = new EchoDelivery({
      ...this.o,
      ...(this.o.metrics ? { metrics: this.o.metrics } : {}),
      pacer,
      budget,
      stories: this.stories,
      fallback: this.fallback,
      resolver: new AlertResolver({ store, slack, budget, logger }),
      cards: this.cards,
      notifyOwner: this.notifyOwner,
      render: (events, hasRow) => this.render(events, hasRow),
      posted: (channel) => this.folds.posted(channel),
      handled: (events) => this.handled(events),
    });
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

  /** One pass: claim, post, acknowledge; then machines' cards as the update budget allows. Returns how many events were handled. */
  tick(): Promise<number> {
    return timed(this.o.metrics, 'echo', async () => {
      const n = await this.tickOnce();
      await this.cards.drain();
      return n;
    });
  }

  /** Machines' cards waiting for the update budget (tests and the bench wait on it). */
  get cardsPending(): number {
    return this.cards.pending;
  }

  private claim(): Promise<ClaimedEvent[]> {
    return this.o.store.claimEvents({ owner: this.o.owner, limit: 200, leaseS: this.o.claimLeaseS });
  }

  private async tickOnce(): Promise<number> {
    const events = await this.claim();
    this.o.metrics?.watcherRows.inc({ watcher: 'echo' }, events.length);
    this.pending = events.length;
    if (events.length === 0) return 0;
    const routed = await routeEvents(events, this.routing);
    let handled = routed.handled;
    let groups = routed.groups;
    // A burst starting in a channel: give the rest of it a moment to arrive, to say it in one message.
    if (this.o.foldGatherMs > 0 && this.burstStarting(groups)) {
      await sleep(this.o.foldGatherMs);
      const more = await this.claim();
      if (more.length > 0) {
        const next = await routeEvents(more, this.routing);
        handled += next.handled;
        groups = [...groups, ...next.groups];
      }
    }
    const perMachine: FoldGroup[] = [];
    for (const [channel, inChannel] of byChannel(groups)) {
      const foldable = inChannel.filter((g) => this.foldable(g));
      if (this.o.foldGatherMs > 0 && this.folds.wants(channel, foldable.length)) {
        const { delivered, rest } = await this.folds.fold(channel, foldable);
        for (const { group, ts } of delivered) handled += await this.finishFolded(group, ts);
        perMachine.push(...inChannel.filter((g) => !foldable.includes(g)), ...rest);
      } else {
        perMachine.push(...inChannel);
      }
    }
    // The rest machine by machine, in the order claimed.
    perMachine.sort((a, b) => a.events[0]!.id - b.events[0]!.id);
    for (const g of perMachine) handled += await this.delivery.deliverMachine(g.events, g.place);
    this.pending = 0;
    return handled;
  }

  /** Plain status changes, first delivery, no story of their own: these may share a burst message. */
  private foldable(g: FoldGroup): boolean {
    const id = g.events[0]!.machine_id;
    return (
      g.shown.length > 0 &&
      g.events.every((e) => e.kind === 'status' && e.attempts === 1) &&
      !this.stories.flapping(id) &&
      flapStory(g.shown) === undefined &&
      !this.fallback.refused(g.place.channel, '')
    );
  }

  private burstStarting(groups: FoldGroup[]): boolean {
    for (const [channel, inChannel] of byChannel(groups)) {
      if (this.folds.hasLive(channel)) continue;
      if (this.folds.wants(channel, inChannel.filter((g) => this.foldable(g)).length)) return true;
    }
    return false;
  }

  /** A machine whose changes went out in a burst message: acknowledged, its card and alerts kept true. */
  private async finishFolded(g: FoldGroup, ts: string): Promise<number> {
    const { store, owner } = this.o;
    const id = g.events[0]!.machine_id;
    try {
      await this.notifyOwner(g.events);
      await store.ackEvents(
        owner,
        g.events.map((e) => ({ id: e.id, slackTs: ts })),
      );
    } catch (err) {
      // Posted but not acknowledged: the lease runs out, and the redelivery finds the burst message.
      this.o.logger.warn({ err: errorLine(err), machineId: id }, 'echo: could not acknowledge folded events');
      return 0;
    }
    this.handled(g.events);
    await this.delivery.resolveAfter(g.events);
    if (g.place.parentTs) this.cards.queue(id, g.place.channel, g.place.parentTs);
    return g.events.length;
  }

  /** Counts handled events and tells the hook (App Home) about each of a row with an owner. */
  private handled(events: ClaimedEvent[]): void {
    this.delivered += events.length;
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
}
