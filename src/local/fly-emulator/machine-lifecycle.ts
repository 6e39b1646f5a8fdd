/**
 * How an emulated machine lives: created → starting → started → (stopping →) stopped → destroyed,
 * with Fly's events (launch, start, exit with exit_event, destroy), the restart policy
 * (`no`, `always`, `on-failure` with max_retries; on-failure is the default) and `auto_destroy`.
 * Each launched machine is a real child process; an image outside the catalogue fails to launch
 * and, with `auto_destroy`, is destroyed (incident 001). What an exit means (its event, the restart
 * policy) is machine-exit.ts, `wait` is wait-for-state.ts, captured lines are log-entry.ts, what is
 * kept per machine besides its record is machine-runtimes.ts.
 */
import { type ImageCatalogue, pullFailure } from './image-catalogue.ts';
import { LOG_LINES_KEPT, type LogEntry, logEntryMaker } from './log-entry.ts';
import { machineEnv } from './machine-env.ts';
import { bulkStopEvent, machineExit } from './machine-exit.ts';
import { type MachineProcess, type ProcessExit, spawnMachineProcess } from './machine-process.ts';
import { createMachineRuntimes } from './machine-runtimes.ts';
import type { MachineRecord, MachineStore } from './machine-store.ts';
import { shutDownProcesses } from './shut-down-processes.ts';
import { type WaitOutcome, waitForState } from './wait-for-state.ts';

export interface LifecycleTiming {
  /** From launch to the failure of an image the emulator does not hold. Default 100 ms. */
  launchFailMs: number;
  /** First restart delay (doubles, at most 2 s). Default 100 ms. */
  restartBackoffMs: number;
  /** Default stop timeout before SIGKILL. Default 5 000 ms. */
  stopTimeoutMs: number;
  /** close(): SIGTERM, then SIGKILL after this. Default 1 500 ms. */
  closeGraceMs: number;
}

export interface MachineLifecycle {
  launch(record: MachineRecord): void;
  /** Returns false when there was nothing to stop. */
  stop(record: MachineRecord, options?: { signal?: NodeJS.Signals; timeoutMs?: number }): boolean;
  /** Returns the previous state. */
  start(record: MachineRecord): string;
  /** Throws 'not-stopped' when the machine runs and force is false. */
  destroy(record: MachineRecord, force: boolean): void;
  waitFor(record: MachineRecord, states: string[], timeoutMs: number): Promise<WaitOutcome>;
  /** `stdout: …` lines, oldest first. */
  logs(record: MachineRecord): string[];
  /** The same lines with their time and stream, for the logs endpoint. */
  logEntries(record: MachineRecord): LogEntry[];
  livePids(): number[];
  /** Whether anything still acts on the machine: a live process, a timer, a waiter. */
  isBusy(record: MachineRecord): boolean;
  /** Drops what the lifecycle keeps of a machine that is not busy (its logs). */
  forget(record: MachineRecord): void;
  closeAll(): Promise<void>;
  /** Synchronous last resort (process 'exit'): SIGKILL every process group. */
  killAllNow(): void;
}

const ACTIVE = new Set(['starting', 'started', 'stopping']);

