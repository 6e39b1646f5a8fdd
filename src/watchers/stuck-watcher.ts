import { type ScheduledTask, schedule, validate } from 'node-cron';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { watcherBlind } from '../diagnose/rules/watcher-blind.ts';
import { errorLine } from '../errors/error-line.ts';
import { VyxError } from '../errors/vyx-error.ts';
import { type AppMachines, imageChecks, listApp } from '../evidence/gather-evidence.ts';
import { LOG_FETCHES_PER_TICK } from '../evidence/log-evidence.ts';
import { timed } from '../metrics.ts';
import type { UnmatchedWrite } from '../store/store-schemas.ts';
import { crashLoopingIds, crashLoopsOf, orphansOf } from './fleet-checks.ts';
import { attachLogs, judgeStuckPage, recordFound } from './judge-stuck-page.ts';
import type { ProvisionRecovery } from './provision-recovery.ts';
import type { TickReport, TickState } from './tick-report.ts';
import type { WatcherDeps } from './watcher-deps.ts';

export interface StuckWatcherOptions extends WatcherDeps {
  /** node-cron expression; default every 15 s. */
  schedule?: string;
  /** A row `starting` for longer than this is stuck. */
  stuckAfterS?: number;
  /** Leases outlive a crashed tick by this long at most. */
  leaseS?: number;
  /** Resolves provisionings left unfinished (crash, lost create answer) at the start of each tick. */
  recovery?: Pick<ProvisionRecovery, 'run'>;
  /** Stuck rows claimed per SQL call; default PAGE_ROWS. */
  pageRows?: number;
}

/** Stuck rows claimed per SQL call: a tick holds one page (and its diagnoses) per app at a time. */
export const PAGE_ROWS = 1_000;
/** Apps judged at once, each holding its machine list (watched fields only) while its rows are paged. */
const APPS_AT_ONCE = 4;

/** The key under which the watcher's own trouble is recorded (deduplicated like any diagnosis). */
export const WATCHER_KEY = 'watcher:fly';

/**
 * Flags rows stuck in `starting`: claims them with a lease (any number of replicas, no double
 * work), gathers live evidence in batches, diagnoses, records (dedup per row and code; the outbox
 * carries the card to Slack), and marks the row failed when the diagnosis is certain. Also finds
 * orphan machines, and raises one alert — not one per row — when it cannot see Fly at all.
 */
export class StuckWatcher {
  private readonly o: Required<Omit<StuckWatcherOptions, 'metrics' | 'recovery' | 'logs' | 'secretValues'>> &
    Pick<StuckWatcherOptions, 'metrics' | 'recovery' | 'logs' | 'secretValues'>;
  private task: ScheduledTask | undefined;
  private running: Promise<TickReport | undefined> | undefined;
  ticks = 0;

  constructor(options: StuckWatcherOptions) {
    this.o = {
      schedule: '*/15 * * * * *',
      stuckAfterS: 60,
      renotifyAfterS: 600,
      leaseS: 60,
      pageRows: PAGE_ROWS,
      now: () => new Date(),
      ...options,
    };
  }

  start(): void {
    if (!validate(this.o.schedule)) {
      throw new VyxError(
        'CONFIG_INVALID',
        `VYX_STUCK_SCHEDULE \`${this.o.schedule}\` is not a cron expression`,
        {
          suggestion: 'Use six fields with seconds, e.g. */15 * * * * * for every 15 s.',
        },
      );
    }
    this.task = schedule(this.o.schedule, () => {
      void this.runTick();
    });
  }

  async stop(): Promise<void> {
    await this.task?.stop();
    await this.running;
    await this.o.store.releaseLeases(this.o.owner).catch(() => {});
  }

