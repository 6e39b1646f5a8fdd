import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import { HOME_MACHINES_MAX, homeView } from '../slack/views/home-view.ts';
import type { ViewPublisher } from '../slack/views/view-publisher.ts';
import type { VyxStore } from '../store/vyx-store.ts';

export interface HomeRefresherOptions {
  store: Pick<VyxStore, 'getIdentity' | 'listMachines' | 'fleetGlance'>;
  views: ViewPublisher;
  logger: Logger;
  now: () => Date;
  /** Starting longer than this counts as stuck on an admin's Home. */
  stuckAfterS: number;
  /** Changes within this long of the first are shown in one re-render. Default 1 000 ms. */
  debounceMs?: number;
  /** Oldest rows listed per fleet group. Default 5. */
  perGroup?: number;
  /** People remembered (the most recent openers); default 5 000. */
  maxRemembered?: number;
}

interface Opener {
  teamId: string;
  /** The vyx user they are linked to, as last seen (null: not linked). */
  userId: string | null;
  admin: boolean;
}

/**
 * App Home: renders a person's Home (their machines; the fleet for admins) when they open it, and
 * again when the machines it shows change — only for people who opened it (remembered), and at most
 * once per `debounceMs` each however many events come. A failed render is logged, not retried: the
 * next change or the next opening renders again.
 */
export class HomeRefresher {
  private readonly openers = new Map<string, Opener>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly rendering = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private stopped = false;
  /** Home tabs published so far (tests and the shell read it). */
  published = 0;

  private readonly o: HomeRefresherOptions;

  constructor(options: HomeRefresherOptions) {
    this.o = options;
  }

  /** `app_home_opened`: remember the person and render their Home now. */
  async opened(teamId: string, slackUserId: string): Promise<void> {
    this.remember(slackUserId, { teamId, userId: null, admin: false });
    await this.render(slackUserId);
  }

  /** The echo handled events of a machine: re-render the Homes that show it (its owner's, admins'). */
  machineChanged(e: { userId: string; machineId: string }): void {
    const owner = e.userId.toLowerCase();
    for (const [slackUserId, who] of this.openers) {
      if (who.admin || who.userId?.toLowerCase() === owner) this.schedule(slackUserId);
    }
  }

  /** Renders still waiting or running (the shell's "settled" waits for them). */
  busy(): boolean {
    return this.timers.size > 0 || this.rendering.size > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.rendering.values());
  }

  private remember(slackUserId: string, who: Opener): void {
    const known = this.openers.get(slackUserId);
    this.openers.delete(slackUserId);
    this.openers.set(slackUserId, known ? { ...known, teamId: who.teamId } : who);
    const max = this.o.maxRemembered ?? 5_000;
    // The least recent opener goes first (a Map keeps insertion order).
    while (this.openers.size > max) this.openers.delete(this.openers.keys().next().value!);
  }

  private schedule(slackUserId: string): void {
    if (this.stopped || this.timers.has(slackUserId)) return;
    const timer = setTimeout(() => {
      this.timers.delete(slackUserId);
      void this.render(slackUserId);
    }, this.o.debounceMs ?? 1_000);
    timer.unref?.();
    this.timers.set(slackUserId, timer);
  }

  /** One render at a time per person; a change during a render renders once more after it. */
  private render(slackUserId: string): Promise<void> {
    const running = this.rendering.get(slackUserId);
    if (running) {
      this.again.add(slackUserId);
      return running;
    }
    const work = this.renderOnce(slackUserId)
      .catch((err: unknown) =>
        this.o.logger.warn({ err: errorLine(err), slackUserId }, 'App Home could not be published'),
      )
      .finally(() => {
        this.rendering.delete(slackUserId);
        if (this.again.delete(slackUserId)) this.schedule(slackUserId);
      });
    this.rendering.set(slackUserId, work);
    return work;
  }

  private async renderOnce(slackUserId: string): Promise<void> {
    const who = this.openers.get(slackUserId);
    if (!who || this.stopped) return;
    const { store, now } = this.o;
    const identity = await store.getIdentity(who.teamId, slackUserId);
    who.userId = identity?.user_id ?? null;
    who.admin = identity?.role === 'admin';
    const [machines, fleet] = await Promise.all([
      identity
        ? store.listMachines({ userId: identity.user_id, limit: HOME_MACHINES_MAX + 1 })
        : Promise.resolve([]),
      who.admin ? store.fleetGlance(this.o.stuckAfterS, this.o.perGroup ?? 5) : Promise.resolve(undefined),
    ]);
    const view = homeView({
      linked: identity !== null,
      machines: machines.slice(0, HOME_MACHINES_MAX),
      more: machines.length > HOME_MACHINES_MAX,
      ...(fleet ? { fleet } : {}),
      now: now(),
    });
    await this.o.views.publishHome(slackUserId, view);
    this.published += 1;
  }
}
