import { diagnose } from '../diagnose/diagnose.ts';
import type { Diagnosis, DiagnosisInput } from '../diagnose/diagnosis.ts';
import { errorLine } from '../errors/error-line.ts';
import { gatherEvidence } from '../evidence/gather-evidence.ts';
import { attachLogEvidence } from '../evidence/log-evidence.ts';
import type { Machine } from '../fly/fly-types.ts';
import { recordInChunks } from './record-in-chunks.ts';
import type { WatcherDeps } from './watcher-deps.ts';

export interface FastWatcherOptions extends WatcherDeps {
  /** VYX_FAST_WATCH_MS: one Fly list per app holding `starting` rows, this often. */
  intervalMs?: number;
  /** Same as the stuck watcher's, so both tell the same story. */
  stuckAfterS: number;
}

export interface FastTickReport {
  claimed: number;
  /** Apps listed this tick (one Fly list each). */
  apps: number;
  /** Registry checks this tick: only the images of machines Fly has settled. */
  registryChecks: number;
  recorded: { machineId: string; code: string; notice: 'diagnosis' | 'reminder' | null }[];
}

/** Fly has finished with the launch: nothing it does next can change a certain diagnosis. */
const SETTLED = new Set(['destroyed', 'stopped', 'failed']);
const settled = (m: Machine | null | undefined): m is Machine => !!m && SETTLED.has(m.state ?? '');

/**
 * Sees certain failures of `starting` rows (the bot's and the web UI's) within seconds instead of
 * after VYX_STUCK_AFTER_S: a machine destroyed after a failed launch, a config exit, an OOM.
 *
 * Why a list loop and not Fly's `wait` endpoint: `wait` is one held request per machine (1,000
 * starting machines → 1,000 open requests, each limited to one a second per machine), while one
 * `list?include_deleted` per app per interval sees every machine's state at once and costs the same
 * at 1 or 1,000 machines. It reuses the stuck watcher's evidence, catalogue and set-based recording,
 * so the backstop finds the diagnosis already recorded (dedup per row and code) and does not alert
 * again. Only certain diagnoses on machines Fly has settled are recorded; everything likely or
 * possible, and rows with no machine yet (NEVER_CREATED needs time), wait for the threshold.
 */
export class FastWatcher {
  private readonly o: Required<Omit<FastWatcherOptions, 'logs' | 'secretValues' | 'metrics'>> &
    Pick<FastWatcherOptions, 'logs' | 'secretValues' | 'metrics'>;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<FastTickReport | undefined> | undefined;
  private stopped = true;
  /** Ticks finished (tests wait on it). */
  ticks = 0;

  constructor(options: FastWatcherOptions) {
    this.o = { intervalMs: 2000, renotifyAfterS: 600, now: () => new Date(), ...options };
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Next tick `intervalMs` after this one ends: ticks never overlap, a slow Fly slows the loop. */
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runTick().finally(() => this.schedule());
    }, this.o.intervalMs);
  }

  runTick(): Promise<FastTickReport | undefined> {
    if (this.running) return this.running;
    this.running = this.tick()
      .catch((err: unknown) => {
        this.o.logger.error({ err: errorLine(err) }, 'fast watcher tick failed');
        return undefined;
      })
      .finally(() => {
        this.ticks++;
        this.running = undefined;
      });
    return this.running;
  }

  async tick(): Promise<FastTickReport> {
    const { store, owner } = this.o;
    const now = this.o.now();
    // Short leases: replicas split the rows; a crashed tick frees them within seconds.
    const leaseS = Math.max(5, Math.ceil((this.o.intervalMs * 3) / 1000));
    const claimed = await store.claimStuck({ owner, olderThanS: 0, leaseS, limit: 10_000 });
    const report: FastTickReport = { claimed: claimed.length, apps: 0, registryChecks: 0, recorded: [] };
    if (claimed.length === 0) return report;
    try {
      const busy = new Set(await store.provisioningInProgress(claimed.map((r) => r.machine_id)));
      const rows = claimed.filter((r) => r.status === 'starting' && !busy.has(r.machine_id));
      if (rows.length === 0) return report;
      const gathered = await gatherEvidence(rows, this.o, {
        now,
        stuckAfterS: this.o.stuckAfterS,
        // Only machines Fly has settled are judged here: a healthy start costs no registry check.
        checkImageOf: (_row, machine) => settled(machine),
      });
      report.apps = gathered.requests.list;
      report.registryChecks = gathered.requests.registry;
      this.o.metrics?.watcherRows.inc({ watcher: 'fast' }, rows.length);
      const found: { machineId: string; d: Diagnosis; input: DiagnosisInput }[] = [];
      for (const input of gathered.inputs) {
        if (!settled(input.machine)) continue;
        const d = diagnose(input);
        if (d.certainty === 'certain') found.push({ machineId: input.row.machine_id, d, input });
      }
      if (found.length === 0) return report;
      if (this.o.logs) {
        await attachLogEvidence(
          found,
          {
            logs: this.o.logs,
            defaultApp: this.o.defaultApp,
            ...(this.o.secretValues ? { secretValues: this.o.secretValues() } : {}),
          },
          { now },
        );
      }
      // Only certain diagnoses are here, so each fails its row.
      const recorded = await recordInChunks(found, {
        store,
        renotifyAfterS: this.o.renotifyAfterS,
        markFailed: true,
        source: 'fast',
        ...(this.o.metrics ? { metrics: this.o.metrics } : {}),
      });
      report.recorded = recorded.map((r) => ({ machineId: r.machine_id, code: r.code, notice: r.notice }));
      this.o.logger.info({ recorded: report.recorded }, 'fast watcher: certain failures');
      return report;
    } finally {
      await store
        .releaseLeases(
          owner,
          claimed.map((r) => r.machine_id),
        )
        .catch((err: unknown) => {
          this.o.logger.warn({ err: errorLine(err) }, 'could not release leases; they expire by themselves');
        });
    }
  }
}
