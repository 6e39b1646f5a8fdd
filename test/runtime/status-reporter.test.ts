import { describe, expect, it } from 'vitest';
import { StatusReporter } from '../../runtime/status-reporter.ts';
import { backoffDelayMs, DEFAULT_RETRY_POLICY, type StoreCallFailure } from '../../runtime/store-retry.ts';
import {
  conflict,
  FakeStore,
  fakeRow,
  fakeSleep,
  recordingLog,
  serverError,
  unavailable,
} from '../helpers/runtime/fakes.ts';

const ID = 'vyx-63eea370';

function setup(options: { random?: () => number; row?: boolean } = {}) {
  const store = new FakeStore();
  if (options.row !== false) store.rows.set(ID, fakeRow(ID, 'starting'));
  const clock = fakeSleep();
  const log = recordingLog();
  const fatal: StoreCallFailure[] = [];
  const reporter = new StatusReporter({
    store,
    machineId: ID,
    sleep: clock.sleep,
    random: options.random ?? (() => 0.5),
    log,
    onFatal: (f) => fatal.push(f),
  });
  return { store, clock, log, fatal, reporter };
}

const summary = (calls: FakeStore['delivered']) =>
  calls.map((c) =>
    c.fn === 'reportStatus' ? `status ${c.status}` : c.fn === 'recordWarning' ? `warning ${c.code}` : c.fn,
  );

describe('StatusReporter', () => {
  it('delivers reports in the order they were made', async () => {
    const { store, reporter } = setup();
    void reporter.warn('MACHINE_ID_MISMATCH', { fly_machine_id: 'f1' });
    void reporter.report('running');
    void reporter.heartbeat();
    void reporter.report('stopped', 'stopped by SIGTERM');
    await reporter.whenIdle();
    expect(summary(store.delivered)).toEqual([
      'warning MACHINE_ID_MISMATCH',
      'status running',
      'heartbeat',
      'status stopped',
    ]);
    expect(store.rows.get(ID)?.status_detail).toBe('stopped by SIGTERM');
  });

  it('holds the queue through transient failures and drops nothing; later reports never overtake', async () => {
    const { store, reporter, clock, fatal } = setup();
    store.failNext(unavailable(), serverError(503), serverError(500), unavailable());
    const running = reporter.report('running');
    void reporter.heartbeat();
    void reporter.report('stopped');
    const row = await running;
    expect(row.status).toBe('running');
    await reporter.whenIdle();
    // Four failed attempts of `running`, then each report once.
    expect(summary(store.calls)).toEqual([
      'status running',
      'status running',
      'status running',
      'status running',
      'status running',
      'heartbeat',
      'status stopped',
    ]);
    expect(summary(store.delivered)).toEqual(['status running', 'heartbeat', 'status stopped']);
    expect(clock.delays).toHaveLength(4);
    expect(fatal).toEqual([]);
  });

  it('retries a store that stays down for a long time, forever, with exponential backoff capped at the maximum', async () => {
    const { store, reporter, clock } = setup({ random: () => 1 });
    store.failNext(...Array.from({ length: 60 }, unavailable));
    await reporter.report('running');
    expect(clock.delays).toHaveLength(60);
    const { baseDelayMs, maxDelayMs } = DEFAULT_RETRY_POLICY;
    expect(clock.delays.slice(0, 4)).toEqual([
      baseDelayMs,
      baseDelayMs * 2,
      baseDelayMs * 4,
      baseDelayMs * 8,
    ]);
    expect(Math.max(...clock.delays)).toBe(maxDelayMs);
    expect(clock.delays.at(-1)).toBe(maxDelayMs);
  });

  it('jitters each delay within [d/2, d]', () => {
    for (let failures = 1; failures <= 10; failures++) {
      const d = Math.min(10_000, 250 * 2 ** (failures - 1));
      expect(backoffDelayMs(failures, 250, 10_000, () => 0)).toBe(Math.round(d / 2));
      expect(backoffDelayMs(failures, 250, 10_000, () => 1)).toBe(d);
      const mid = backoffDelayMs(failures, 250, 10_000, () => 0.3);
      expect(mid).toBeGreaterThanOrEqual(d / 2);
      expect(mid).toBeLessThanOrEqual(d);
    }
  });

  it('folds a heartbeat into one that is still waiting, but never a status report', async () => {
    const { store, reporter } = setup();
    store.hold();
    void reporter.report('running');
    const beats = [reporter.heartbeat(), reporter.heartbeat(), reporter.heartbeat()];
    void reporter.report('stopped');
    void reporter.report('stopped', 'again');
    expect(reporter.pending).toBe(4);
    store.release();
    await Promise.all(beats);
    await reporter.whenIdle();
    expect(summary(store.delivered)).toEqual([
      'status running',
      'heartbeat',
      'status stopped',
      'status stopped',
    ]);
  });

  it('an unknown machine id: bounded retries, then every queued report fails naming the id and onFatal is called once', async () => {
    const { store, reporter, fatal, clock } = setup({ row: false });
    const running = reporter.report('running');
    const beat = reporter.heartbeat();
    await expect(running).rejects.toThrow(`no cloud_machines row has machine_id '${ID}'`);
    await expect(beat).rejects.toMatchObject({ kind: 'not-found', exitCode: 67 });
    expect(store.calls.filter((c) => c.fn === 'reportStatus')).toHaveLength(
      DEFAULT_RETRY_POLICY.boundedAttempts,
    );
    expect(store.calls.filter((c) => c.fn === 'heartbeat')).toHaveLength(0);
    expect(clock.delays).toHaveLength(DEFAULT_RETRY_POLICY.boundedAttempts - 1);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.message).toContain(ID);
    await expect(reporter.whenIdle()).rejects.toBe(fatal[0]);
    await expect(reporter.report('stopped')).rejects.toBe(fatal[0]);
  });

  it('a refused report (the row is destroyed) is not retried', async () => {
    const { store, reporter, fatal } = setup();
    store.failNext(conflict(ID));
    await expect(reporter.report('running')).rejects.toMatchObject({ kind: 'refused', exitCode: 65 });
    expect(store.calls).toHaveLength(1);
    expect(fatal).toHaveLength(1);
  });

  it('logs each retry as a warning naming the report, and each delivered status', async () => {
    const { store, reporter, log } = setup();
    store.failNext(unavailable());
    await reporter.report('running');
    const warn = log.records.find((r) => r.level === 'warn');
    expect(warn?.msg).toContain('status running stays queued');
    expect(log.records.some((r) => r.level === 'info' && r.msg === 'reported running')).toBe(true);
  });
});
