import { flapStory, restartsIn, statusLine, storyWithDiagnosis } from '../slack/cards/echo-messages.ts';
import type { Card } from '../slack/cards/status-card.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';

/** How long after its last change a machine's status message may still be updated instead of followed. */
export const STORY_WINDOW_MS = 120_000;

interface Story {
  channel: string;
  threadTs: string | undefined;
  ts: string;
  /** Every status event the message tells, oldest first. */
  statuses: ClaimedEvent[];
  diagnosis: Card | undefined;
  lastAt: number;
}

/** Where a group of events goes: a new message, or the machine's story message updated in place. */
export interface StoryPlan {
  card: Card;
  updateTs?: string;
  /** Call once Slack has it: the ts updated, or the one posted (also when an update failed and it was posted instead). */
  commit(ts: string, nowMs: number): void;
}

/**
 * A machine's status changes as one story: a machine that restarts (running → failed → running …)
 * gets one message updated in place, with its diagnosis folded under it, instead of a post per
 * transition. Anything else posts as before. Kept in memory per replica: after a restart of the bot
 * (or on another replica) a flapping machine starts one new story.
 */
export class StatusStories {
  private readonly stories = new Map<string, Story>();
  private readonly windowMs: number;

  constructor(windowMs = STORY_WINDOW_MS) {
    this.windowMs = windowMs;
  }

  plan(
    events: ClaimedEvent[],
    place: { channel: string; threadTs: string | undefined },
    render: () => Card,
    nowMs: number,
  ): StoryPlan {
    const head = events[0]!;
    const id = head.machine_id;
    const story = this.stories.get(id);
    const live =
      story &&
      story.channel === place.channel &&
      story.threadTs === place.threadTs &&
      nowMs - story.lastAt <= this.windowMs
        ? story
        : undefined;
    const keep = (s: Omit<Story, 'ts' | 'lastAt'>) => (ts: string, at: number) => {
      this.stories.set(id, { ...s, ts, lastAt: at });
      this.prune(at);
    };

    if (head.kind === 'status') {
      const statuses = [...(live?.statuses ?? []), ...events];
      const flap = flapStory(statuses);
      if (live && flap) {
        return {
          card: storyWithDiagnosis(flap, live.diagnosis),
          updateTs: live.ts,
          commit: keep({ ...place, statuses, diagnosis: live.diagnosis }),
        };
      }
      // A new message; a group that already holds a restart starts its story at once.
      return {
        card: flapStory(events) ?? statusLine(events),
        commit: keep({ ...place, statuses: events, diagnosis: undefined }),
      };
    }
    const card = render();
    if ((head.kind === 'diagnosis' || head.kind === 'reminder') && live && restartsIn(live.statuses) > 0) {
      // The flapping machine's diagnosis joins its story: one message, and the card has its buttons.
      return {
        card: storyWithDiagnosis(flapStory(live.statuses)!, card),
        updateTs: live.ts,
        commit: keep({ ...place, statuses: live.statuses, diagnosis: card }),
      };
    }
    return { card, commit: () => {} };
  }

  /** Whether the machine has a story message still taking its changes (they stay where it is). */
  live(machineId: string, nowMs = Date.now()): boolean {
    const s = this.stories.get(machineId);
    return !!s && nowMs - s.lastAt <= this.windowMs;
  }

  /** Whether the machine's live story holds a restart (its running is no recovery). */
  flapping(machineId: string, nowMs = Date.now()): boolean {
    const s = this.stories.get(machineId);
    return !!s && nowMs - s.lastAt <= this.windowMs && restartsIn(s.statuses) > 0;
  }

  private prune(nowMs: number): void {
    if (this.stories.size < 1000) return;
    for (const [id, s] of this.stories) if (nowMs - s.lastAt > this.windowMs) this.stories.delete(id);
  }
}
