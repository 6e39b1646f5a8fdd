import { type ScheduledTask, schedule, validate } from 'node-cron';
import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { crashLooping } from '../diagnose/restart-history.ts';
import { orphanMachine } from '../diagnose/rules/orphan-machine.ts';
import { watcherBlind } from '../diagnose/rules/watcher-blind.ts';
import { errorLine } from '../errors/error-line.ts';
import { VyxError } from '../errors/vyx-error.ts';
import {
  type AppMachines,
  type ImageChecks,
  imageChecks,
  inputsForApp,
  listApp,
} from '../evidence/gather-evidence.ts';
import { attachLogEvidence, LOG_FETCHES_PER_TICK } from '../evidence/log-evidence.ts';
import type { Machine } from '../fly/fly-types.ts';
import { timed } from '../metrics.ts';
import type { CloudMachine, UnmatchedWrite } from '../store/store-schemas.ts';
import type { VyxStore } from '../store/vyx-store.ts';
import type { ProvisionRecovery, Recovered } from './provision-recovery.ts';
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

export interface TickReport {
  claimed: number;
  diagnosed: {
    machineId: string;
    code: string;
    notice: 'diagnosis' | 'reminder' | null;
    markedFailed: boolean;
  }[];
  orphans: number;
  flyRequests: number;
  /** Requests to Fly's logs endpoint this tick (bounded). */
  logRequests: number;
  /** Apps Fly could not list this tick. */
  blind: string[];
  /** Unfinished provisionings resolved this tick. */
  recovered: Recovered[];
}

/** Stuck rows claimed per SQL call: a tick holds one page (and its diagnoses) per app at a time. */
export const PAGE_ROWS = 1_000;
/** Apps judged at once, each holding its machine list (watched fields only) while its rows are paged. */
const APPS_AT_ONCE = 4;

/** What one tick carries from app to app. */
interface TickState {
  now: Date;
  report: TickReport;
  /** Claimable stuck rows per app when the tick began. */
  stuck: Map<string, number>;
  failedApps: Map<string, unknown>;
  images: ImageChecks;
  writes: UnmatchedWrite[] | undefined;
  /** Log requests left this tick: for stuck rows, and for crash loops. */
  logBudget: { rows: number; loops: number };
}

