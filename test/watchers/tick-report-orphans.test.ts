import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import type { VyxStore } from '../../src/store/vyx-store.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// Apps are judged a few at once, and each adds its orphans to the tick's report. The count was
// `report.orphans += await orphansOf(…)`, which reads the total before the await: two apps whose
// orphan checks overlapped lost one app's count (a CI run reported 7 orphans of 67). Here the two
// apps' orphan records are held until both have begun, so they always overlap.
const APPS = ['vyx-app', 'vyx-eu'];
const ORPHANS = { 'vyx-app': 5, 'vyx-eu': 3 } as Record<string, number>;

/** The store, its orphan records held until `expected` of them are in flight (then all go on). */
function overlappingOrphanRecords(store: VyxStore, expected: number): VyxStore {
  const waiting: (() => void)[] = [];
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'recordDiagnoses') return Reflect.get(target, name, receiver);
      return async (...args: Parameters<VyxStore['recordDiagnoses']>) => {
        if (args[0].some((item) => item.machineId.startsWith('fly:'))) {
          await new Promise<void>((go) => {
            waiting.push(go);
            if (waiting.length === expected) for (const release of waiting) release();
          });
        }
        return target.recordDiagnoses(...args);
      };
    },
  });
}

describe('the tick report', () => {
  let side: StoreUnderTest;
  let emulator: FlyEmulator;

  beforeAll(async () => {
    side = await startStoreOn('pglite');
    const skew = { ms: 10 * 60_000 }; // made ten minutes ago: old enough to be orphans
    emulator = await createFlyEmulator({
      apps: Object.fromEntries(APPS.map((a) => [a, { secrets: {} }])),
      catalogue: APPS.flatMap((a) => defaultImageCatalogueEntries(a)),
      now: () => Date.now() - skew.ms,
    });
    for (const app of APPS) {
      emulator.bulkCreate({
        app,
        count: ORPHANS[app]!,
        state: 'started',
        image: `registry.fly.io/${app}:latest`,
        metadata: (i) => ({ vyx_machine_id: `vyx-${app}-lost-${i}` }),
      });
    }
    skew.ms = 0;
    // A stuck row in the second app, so that app is judged too (the default app always is).
    await side.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id)
       values ('vyx-eu-row', 'u-eu', 'starting', 'vyx-eu', 'gone-eu')`,
    );
    await side.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - interval '10 minutes'`,
    );
  }, 60_000);
  afterAll(async () => {
    await emulator?.close();
    await side?.close();
  });

  it('counts every app’s orphans when the apps’ orphan checks overlap', async () => {
    const report = await new StuckWatcher({
      store: overlappingOrphanRecords(side.store, APPS.length),
      fly: createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token }),
      registry: createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl }),
      logger: pino({ level: 'silent' }),
      owner: 'orphans',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
      renotifyAfterS: 600,
    }).tick();
    expect(report.orphans).toBe(ORPHANS['vyx-app']! + ORPHANS['vyx-eu']!);
    const { rows } = await side.twin.backend.query(
      `select count(*)::int as n from diagnoses where machine_id like 'fly:%' and code = 'ORPHAN_MACHINE'`,
    );
    expect(rows[0]?.n).toBe(8);
  });
});
