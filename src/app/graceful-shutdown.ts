import type { App } from '@slack/bolt';
import { errorLine } from '../errors/error-line.ts';
import type { Logger } from '../logger.ts';
import type { Health } from '../observability/health.ts';
import type { AbandonedProvision } from '../provision/abandon-provision.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { Bot } from './create-bot.ts';

export interface ShutdownReport {
  why: string;
  /** Every command and provisioning finished by itself. */
  drained: boolean;
  abandoned: AbandonedProvision[];
  /** The watchers stopped and gave their leases back (else the leases were released directly). */
  watchersStopped: boolean;
  ms: number;
  withinDeadline: boolean;
}

/** Waits for `p` until `at` (epoch ms); true when it settled in time. */
async function until(p: Promise<unknown>, at: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, at - Date.now()));
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * SIGTERM, in order, all within `deadlineMs`:
 * 1. stop taking commands: /readyz says 503, the receiver closes (a command that still arrives is
 *    answered "restarting, try again"); the watchers stop and give back their leases and claimed
 *    outbox events, so another replica takes them at once;
 * 2. let commands and provisionings in flight finish, until the deadline less a reserve (half of
 *    it, at most 4 s) for 3–4;
 * 3. give up on provisionings still running (unless their runtime already reported): row failed
 *    with a diagnosis, half-made Fly machine destroyed, user told to start again (no row is left
 *    `starting` by the bot);
 * 4. release whatever leases are still held (if a watcher did not stop in time), close the
 *    database and the twins.
 */
export async function gracefulShutdown(o: {
  why: string;
  deadlineMs: number;
  logger: Logger;
  health: Health;
  app: App;
  bot: Bot;
  store: VyxStore;
  stopSlack: () => Promise<void>;
  close: () => Promise<void>;
}): Promise<ShutdownReport> {
  const { bot, logger } = o;
  const t0 = Date.now();
  const deadline = t0 + o.deadlineMs;
  // The last part of the deadline is kept for giving up on what is left, releasing and closing.
  const reserve = Math.min(4_000, o.deadlineMs * 0.5);
  logger.info(
    {
      why: o.why,
      deadlineS: o.deadlineMs / 1000,
      inFlight: bot.tracker.inFlight,
      provisioning: bot.provisioner.busy(),
    },
    'shutting down: no new commands; finishing the work in flight',
  );
  o.health.setDraining();
  bot.tracker.draining = true;
  const receiverClosed = until(
    o.stopSlack().then(() => o.app.stop()),
    deadline - reserve,
  );
  const watchers = until(bot.stop(), deadline - reserve);

  let drained = !bot.busy();
  while (!drained && Date.now() < deadline - reserve) {
    await new Promise((r) => setTimeout(r, 50));
    drained = !bot.busy();
  }
  let abandoned: AbandonedProvision[] = [];
  if (!drained) {
    logger.warn(
      { inFlight: bot.tracker.inFlight },
      'work still in flight at the shutdown deadline: giving up on it',
    );
    const giveUp = bot.abandonProvisions(`${o.why}: vyxbot stopped before this provisioning finished`);
    await until(
      giveUp.then((a) => {
        abandoned = a;
      }),
      deadline - reserve / 4,
    );
  }
  const watchersStopped = await watchers;
  await receiverClosed;
  // Whatever a watcher still held (it did not stop in time) goes back now; audit rows still
  // waiting for their batch are written.
  await until(
    Promise.all([
      o.store.settled(),
      o.store
        .releaseLeases(bot.owner)
        .catch((err: unknown) => logger.warn({ err: errorLine(err) }, 'release leases')),
      o.store
        .releaseEvents(bot.owner)
        .catch((err: unknown) => logger.warn({ err: errorLine(err) }, 'release events')),
    ]),
    deadline - reserve / 8,
  );
  await until(o.close(), deadline);
  const ms = Date.now() - t0;
  const report: ShutdownReport = {
    why: o.why,
    drained,
    abandoned,
    watchersStopped,
    ms,
    withinDeadline: ms <= o.deadlineMs,
  };
  logger.info(report, 'shutdown complete');
  return report;
}
