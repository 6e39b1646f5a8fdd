import { describe, expect, it } from 'vitest';
import { createMachineRuntime, type StopSignal } from '../../runtime/machine-runtime.ts';
import type { Workload, WorkloadExit } from '../../runtime/workload.ts';
import { FakeStore, fakeRow, fakeSleep, recordingLog, unavailable } from '../helpers/runtime/fakes.ts';

const ID = 'vyx-63eea370';
const FLY = '3d8d9e1bc42d89';
const BASE_ENV = {
  USER_ID: 'user-1',
  SUPABASE_URL: 'https://project.supabase.co',
  SUPABASE_SERVICE_KEY: 'service-key-value',
};

function fakeWorkload() {
  let end: (exit: WorkloadExit) => void = () => {};
  const signals: NodeJS.Signals[] = [];
  let alive = true;
  const exited = new Promise<WorkloadExit>((resolve) => {
    end = (exit) => {
      alive = false;
      resolve(exit);
    };
  });
  const workload: Workload = {
    pid: 4242,
    exited,
    isAlive: () => alive,
    signal: (s) => {
      signals.push(s);
      if (s === 'SIGKILL') end({ code: null, signal: 'SIGKILL' });
    },
  };
  return { workload, end, signals };
}

/** The runtime with every collaborator faked; timers (`after`) fire only when the test says so. */
function setup(env: Record<string, string | undefined>, options: { withRow?: boolean } = {}) {
  const store = new FakeStore();
  if (options.withRow !== false) store.rows.set(ID, fakeRow(ID, 'starting', FLY));
  const log = recordingLog();
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  let stopHandler: ((s: StopSignal) => void) | undefined;
  const work = fakeWorkload();
  const runtime = createMachineRuntime({
    env,
    log,
    createStore: () => store,
    startWorkload: () => work.workload,
    sleep: fakeSleep().sleep,
    random: () => 0.5,
    every: () => () => {},
    after: (ms, fn) => {
      const timer = { ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    onStopSignal: (h) => {
      stopHandler = h;
    },
  });
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return {
    store,
    log,
    timers,
    work,
    runtime,
    settle,
    signal: (s: StopSignal) => stopHandler?.(s),
    fireTimers: () => {
      for (const t of timers.splice(0)) if (!t.cancelled) t.fn();
    },
  };
}

describe('machine runtime (fakes)', () => {
  it('exits 75 when `stopped` cannot be recorded before the stop deadline, and keeps the deadline below the stop timeout', async () => {
    const t = setup({ ...BASE_ENV, MACHINE_ID: ID, VYX_STOP_TIMEOUT_S: '5' });
    const exit = t.runtime.run();
    await t.settle();
    expect(t.store.rows.get(ID)?.status).toBe('running');
    t.store.hold();
    t.signal('SIGTERM');
    await t.settle();
    const deadline = t.timers.find((x) => !x.cancelled);
    expect(deadline?.ms).toBeLessThan(5_000);
    t.fireTimers();
    expect(await exit).toBe(75);
    expect(t.log.records.some((r) => r.level === 'error' && r.msg.includes('stop deadline'))).toBe(true);
    t.store.release();
  });

  it('stops the workload with the same signal, records stopped, exits 0', async () => {
    const t = setup({ ...BASE_ENV, MACHINE_ID: ID, VYX_WORKLOAD_CMD: 'serve' });
    const exit = t.runtime.run();
    await t.settle();
    t.signal('SIGINT');
    await t.settle();
    expect(t.work.signals).toEqual(['SIGINT']);
    t.work.end({ code: 130, signal: null });
    expect(await exit).toBe(0);
    expect(t.store.rows.get(ID)).toMatchObject({ status: 'stopped', status_detail: 'stopped by SIGINT' });
  });

  it('a workload that ignores the stop signal is killed when its grace runs out', async () => {
    const t = setup({ ...BASE_ENV, MACHINE_ID: ID, VYX_WORKLOAD_CMD: 'stubborn' });
    const exit = t.runtime.run();
    await t.settle();
    t.signal('SIGTERM');
    await t.settle();
    const grace = t.timers.filter((x) => !x.cancelled).sort((a, b) => a.ms - b.ms)[0]!;
    grace.fn();
    expect(await exit).toBe(0);
    expect(t.work.signals).toEqual(['SIGTERM', 'SIGKILL']);
    expect(t.store.rows.get(ID)?.status).toBe('stopped');
  });

  it('a workload killed by a signal leaves the row failed and exits 128 + the signal number', async () => {
    const t = setup({ ...BASE_ENV, MACHINE_ID: ID, VYX_WORKLOAD_CMD: 'crash' });
    const exit = t.runtime.run();
    await t.settle();
    t.work.end({ code: null, signal: 'SIGKILL' });
    expect(await exit).toBe(137);
    expect(t.store.rows.get(ID)).toMatchObject({
      status: 'failed',
      status_detail: 'workload was killed by SIGKILL (signal 9)',
    });
  });

  it('without MACHINE_ID but with a wrong alias of it, the warning names the alias', async () => {
    const t = setup({ ...BASE_ENV, VYX_MACHINE_ID: ID, FLY_MACHINE_ID: FLY });
    void t.runtime.run();
    await t.settle();
    const warning = t.store.delivered.find((c) => c.fn === 'recordWarning');
    expect(warning).toMatchObject({
      machineId: ID,
      code: 'MACHINE_ID_MISMATCH',
      detail: { machine_id: ID, fly_machine_id: FLY, alias_found: 'VYX_MACHINE_ID' },
    });
    expect(t.store.rows.get(ID)?.status).toBe('running');
    t.signal('SIGTERM');
  });

  it('a stop signal while the row is still being looked up (store down) exits 75 without inventing an id', async () => {
    const t = setup({ ...BASE_ENV, FLY_MACHINE_ID: FLY });
    t.store.failAlways(unavailable);
    const exit = t.runtime.run();
    await t.settle();
    t.signal('SIGTERM');
    expect(await exit).toBe(75);
    expect(t.store.calls.length).toBeGreaterThan(0);
    expect(t.store.calls.every((c) => c.fn === 'findMachine')).toBe(true);
    t.store.failAlways(undefined);
  });

  it('an invalid environment exits 78 before touching the store', async () => {
    const t = setup({
      ...BASE_ENV,
      SUPABASE_SERVICE_KEY: undefined,
      SUPABASE_SERVICE_ROLE_KEY: 'x'.repeat(20),
    });
    expect(await t.runtime.run()).toBe(78);
    expect(t.store.calls).toEqual([]);
    expect(t.log.records).toHaveLength(1);
  });
});
