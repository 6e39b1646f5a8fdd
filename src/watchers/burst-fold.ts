import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { burstDigest, DIGEST_MAX_MACHINES } from '../slack/cards/burst-digest.ts';
import type { ChannelPacer } from '../slack/channel-pacer.ts';
import type { SlackPoster } from '../slack/slack-poster.ts';
import type { UpdateBudget } from '../slack/update-budget.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { EchoPlace } from './echo-delivery.ts';

/** One machine's claimed events and the status changes among them that Slack is to see. */
export interface FoldGroup {
  events: ClaimedEvent[];
  shown: ClaimedEvent[];
  place: EchoPlace;
}

export interface BurstFoldDeps {
  store: Pick<VyxStore, 'renewEvents'>;
  slack: Pick<SlackPoster, 'post' | 'update'>;
  pacer: ChannelPacer;
  budget: UpdateBudget;
  logger: Logger;
  owner: string;
  claimLeaseS: number;
  /** A burst message takes later changes (edited in place) this long after its last one. */
  liveMs: number;
}

/** A change this soon after the echo's last post into the channel is part of a burst. */
const RECENT_MS = 1_500;

interface Digest {
  ts: string;
  /** Each machine's events in the message, oldest first (a machine's later changes join its line). */
  machines: Map<string, ClaimedEvent[]>;
  lastAt: number;
}

/**
 * Bursts folded, not queued: several machines' status changes for one channel within a moment
 * become one channel message listing each machine's changes (Slack takes about one message a second
 * per channel; twenty posts would take twenty seconds), and changes that follow within a few
 * seconds edit that message instead of posting. Nothing is dropped: every change of every machine
 * is a line of it, in order, and each event is acknowledged with the message's ts.
 */
export class BurstFold {
  private readonly d: BurstFoldDeps;
  private readonly digests = new Map<string, Digest>();
  private readonly lastPost = new Map<string, number>();

  constructor(deps: BurstFoldDeps) {
    this.d = deps;
  }

  /** The echo posted into this channel (a burst starting right after it folds at once). */
  posted(channel: string, nowMs = Date.now()): void {
    this.lastPost.set(channel, nowMs);
    if (this.lastPost.size > 1_000) {
      for (const [c, at] of this.lastPost) if (nowMs - at > RECENT_MS) this.lastPost.delete(c);
    }
  }

  private live(channel: string, nowMs: number): Digest | undefined {
    const d = this.digests.get(channel);
    return d && nowMs - d.lastAt <= this.d.liveMs && d.machines.size < DIGEST_MAX_MACHINES ? d : undefined;
  }

  /** Whether `count` foldable machines in this channel are a burst (fold them). */
  wants(channel: string, count: number, nowMs = Date.now()): boolean {
    if (count === 0) return false;
    if (this.live(channel, nowMs)) return true;
    return count >= 2 || nowMs - (this.lastPost.get(channel) ?? 0) <= RECENT_MS;
  }

  /** Whether a burst message already takes this channel's changes (nothing to wait for). */
  hasLive(channel: string, nowMs = Date.now()): boolean {
    return this.live(channel, nowMs) !== undefined;
  }

  /**
   * Folds the groups into the channel's burst message (edited) or a new one (posted). Answers the
   * groups delivered, with the message's ts, and those left for the per-machine path: a single
   * change with no burst message to join, or any Slack refused here (that path has the fallbacks).
   */
  async fold(
    channel: string,
    groups: FoldGroup[],
  ): Promise<{ delivered: { group: FoldGroup; ts: string }[]; rest: FoldGroup[] }> {
    const delivered: { group: FoldGroup; ts: string }[] = [];
    const rest: FoldGroup[] = [];
    // Fencing, as for any post: only events still ours (another replica may hold them now).
    const ours = new Set(
      await this.d.store.renewEvents(
        this.d.owner,
        groups.flatMap((g) => g.events.map((e) => e.id)),
        this.d.claimLeaseS,
      ),
    );
    let todo = groups.filter((g) => g.events.every((e) => ours.has(e.id)));
    if (todo.length < groups.length)
      this.d.logger.info({ channel }, 'echo: events taken over by another replica; not posting');

    const live = this.live(channel, Date.now());
    if (live) {
      const room = DIGEST_MAX_MACHINES - live.machines.size;
      const joining = todo.filter((g) => live.machines.has(g.shown[0]!.machine_id) || todo.indexOf(g) < room);
      todo = todo.filter((g) => !joining.includes(g));
      const machines = new Map(live.machines);
      for (const g of joining) {
        const id = g.shown[0]!.machine_id;
        machines.set(id, [...(machines.get(id) ?? []), ...g.shown]);
      }
      const card = burstDigest([...machines.values()]);
      try {
        await this.d.budget.take();
        await this.d.slack.update({
          channel,
          ts: live.ts,
          text: card.text,
          blocks: card.blocks,
          eventIds: [...machines.values()].flat().map((e) => e.id),
        });
        live.machines = machines;
        live.lastAt = Date.now();
        for (const g of joining) delivered.push({ group: g, ts: live.ts });
      } catch (err) {
        this.d.logger.warn({ err: errorLine(err), channel }, 'echo: could not edit the burst message');
        this.digests.delete(channel);
        rest.push(...joining);
      }
    }
    if (todo.length === 1 && !live) return { delivered, rest: [...rest, ...todo] };
    for (let i = 0; i < todo.length; i += DIGEST_MAX_MACHINES) {
      const chunk = todo.slice(i, i + DIGEST_MAX_MACHINES);
      const machines = new Map<string, ClaimedEvent[]>();
      for (const g of chunk) {
        const id = g.shown[0]!.machine_id;
        machines.set(id, [...(machines.get(id) ?? []), ...g.shown]);
      }
      const card = burstDigest([...machines.values()]);
      try {
        await this.d.pacer.pace(channel);
        const sent = await this.d.slack
          .post({
            channel,
            text: card.text,
            blocks: card.blocks,
            eventIds: chunk.flatMap((g) => g.shown.map((e) => e.id)),
          })
          .finally(() => this.d.pacer.paced(channel));
        this.posted(channel);
        this.digests.set(channel, { ts: sent.ts, machines, lastAt: Date.now() });
        for (const g of chunk) delivered.push({ group: g, ts: sent.ts });
      } catch (err) {
        // The per-machine path posts them where they belong, with its fallbacks and retries.
        this.d.logger.warn({ err: errorLine(err), channel }, 'echo: could not post the burst message');
        rest.push(...chunk);
      }
    }
    if (this.digests.size > 1_000) {
      const now = Date.now();
      for (const [c, d] of this.digests) if (now - d.lastAt > this.d.liveMs) this.digests.delete(c);
    }
    return { delivered, rest };
  }
}
