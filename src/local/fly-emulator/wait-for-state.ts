/** Fly's `wait`: held until the machine reaches one of the states, is destroyed or fails, or time runs out. */
import type { MachineRecord } from './machine-store.ts';

export type WaitOutcome = 'reached' | 'timeout' | 'gone' | 'failed' | 'closing';

const SETTLED = new Set(['started', 'stopped', 'suspended', 'failed', 'destroyed']);

export interface WaitHooks {
  /** The machine's waiters, called on every state change (asked for only when the wait is held). */
  waiters: () => Set<() => void>;
  /** Called when the emulator closes: the wait ends with `closing`. */
  closers: Set<() => void>;
}

export function waitForState(
  record: MachineRecord,
  states: string[],
  timeoutMs: number,
  hooks: WaitHooks,
): Promise<WaitOutcome> {
  const { closers } = hooks;
  const reached = () =>
    states.includes(record.state) || (states.includes('settled') && SETTLED.has(record.state));
  if (reached()) return Promise.resolve('reached');
  if (record.state === 'destroyed') return Promise.resolve('gone');
  const waiters = hooks.waiters();
  return new Promise((resolve) => {
    const finish = (outcome: WaitOutcome) => {
      clearTimeout(timer);
      waiters.delete(check);
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
    waiters.add(check);
    closers.add(onClose);
  });
}