  /** A tick unless one is still running (ticks never overlap within a replica). */
  runTick(): Promise<TickReport | undefined> {
    if (this.running) return this.running;
    this.running = this.tick()
      .catch((err: unknown) => {
        this.o.logger.error({ err: errorLine(err) }, 'stuck watcher tick failed');
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  tick(): Promise<TickReport> {
    return timed(this.o.metrics, 'stuck', () => this.tickOnce());
  }

  private async tickOnce(): Promise<TickReport> {
    const { store, logger, defaultApp } = this.o;
    this.ticks++;
    const now = this.o.now();
    // First the provisionings left unfinished: their machines get linked before anything below
    // could call them orphans, or their rows fail with a diagnosis of their own.
    const recovered = await (this.o.recovery?.run() ?? Promise.resolve([])).catch((err: unknown) => {
      logger.error({ err: errorLine(err) }, 'provisioning recovery failed');
      return [];
    });
    const report: TickReport = {
      claimed: 0,
      diagnosed: [],
      orphans: 0,
      flyRequests: 0,
      logRequests: 0,
      blind: [],
      recovered,
    };
    const stuck = await store.stuckApps({ defaultApp, olderThanS: this.o.stuckAfterS });
    let oldest = Number.POSITIVE_INFINITY;
    for (const a of stuck) oldest = Math.min(oldest, Date.parse(a.oldest));
    const tick: TickState = {
      now,
      report,
      stuck: new Map(stuck.map((a) => [a.fly_app, a.stuck])),
      failedApps: new Map(),
      images: imageChecks(this.o),
      writes: Number.isFinite(oldest) ? await this.unmatchedWrites(new Date(oldest)) : undefined,
      logBudget: { rows: LOG_FETCHES_PER_TICK, loops: LOG_FETCHES_PER_TICK },
    };
    // One app at a time (a few at once): its machines are held while its rows are paged through.
    // Orphans are looked for in the default app even when nothing is stuck.
    const apps = [...new Set([...tick.stuck.keys(), defaultApp])];
    let next = 0;
    const worker = async () => {
      while (next < apps.length) await this.judgeApp(apps[next++]!, tick);
    };
    await Promise.all(Array.from({ length: Math.min(APPS_AT_ONCE, apps.length) }, worker));
    report.flyRequests = 2 * apps.length;
    report.blind = [...tick.failedApps.keys()];
    // One alert for the watcher's own blindness, deduplicated and re-notified like any diagnosis.
    if (report.blind.length > 0) await this.recordBlind(tick.failedApps, now);
    else await this.resolveBlind();
    if (report.claimed || report.orphans || report.blind.length) {
      logger.info(
        {
          claimed: report.claimed,
          diagnosed: report.diagnosed.length,
          orphans: report.orphans,
          blind: report.blind,
        },
        'stuck watcher tick',
      );
    }
    return report;
  }

  /**
   * One app: its machines listed once (streamed, watched fields only), then its stuck rows claimed,
   * judged and recorded a page at a time (leases given back after each page), then its crash loops
   * and orphans. What is held at once: this app's machines and one page.
   */
  private async judgeApp(app: string, tick: TickState): Promise<void> {
    const { store, owner, defaultApp } = this.o;
    const { now, report } = tick;
    let listed: AppMachines;
    try {
      listed = await listApp(app, this.o);
    } catch (err) {
      // Cannot judge without Fly; the one alert says so. Its rows are counted, not claimed.
      tick.failedApps.set(app, err);
      report.claimed += tick.stuck.get(app) ?? 0;
      return;
    }
    // Crash loops are judged whatever the row says; those whose row is stuck here are judged with it.
    const looping = crashLoopingIds(listed.machines, now);
    let after: { statusChangedAt: string; machineId: string } | undefined;
    for (let more = tick.stuck.has(app); more; ) {
      const claimed = await store.claimStuckPage({
        owner,
        app,
        defaultApp,
        olderThanS: this.o.stuckAfterS,
        leaseS: this.o.leaseS,
        limit: this.o.pageRows,
        ...(after ? { after } : {}),
        // A provisioning still under its lease is the provisioner's to finish (or recovery's, later).
        skipProvisioning: this.o.recovery !== undefined,
      });
      more = claimed.length === this.o.pageRows;
      const last = claimed.at(-1);
      if (last) after = { statusChangedAt: last.status_changed_at, machineId: last.machine_id };
      if (claimed.length === 0) break;
      // The page's record gives its leases back in the same call; when it fails, they are given back alone.
      const release = { owner, machineIds: claimed.map((r) => r.machine_id), done: false };
      try {
        await judgeStuckPage(claimed, listed, looping, tick, release, this.o);
      } finally {
        if (!release.done)
          await store.releaseLeases(owner, release.machineIds).catch((err: unknown) => {
            this.o.logger.warn(
              { err: errorLine(err) },
              'could not release leases; they expire by themselves',
            );
          });
      }
    }
    const checks = {
      store,
      stuckAfterS: this.o.stuckAfterS,
      record: (found: { machineId: string; d: Diagnosis }[], markFailed: boolean) =>
        recordFound(found, markFailed, this.o),
      attachLogs: (found: { d: Diagnosis; input: DiagnosisInput }[], at: Date, limit: number) =>
        attachLogs(found, at, limit, this.o),
    };
    report.diagnosed.push(...(await crashLoopsOf(listed.machines, looping, now, tick.logBudget, checks)));
    // Awaited first: `report.orphans += await …` reads the total before the await, and apps judged
    // at once would each add to a stale total (one app's orphans lost).
    const orphans = await orphansOf(app, listed.machines, now, checks);
    report.orphans += orphans;
  }

  /**
   * One read per tick of the status writes that matched no row since the oldest stuck row entered
   * its status; each diagnosis shows those made since its own row did. A failed read costs only
   * this evidence.
   */
  private async unmatchedWrites(since: Date): Promise<UnmatchedWrite[] | undefined> {
    try {
      return await this.o.store.unmatchedStatusWrites(since);
    } catch (err) {
      this.o.logger.warn(
        { err: errorLine(err) },
        'could not read unmatched status writes; diagnosing without them',
      );
      return undefined;
    }
  }

  /** Fly answered every list: an open WATCHER_BLIND is over (its card is edited to resolved, once). */
  private async resolveBlind(): Promise<void> {
    await this.o.store
      .resolveWatcherBlind(WATCHER_KEY, 'Fly answering the watcher again')
      .catch((err: unknown) => {
        this.o.logger.warn(
          { err: errorLine(err) },
          'could not resolve WATCHER_BLIND; the next tick tries again',
        );
      });
  }

  private async recordBlind(failedApps: Map<string, unknown>, now: Date): Promise<void> {
    const d = watcherBlind({ failedApps, now });
    this.o.metrics?.diagnoses.inc({ code: d.code, source: 'watcher' });
    await this.o.store.recordDiagnosis({
      machineId: WATCHER_KEY,
      ...d,
      renotifyAfterS: this.o.renotifyAfterS,
    });
  }
}
