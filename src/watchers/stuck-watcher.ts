import { type ScheduledTask, schedule, validate } from 'node-cron';
import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { crashLooping } from '../diagnose/restart-history.ts';
import { orphanMachine } from '../diagnose/rules/orphan-machine.ts';
import { watcherBlind } from '../diagnose/rules/watcher-blind.ts';
import { errorLine } from '../errors/error-line.ts';
import { VyxError } from '../errors/vyx-error.ts';
import { gatherEvidence } from '../evidence/gather-evidence.ts';
import { attachLogEvidence } from '../evidence/log-evidence.ts';
import type { Machine } from '../fly/fly-types.ts';
import { timed } from '../metrics.ts';
import type { CloudMachine } from '../store/store-schemas.ts';
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
    const { store, logger, owner } = this.o;
    this.ticks++;
    const now = this.o.now();
    // First the provisionings left unfinished: their machines get linked before anything below
    // could call them orphans, or their rows fail with a diagnosis of their own.
    const recovered = await (this.o.recovery?.run() ?? Promise.resolve([])).catch((err: unknown) => {
      logger.error({ err: errorLine(err) }, 'provisioning recovery failed');
      return [];
    });
    const claimed = await store.claimStuck({
      owner,
      olderThanS: this.o.stuckAfterS,
      leaseS: this.o.leaseS,
      limit: 10_000,
    });
    // A provisioning still under its lease is the provisioner's to finish (or recovery's, later).
    const busy = new Set(
      claimed.length && this.o.recovery
        ? await store.provisioningInProgress(claimed.map((r) => r.machine_id))
        : [],
    );
    const rows = claimed.filter((r) => !busy.has(r.machine_id));
    this.o.metrics?.watcherRows.inc({ watcher: 'stuck' }, rows.length);
    const report: TickReport = {
      claimed: rows.length,
      diagnosed: [],
      orphans: 0,
      flyRequests: 0,
      logRequests: 0,
      blind: [],
      recovered,
    };
    try {
      const apps = new Set(rows.map((r) => r.fly_app ?? this.o.defaultApp));
      apps.add(this.o.defaultApp); // orphans are looked for even when nothing is stuck
      const gathered = await gatherEvidence(rows, this.o, {
        now,
        stuckAfterS: this.o.stuckAfterS,
        apps: [...apps],
      });
      report.flyRequests = gathered.requests.list + gathered.requests.secrets;
      await this.attachUnmatchedWrites(gathered.inputs);
      report.blind = [...gathered.failedApps.keys()];
      // One alert for the watcher's own blindness, deduplicated and re-notified like any diagnosis.
      if (report.blind.length > 0) await this.recordBlind(gathered.failedApps, now);
      else await this.resolveBlind();

      const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
      for (const input of gathered.inputs) {
        const app = input.row.fly_app ?? this.o.defaultApp;
        if (gathered.failedApps.has(app)) continue; // cannot judge without Fly; the one alert says so
        const d = diagnose(input);
        // Fly is still bringing it up (under its own five-minute line): nothing to say yet.
        if (d.code === 'UNKNOWN' && ['created', 'starting'].includes(input.machine?.state ?? '')) continue;
        found.push({ machineId: input.row.machine_id, d, input });
      }
      report.logRequests = await this.attachLogs(found, now);
      for (const r of await this.record(found)) {
        report.diagnosed.push({
          machineId: r.machine_id,
          code: r.code,
          notice: r.notice,
          markedFailed: r.marked_failed,
        });
      }

      report.diagnosed.push(...(await this.crashLoops(gathered.machinesByApp, rows, now)));

      const orphans: { machineId: string; d: Diagnosis }[] = [];
      for (const [app, machines] of gathered.machinesByApp) {
        const candidates = machines.filter(
          (m) =>
            m.state !== 'destroyed' &&
            Date.parse(m.created_at ?? '') <= now.getTime() - this.o.stuckAfterS * 1000 &&
            orphanMachine({ machine: m, app, now }) !== null,
        );
        if (candidates.length === 0) continue;
        const known = new Set(await store.knownFlyIds(candidates.map((m) => m.id)));
        for (const m of candidates) {
          if (!known.has(m.id))
            orphans.push({ machineId: `fly:${m.id}`, d: orphanMachine({ machine: m, app, now })! });
        }
      }
      report.orphans = (await this.record(orphans)).length;
    } finally {
      await store
        .releaseLeases(
          owner,
          claimed.map((r) => r.machine_id),
        )
        .catch((err: unknown) => {
          logger.warn({ err: errorLine(err) }, 'could not release leases; they expire by themselves');
        });
    }
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

  /** The machines' last log lines on the diagnoses that want them (bounded per tick). */
  private async attachLogs(found: { d: Diagnosis; input: DiagnosisInput }[], now: Date): Promise<number> {
    if (!this.o.logs) return 0;
    const { requests } = await attachLogEvidence(
      found,
      {
        logs: this.o.logs,
        defaultApp: this.o.defaultApp,
        ...(this.o.secretValues ? { secretValues: this.o.secretValues() } : {}),
      },
      { now },
    );
    return requests;
  }

  /**
   * One read per tick of the status writes that matched no row since the oldest claimed row entered
   * its status; each diagnosis shows those made since its own row did. A failed read costs only
   * this evidence.
   */
  private async attachUnmatchedWrites(inputs: DiagnosisInput[]): Promise<void> {
    let oldest = Number.POSITIVE_INFINITY;
    for (const i of inputs) {
      const t = Date.parse(i.row.status_changed_at);
      if (t < oldest) oldest = t;
    }
    if (!Number.isFinite(oldest)) return;
    try {
      const writes = await this.o.store.unmatchedStatusWrites(new Date(oldest));
      for (const input of inputs) input.unmatchedWrites = writes;
    } catch (err) {
      this.o.logger.warn(
        { err: errorLine(err) },
        'could not read unmatched status writes; diagnosing without them',
      );
    }
  }

  /**
   * Machines Fly keeps restarting (a crash loop) are diagnosed whatever their row says — the row
   * flips running/failed with each restart, so it is never `starting` for long. One diagnosis per
   * row and code (dedup in the database); the row is not marked failed: Fly is still restarting it.
   */
  private async crashLoops(
    machinesByApp: Map<string, Machine[]>,
    claimed: CloudMachine[],
    now: Date,
  ): Promise<TickReport['diagnosed']> {
    const seen = new Set(claimed.map((r) => r.fly_machine_id).filter(Boolean));
    const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
    for (const machines of machinesByApp.values()) {
      for (const machine of machines) {
        if (seen.has(machine.id) || !crashLooping(machine, now)) continue;
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
    }
    await this.attachLogs(found, now);
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
