import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import type { ClaimedEvent } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { FoldGroup } from './burst-fold.ts';
import { type EchoPlace, shownOf } from './echo-delivery.ts';
import type { StatusStories } from './status-stories.ts';

export interface EchoRouting {
  store: Pick<VyxStore, 'ackEvents' | 'releaseEvents' | 'alertCards'>;
  logger: Logger;
  owner: string;
  /** Where events of rows with no channel go. */
  alertChannel?: string;
  stories: Pick<StatusStories, 'live'>;
  notifyOwner: (events: ClaimedEvent[]) => Promise<void>;
  handled: (events: ClaimedEvent[]) => void;
}

/** How long events of a row with a channel but no thread yet wait for the parent message. */
const THREAD_GRACE_MS = 15_000;

/**
 * Where each machine's events go. Events with nowhere to go are acknowledged (and logged); those of
 * a row whose parent message is being posted wait for its thread; a row with no thread of its own
 * follows up in its alert card's thread, so the channel gets nothing else.
 */
export async function routeEvents(
  events: ClaimedEvent[],
  r: EchoRouting,
): Promise<{ groups: FoldGroup[]; handled: number }> {
  const { store, logger, owner } = r;
  const byMachine = new Map<string, ClaimedEvent[]>();
  for (const e of events) byMachine.set(e.machine_id, [...(byMachine.get(e.machine_id) ?? []), e]);
  const groups: FoldGroup[] = [];
  let handled = 0;
  const unthreaded: FoldGroup[] = [];
  for (const machineEvents of byMachine.values()) {
    const head = machineEvents[0]!;
    const channel = head.slack_channel ?? r.alertChannel;
    if (!channel) {
      // Nowhere to say it: acknowledge so it does not block the machine's queue, and log it.
      logger.warn(
        { machineId: head.machine_id, events: machineEvents.map((e) => e.kind) },
        'echo: no channel for these events',
      );
      await r.notifyOwner(machineEvents);
      await store.ackEvents(
        owner,
        machineEvents.map((e) => ({ id: e.id, slackTs: null })),
      );
      r.handled(machineEvents);
      handled += machineEvents.length;
      continue;
    }
    const threadTs = head.slack_channel ? (head.slack_thread_ts ?? undefined) : undefined;
    if (head.slack_channel && !threadTs && Date.parse(head.created_at) > Date.now() - THREAD_GRACE_MS) {
      // The provisioner is posting the parent message right now: wait for its thread.
      await store.releaseEvents(
        owner,
        machineEvents.map((e) => e.id),
        1,
      );
      continue;
    }
    const place: EchoPlace = {
      channel,
      ...(threadTs ? { threadTs, parentTs: threadTs } : {}),
      hasRow: Boolean(head.slack_channel),
    };
    const group = { events: machineEvents, shown: shownOf(machineEvents, machineEvents), place };
    groups.push(group);
    // A story message (a flapping machine) keeps taking its changes where it is.
    if (!threadTs && !r.stories.live(head.machine_id)) unthreaded.push(group);
  }
  if (unthreaded.length > 0) {
    const cards = await store
      .alertCards(unthreaded.map((g) => g.events[0]!.machine_id))
      .catch((err: unknown) => {
        logger.warn({ err: errorLine(err) }, 'echo: could not look up alert cards; posting in the channel');
        return [];
      });
    const byId = new Map(cards.map((c) => [c.machine_id, c]));
    for (const g of unthreaded) {
      const card = byId.get(g.events[0]!.machine_id);
      if (card) g.place = { ...g.place, channel: card.channel, threadTs: card.ts };
    }
  }
  return { groups, handled };
}

/** The groups by the channel they go to. */
export function byChannel(groups: FoldGroup[]): Map<string, FoldGroup[]> {
  const out = new Map<string, FoldGroup[]>();
  for (const g of groups) out.set(g.place.channel, [...(out.get(g.place.channel) ?? []), g]);
  return out;
}