export function createMachineLifecycle(options: {
  store: MachineStore;
  catalogue: ImageCatalogue;
  timing: LifecycleTiming;
  path: string;
  now: () => number;
  log?: (line: string) => void;
}): MachineLifecycle {
  const { store, catalogue, timing, now } = options;
  const entry = logEntryMaker(now);
  const allProcesses = new Set<MachineProcess>();
  const closers = new Set<() => void>();
  let closing = false;
  const runtimes = createMachineRuntimes(() => closing);
  const { runtimeOf, later, clearTimers } = runtimes;

  const notify = (record: MachineRecord) => {
    for (const waiter of [...runtimeOf(record).waiters]) waiter();
  };

  const setState = (record: MachineRecord, state: string) => {
    store.setState(record, state);
    notify(record);
  };

  const markDestroyed = (record: MachineRecord, source: 'user' | 'flyd') => {
    clearTimers(record);
    store.addEvent(record, { type: 'destroy', status: 'destroyed', source });
    setState(record, 'destroyed');
  };

  const afterStopped = (record: MachineRecord) => {
    if (record.config.auto_destroy === true) markDestroyed(record, 'flyd');
  };

  const onExit = (record: MachineRecord, exit: ProcessExit) => {
    const runtime = runtimeOf(record);
    runtime.process = undefined;
    if (record.state === 'destroyed') return;
    const { event, restartDelayMs } = machineExit(record, exit, {
      requested: runtime.stopRequested,
      closing,
      exitedAt: now(),
      restartBackoffMs: timing.restartBackoffMs,
    });
    store.addEvent(record, event);
    if (restartDelayMs !== undefined) {
      record.restartCount += 1;
      setState(record, 'starting');
      later(record, restartDelayMs, () => boot(record));
      return;
    }
    setState(record, 'stopped');
    afterStopped(record);
  };

  /** Starts the machine's process (state is `starting`). */
  const boot = (record: MachineRecord) => {
    const runtime = runtimeOf(record);
    runtime.stopRequested = false;
    if (record.bulk) {
      store.addEvent(record, { type: 'start', status: 'started', source: 'flyd' });
      setState(record, 'started');
      return;
    }
    const image = catalogue.resolve(record.config.image);
    if (!image) {
      later(record, timing.launchFailMs, () => {
        if (record.state !== 'starting') return;
        store.addEvent(record, {
          type: 'launch',
          status: 'failed',
          source: 'flyd',
          request: { error: pullFailure(catalogue, String(record.config.image)) },
        });
        if (record.config.auto_destroy === true) markDestroyed(record, 'flyd');
        else setState(record, 'failed');
      });
      return;
    }
    const app = store.app(record.app);
    const child = spawnMachineProcess({
      command: image.command,
      cwd: image.cwd,
      env: machineEnv(record, app, options.path),
      onOutput: (stream, line) => {
        runtime.logs.push(entry(stream, line));
        if (runtime.logs.length > LOG_LINES_KEPT) runtime.logs.shift();
        options.log?.(`[${record.id}] ${line}`);
      },
    });
    runtime.process = child;
    allProcesses.add(child);
    void child.started.then((ok) => {
      if (!ok || record.state !== 'starting') return;
      store.addEvent(record, { type: 'start', status: 'started', source: 'flyd' });
      setState(record, 'started');
    });
    void child.exited.then((exit) => {
      allProcesses.delete(child);
      if (exit.spawnError) runtime.logs.push(entry('stderr', exit.spawnError));
      onExit(record, exit);
    });
  };

  const lifecycle: MachineLifecycle = {
    launch(record) {
      if (closing) return;
      setState(record, 'starting');
      boot(record);
    },

    stop(record, stopOptions = {}) {
      const runtime = runtimeOf(record);
      if (record.state === 'stopped' || record.state === 'created' || record.state === 'failed') return false;
      runtime.stopRequested = true;
      if (record.bulk || !runtime.process) {
        // Bulk machine, or one waiting to restart / to fail its launch: nothing runs.
        clearTimers(record);
        if (record.bulk && record.state === 'started') store.addEvent(record, bulkStopEvent(record, now()));
        setState(record, 'stopped');
        afterStopped(record);
        return true;
      }
      const child = runtime.process;
      setState(record, 'stopping');
      child.kill(stopOptions.signal ?? 'SIGTERM');
      const timeoutMs = stopOptions.timeoutMs ?? timing.stopTimeoutMs;
      later(record, timeoutMs, () => {
        if (child.isAlive()) child.kill('SIGKILL');
      });
      return true;
    },

    start(record) {
      const previous = record.state;
      if (previous === 'stopped' || previous === 'created' || previous === 'failed') lifecycle.launch(record);
      return previous;
    },

    destroy(record, force) {
      const runtime = runtimeOf(record);
      if (ACTIVE.has(record.state) && !force) throw new Error('not-stopped');
      runtime.stopRequested = true;
      const child = runtime.process;
      markDestroyed(record, 'user');
      child?.kill('SIGKILL');
    },

    waitFor(record, states, timeoutMs) {
      return waitForState(record, states, timeoutMs, { waiters: () => runtimeOf(record).waiters, closers });
    },

    logs(record) {
      return runtimeOf(record).logs.map((e) => `${e.stream}: ${e.line}`);
    },
    logEntries(record) {
      return [...runtimeOf(record).logs];
    },

    isBusy: runtimes.isBusy,
    forget: runtimes.forget,

    livePids() {
      return [...allProcesses]
        .filter((child) => child.isAlive() && child.pid !== undefined)
        .map((c) => c.pid!);
    },

    async closeAll() {
      closing = true;
      runtimes.clearAllTimers();
      for (const close of [...closers]) close();
      await shutDownProcesses([...allProcesses], timing.closeGraceMs);
    },

    killAllNow() {
      for (const child of allProcesses) child.kill('SIGKILL');
    },
  };
  return lifecycle;
}
