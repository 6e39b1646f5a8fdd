import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const APPS = ['vyx-app', 'vyx-eu', 'vyx-us', 'vyx-ap', 'vyx-sa'];
const ROWS = 1_000;

// Fly allows about one request a second per action: the watcher must ask once per app and once
// per image, never once per row.
describe('the stuck watcher asks Fly in batches', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;

  beforeAll(async () => {
    s = await startStoreOn('postgres');
    emulator = await createFlyEmulator({
      apps: Object.fromEntries(APPS.map((a) => [a, {}])),
      catalogue: APPS.flatMap((a) => defaultImageCatalogueEntries(a)),
    });
    const rows: string[] = [];
    for (let i = 0; i < ROWS; i++) {
      const app = APPS[i % APPS.length]!;
      rows.push(
        `('vyx-b${String(i).padStart(7, '0')}', 'batch-user-${i}', 'starting', '${app}', 'registry.fly.io/${app}:latest')`,
      );
    }
    await s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ${rows.join(',')}`,
    );
    // Each row's machine exists on Fly (bulk mode: no processes), started, its runtime silent.
    for (const app of APPS) {
      const mine = (
        await s.twin.backend.query(
          `select machine_id from cloud_machines where fly_app = $1 order by machine_id`,
          [app],
        )
      ).rows;
      const ids = emulator.bulkCreate({
        app,
        count: mine.length,
        state: 'started',
        image: `registry.fly.io/${app}:latest`,
        env: (i) => ({
          MACHINE_ID: String(mine[i]!.machine_id),
          USER_ID: 'u',
          SUPABASE_URL: 'http://x',
          SUPABASE_SERVICE_KEY: 'k',
        }),
      });
      const pairs = ids.map((id, i) => `('${mine[i]!.machine_id}', '${id}')`).join(',');
      await s.twin.backend.query(
        `update cloud_machines c set fly_machine_id = v.fly from (values ${pairs}) v(mid, fly) where c.machine_id = v.mid`,
      );
    }
    await s.twin.backend.query(`update cloud_machines set status_changed_at = now() - interval '5 minutes'`);
  });
  afterAll(async () => {
    await emulator?.close();
    await s?.close();
  });

  it(`${ROWS} stuck rows over ${APPS.length} apps cost apps + distinct images + apps requests, not one per row`, async () => {
    const watcher = new StuckWatcher({
      store: s.store,
      fly: createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token }),
      registry: createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl }),
      logger: pino({ level: 'silent' }),
      owner: 'batch',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
      // The machines started seconds ago in the emulator; judge them as the watcher would later.
      now: () => new Date(Date.now() + 5 * 60_000),
    });
    const before = emulator.counters.snapshot();
    const report = await watcher.tick();
    const after = emulator.counters.snapshot();
    const delta = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);

    expect(report.claimed).toBe(ROWS);
    expect(report.diagnosed).toHaveLength(ROWS);
    expect(new Set(report.diagnosed.map((d) => d.code))).toEqual(new Set(['RUNTIME_SILENT']));
    const lists = delta('GET /v1/apps/:app/machines');
    const secrets = delta('GET /v1/apps/:app/secrets');
    const registry =
      delta('HEAD /v2/:repo/manifests/:reference') + delta('GET /v2/:repo/manifests/:reference');
    expect({ lists, secrets, registry }).toEqual({
      lists: APPS.length,
      secrets: APPS.length,
      registry: APPS.length,
    });
    const total = Object.keys(after).reduce((n, k) => n + delta(k), 0);
    expect(total).toBe(APPS.length * 3);
  });
});
