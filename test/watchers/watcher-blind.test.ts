import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { StuckWatcher, WATCHER_KEY } from '../../src/watchers/stuck-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// When the watcher cannot see Fly (token refused, API down), one alert says so — not one per row —
// and no row is judged on evidence it does not have.
describe('the watcher when it cannot see Fly', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    for (let i = 0; i < 20; i++) {
      await s.twin.backend.query(
        `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id) values ($1, $2, 'starting', 'vyx-app', $3)`,
        [`vyx-blind${String(i).padStart(3, '0')}`, `blind-${i}`, `fly-blind-${i}`],
      );
    }
    await s.twin.backend.query(`update cloud_machines set status_changed_at = now() - interval '5 minutes'`);
  });
  afterAll(async () => {
    await emulator?.close();
    await s?.close();
  });

  const watcher = (token: string) =>
    new StuckWatcher({
      store: s.store,
      fly: createFlyMachinesClient({ baseUrl: emulator.baseUrl, token, retry: { maxAttempts: 1 } }),
      registry: createRegistryClient({ token, baseUrlFor: () => emulator.baseUrl }),
      logger: pino({ level: 'silent' }),
      owner: 'blind',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
    });

  it('a refused token: one WATCHER_BLIND alert naming the cause, no row diagnosed, none marked failed', async () => {
    const report = await watcher('not-the-token').tick();
    expect(report.claimed).toBe(20);
    expect(report.blind).toEqual(['vyx-app']);
    expect(report.diagnosed).toEqual([]);
    const { rows } = await s.twin.backend.query(`select machine_id, code, evidence from diagnoses`);
    expect(rows.map((r) => [r.machine_id, r.code])).toEqual([[WATCHER_KEY, 'WATCHER_BLIND']]);
    expect(JSON.stringify(rows[0]?.evidence)).toContain('FLY_UNAUTHORIZED');
    expect(JSON.stringify(rows[0]?.evidence)).not.toContain('not-the-token');
    const events = await s.store.machineEvents(WATCHER_KEY);
    expect(events.map((e) => e.kind)).toEqual(['diagnosis']);

    // Still blind a tick later: the same alert is not posted again (until the re-notify interval).
    await watcher('not-the-token').tick();
    expect((await s.store.machineEvents(WATCHER_KEY)).map((e) => e.kind)).toEqual(['diagnosis']);
    const starting = await s.twin.backend.query(
      `select count(*)::int as n from cloud_machines where status = 'starting'`,
    );
    expect(starting.rows[0]?.n).toBe(20);
  });

  it('with Fly visible again, the rows are judged and the alert is resolved (once)', async () => {
    const report = await watcher(emulator.token).tick();
    expect(report.blind).toEqual([]);
    await watcher(emulator.token).tick();
    const events = await s.store.machineEvents(WATCHER_KEY);
    expect(events.map((e) => [e.kind, e.detail.code, e.detail.by])).toEqual([
      ['diagnosis', 'WATCHER_BLIND', undefined],
      ['resolved', 'WATCHER_BLIND', 'Fly answering the watcher again'],
    ]);
    expect(report.diagnosed).toHaveLength(20);
    expect(new Set(report.diagnosed.map((d) => d.code))).toEqual(new Set(['MACHINE_GONE']));
  });
});
