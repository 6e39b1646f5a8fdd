/**
 * How an emulated machine lives: created → starting → started → (stopping →) stopped → destroyed,
 * with Fly's events (launch, start, exit with exit_event, destroy), the restart policy
 * (`no`, `always`, `on-failure` with max_retries; on-failure is the default) and `auto_destroy`.
 * Each launched machine is a real child process; an image outside the catalogue fails to launch
 * and, with `auto_destroy`, is destroyed (incident 001).
 */
import { type ImageCatalogue, pullFailure } from './image-catalogue.ts';
import { machineEnv } from './machine-env.ts';
import {
  type MachineProcess,
  type ProcessExit,
  signalNumber,
  spawnMachineProcess,
} from './machine-process.ts';
import type { MachineRecord, MachineStore } from './machine-store.ts';

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

export type WaitOutcome = 'reached' | 'timeout' | 'gone' | 'failed' | 'closing';

interface Runtime {
  process?: MachineProcess;
  stopRequested: boolean;
  timers: Set<NodeJS.Timeout>;
  waiters: Set<() => void>;
  logs: LogEntry[];
}

/** One captured line, as the logs endpoint serves it. */
export interface LogEntry {
  /** Milliseconds since the epoch (the emulator's clock). */
  at: number;
  /** Nanosecond Unix time, unique and increasing: Fly's `next_token` cursor. */
  ns: bigint;
  stream: 'stdout' | 'stderr';
  line: string;
}

/** Lines kept per machine: Fly keeps days of them, the emulator only the newest (bounded memory). */
export const LOG_LINES_KEPT = 500;

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
const SETTLED = new Set(['started', 'stopped', 'suspended', 'failed', 'destroyed']);

export function createMachineLifecycle(options: {
  store: MachineStore;
  catalogue: ImageCatalogue;
  timing: LifecycleTiming;
  path: string;
  now: () => number;
  log?: (line: string) => void;
}): MachineLifecycle {
  const { store, catalogue, timing, now } = options;
  let lastNs = 0n;
  const entry = (stream: LogEntry['stream'], line: string): LogEntry => {
    const at = now();
    const ns = BigInt(at) * 1_000_000n;
    lastNs = ns > lastNs ? ns : lastNs + 1n;
    return { at, ns: lastNs, stream, line };
  };
  const runtimes = new Map<string, Runtime>();
  const allProcesses = new Set<MachineProcess>();
  const closers = new Set<() => void>();
  let closing = false;

  const runtimeOf = (record: MachineRecord): Runtime => {
    let runtime = runtimes.get(record.id);
    if (!runtime) {
      runtime = { stopRequested: false, timers: new Set(), waiters: new Set(), logs: [] };
      runtimes.set(record.id, runtime);
    }
    return runtime;
  };

  const notify = (record: MachineRecord) => {
    for (const waiter of [...runtimeOf(record).waiters]) waiter();
  };

  const setState = (record: MachineRecord, state: string) => {
    store.setState(record, state);
    notify(record);
  };

  const later = (record: MachineRecord, ms: number, fn: () => void) => {
    const runtime = runtimeOf(record);
    const timer = setTimeout(() => {
      runtime.timers.delete(timer);
      if (!closing) fn();
    }, ms);
    runtime.timers.add(timer);
  };

  const clearTimers = (record: MachineRecord) => {
    const runtime = runtimeOf(record);
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers.clear();
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
    const requested = runtime.stopRequested;
    const signalled = exit.signal !== null;
    const exitCode = exit.code ?? (signalled ? 128 + Math.max(0, signalNumber(exit.signal)) : 0);
    const restart = (record.config.restart ?? {}) as { policy?: string; max_retries?: number };
    const policy = restart.policy === 'no' || restart.policy === 'always' ? restart.policy : 'on-failure';
    const maxRetries = restart.max_retries ?? 10;
    const restarting =
      !requested &&
      !closing &&
      (policy === 'always' ||
        (policy === 'on-failure' && exitCode !== 0 && record.restartCount < maxRetries));
    store.addEvent(record, {
      type: 'exit',
      status: 'stopped',
      source: 'flyd',
      request: {
        exit_event: {
          exit_code: exitCode,
          guest_exit_code: exit.code ?? 0,
          guest_signal: signalNumber(exit.signal),
          // A SIGKILL nobody asked for is how the kernel's OOM killer looks from outside.
          oom_killed: exit.signal === 'SIGKILL' && !requested,
          requested_stop: requested,
          restarting,
          signal: signalNumber(exit.signal),
          exited_at: now(),
        },
        restart_count: record.restartCount,
      },
    });
    if (restarting) {
      const delay = Math.min(2_000, timing.restartBackoffMs * 2 ** record.restartCount);
      record.restartCount += 1;
      setState(record, 'starting');
      later(record, delay, () => boot(record));
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
        if (record.bulk && record.state === 'started') {
          store.addEvent(record, {
            type: 'exit',
            status: 'stopped',
            source: 'flyd',
            request: {
              exit_event: {
                exit_code: 0,
                oom_killed: false,
                requested_stop: true,
                restarting: false,
                exited_at: now(),
              },
              restart_count: record.restartCount,
            },
          });
        }
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
      const reached = () =>
        states.includes(record.state) || (states.includes('settled') && SETTLED.has(record.state));
      if (reached()) return Promise.resolve('reached');
      if (record.state === 'destroyed') return Promise.resolve('gone');
      const runtime = runtimeOf(record);
      return new Promise((resolve) => {
        const finish = (outcome: WaitOutcome) => {
          clearTimeout(timer);
          runtime.waiters.delete(check);
          closers.delete(onClose);
          resolve(outcome);
        };
        const check = () => {
          if (reached()) finish('reached');
          else if (record.state === 'destroyed') finish('gone');
          else if (record.state === 'failed' && !states.includes('failed')) finish('failed');
        };
        const onClose = () => finish('closing');
        const timer = setTimeout(() => finish('timeout'), timeoutMs);
        runtime.waiters.add(check);
        closers.add(onClose);
      });
    },

    logs(record) {
      return runtimeOf(record).logs.map((e) => `${e.stream}: ${e.line}`);
    },
    logEntries(record) {
      return [...runtimeOf(record).logs];
    },

    isBusy(record) {
      const runtime = runtimes.get(record.id);
      if (!runtime) return false;
      return runtime.process?.isAlive() === true || runtime.timers.size > 0 || runtime.waiters.size > 0;
    },

    forget(record) {
      runtimes.delete(record.id);
    },

    livePids() {
      return [...allProcesses]
        .filter((child) => child.isAlive() && child.pid !== undefined)
        .map((c) => c.pid!);
    },

    async closeAll() {
      closing = true;
      for (const runtime of runtimes.values()) {
        for (const timer of runtime.timers) clearTimeout(timer);
        runtime.timers.clear();
      }
      for (const close of [...closers]) close();
      const children = [...allProcesses];
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(
        children.map(async (child) => {
          let timer: NodeJS.Timeout | undefined;
          const grace = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, timing.closeGraceMs);
          });
          await Promise.race([child.exited, grace]);
          clearTimeout(timer);
          if (child.isAlive()) child.kill('SIGKILL');
          await child.exited;
          // Anything the machine's process started shares its group.
          child.kill('SIGKILL');
        }),
      );
    },

    killAllNow() {
      for (const child of allProcesses) child.kill('SIGKILL');
    },
  };
  return lifecycle;
}
