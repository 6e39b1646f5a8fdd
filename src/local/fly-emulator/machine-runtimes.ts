/**
 * What the lifecycle keeps of each machine besides its record (its process, timers, waiters,
 * captured lines), and so whether anything still acts on the machine.
 */
import type { LogEntry } from './log-entry.ts';
import type { MachineProcess } from './machine-process.ts';
import type { MachineRecord } from './machine-store.ts';

export interface Runtime {
  process?: MachineProcess;
  stopRequested: boolean;
  timers: Set<NodeJS.Timeout>;
  waiters: Set<() => void>;
  logs: LogEntry[];
}

export interface MachineRuntimes {
  /** Made on first use. */
  runtimeOf(record: MachineRecord): Runtime;
  /** Runs `fn` after `ms`, unless the emulator is closing by then. */
  later(record: MachineRecord, ms: number, fn: () => void): void;
  clearTimers(record: MachineRecord): void;
  /** Every machine's timers (close). */
  clearAllTimers(): void;
  /** A live process, a timer, a waiter. */
  isBusy(record: MachineRecord): boolean;
  forget(record: MachineRecord): void;
}

export function createMachineRuntimes(isClosing: () => boolean): MachineRuntimes {
  const runtimes = new Map<string, Runtime>();

  const runtimeOf = (record: MachineRecord): Runtime => {
    let runtime = runtimes.get(record.id);
    if (!runtime) {
      runtime = { stopRequested: false, timers: new Set(), waiters: new Set(), logs: [] };
      runtimes.set(record.id, runtime);
    }
    return runtime;
  };

  return {
    runtimeOf,

    later(record, ms, fn) {
      const runtime = runtimeOf(record);
      const timer = setTimeout(() => {
        runtime.timers.delete(timer);
        if (!isClosing()) fn();
      }, ms);
      runtime.timers.add(timer);
    },

    clearTimers(record) {
      const runtime = runtimeOf(record);
      for (const timer of runtime.timers) clearTimeout(timer);
      runtime.timers.clear();
    },

    clearAllTimers() {
      for (const runtime of runtimes.values()) {
        for (const timer of runtime.timers) clearTimeout(timer);
        runtime.timers.clear();
      }
    },

    isBusy(record) {
      const runtime = runtimes.get(record.id);
      if (!runtime) return false;
      return runtime.process?.isAlive() === true || runtime.timers.size > 0 || runtime.waiters.size > 0;
    },

    forget(record) {
      runtimes.delete(record.id);
    },
  };
}