/** Diagnoses recorded per SQL call, at most; and at most about this many bytes of them. */
const RECORD_CHUNK = 1_000;
const RECORD_CHUNK_BYTES = 512 * 1024;

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
    const looping = new Set(listed.machines.filter((m) => crashLooping(m, now)).map((m) => m.id));
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
      try {
        await this.judgePage(claimed, listed, looping, tick);
      } finally {
        await store
          .releaseLeases(
            owner,
            claimed.map((r) => r.machine_id),
          )
          .catch((err: unknown) => {
            this.o.logger.warn(
              { err: errorLine(err) },
              'could not release leases; they expire by themselves',
            );
          });
      }
    }
    report.diagnosed.push(...(await this.crashLoops(listed.machines, looping, now, tick.logBudget)));
    report.orphans += await this.orphans(app, listed.machines, now);
  }

  /** One page of one app's claimed rows: evidence, diagnosis, the logs some want, the record. */
  private async judgePage(
    rows: CloudMachine[],
    listed: AppMachines,
    looping: Set<string>,
    tick: TickState,
  ): Promise<void> {
    const { now, report } = tick;
    this.o.metrics?.watcherRows.inc({ watcher: 'stuck' }, rows.length);
    report.claimed += rows.length;
    for (const r of rows) if (r.fly_machine_id) looping.delete(r.fly_machine_id);
    const inputs = await inputsForApp(rows, listed, tick.images, {
      now,
      stuckAfterS: this.o.stuckAfterS,
    });
    const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
    for (const input of inputs) {
      if (tick.writes) input.unmatchedWrites = tick.writes;
      const d = diagnose(input);
      // Fly is still bringing it up (under its own five-minute line): nothing to say yet.
      if (d.code === 'UNKNOWN' && ['created', 'starting'].includes(input.machine?.state ?? '')) continue;
      found.push({ machineId: input.row.machine_id, d, input });
    }
    // Taken from the budget before the requests go out: pages of other apps run meanwhile.
    const allowed = tick.logBudget.rows;
    tick.logBudget.rows = 0;
    const logs = await this.attachLogs(found, now, allowed);
    tick.logBudget.rows += allowed - logs;
    report.logRequests += logs;
    for (const r of await this.record(found)) {
      report.diagnosed.push({
        machineId: r.machine_id,
        code: r.code,
        notice: r.notice,
        markedFailed: r.marked_failed,
      });
    }
  }

  /** Machines of one app that no row points at (vyxbot's metadata, old enough): one diagnosis each. */
  private async orphans(app: string, machines: Machine[], now: Date): Promise<number> {
    const candidates = machines.filter(
      (m) =>
        m.state !== 'destroyed' &&
        Date.parse(m.created_at ?? '') <= now.getTime() - this.o.stuckAfterS * 1000 &&
        orphanMachine({ machine: m, app, now }) !== null,
    );
    if (candidates.length === 0) return 0;
    const known = new Set(await this.o.store.knownFlyIds(candidates.map((m) => m.id)));
    const orphans: { machineId: string; d: Diagnosis }[] = [];
    for (const m of candidates) {
      if (!known.has(m.id))
        orphans.push({ machineId: `fly:${m.id}`, d: orphanMachine({ machine: m, app, now })! });
    }
    return (await this.record(orphans)).length;
  }

  /** The machines' last log lines on the diagnoses that want them (bounded per tick). */
  private async attachLogs(
    found: { d: Diagnosis; input: DiagnosisInput }[],
    now: Date,
    limit: number,
  ): Promise<number> {
    if (!this.o.logs || limit <= 0) return 0;
    const { requests } = await attachLogEvidence(
      found,
      {
        logs: this.o.logs,
        defaultApp: this.o.defaultApp,
        ...(this.o.secretValues ? { secretValues: this.o.secretValues() } : {}),
      },
      { now, limit },
    );
    return requests;
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

  /**
   * Machines Fly keeps restarting (a crash loop) are diagnosed whatever their row says — the row
   * flips running/failed with each restart, so it is never `starting` for long. One diagnosis per
   * row and code (dedup in the database); the row is not marked failed: Fly is still restarting it.
   */
  private async crashLoops(
    machines: Machine[],
    looping: Set<string>,
    now: Date,
    budget: { loops: number },
  ): Promise<TickReport['diagnosed']> {
    const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
    for (const machine of machines) {
      if (!looping.has(machine.id)) continue;
      const row = await this.o.store.findMachine({ flyMachineId: machine.id });
      if (!row || row.status === 'destroyed') continue;
      const input: DiagnosisInput = {
        row,
        machine,
        matchedBy: 'fly_machine_id',
        now,
        stuckAfterS: this.o.stuckAfterS,
      };
      const d = diagnose(input);
      if (d.code !== 'UNKNOWN') found.push({ machineId: row.machine_id, d, input });
    }
    const allowed = budget.loops;
    budget.loops = 0;
    budget.loops += allowed - (await this.attachLogs(found, now, allowed));
    const recorded = await this.record(found, false);
    return recorded.map((r) => ({
      machineId: r.machine_id,
      code: r.code,
      notice: r.notice,
      markedFailed: r.marked_failed,
    }));
  }

  /**
   * Records diagnoses in chunks, one SQL call each (one call per row made a 10,000-row tick ~14×
   * slower). A chunk is bounded by count and by size: evidence grows with what Fly says, and a
   * request body past PostgREST's gateway limit would fail the whole chunk.
   */
  private async record(found: { machineId: string; d: Diagnosis }[], markFailed = true) {
    const out: Awaited<ReturnType<VyxStore['recordDiagnoses']>> = [];
    const items = found.map(({ machineId, d }) => ({
      machineId,
      code: d.code,
      summary: d.summary,
      evidence: d.evidence,
      fix: d.fix,
      certainty: d.certainty,
      markFailed: markFailed && d.certainty === 'certain',
    }));
    let chunk: typeof items = [];
    let bytes = 0;
    const flush = async () => {
      if (chunk.length === 0) return;
      for (const item of chunk) this.o.metrics?.diagnoses.inc({ code: item.code, source: 'watcher' });
      out.push(...(await this.o.store.recordDiagnoses(chunk, this.o.renotifyAfterS)));
      chunk = [];
      bytes = 0;
    };
    for (const item of items) {
      const size = JSON.stringify(item).length;
      if (chunk.length >= RECORD_CHUNK || bytes + size > RECORD_CHUNK_BYTES) await flush();
      chunk.push(item);
      bytes += size;
    }
    await flush();
    return out;
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
