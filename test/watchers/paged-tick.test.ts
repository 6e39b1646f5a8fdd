import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import type { Diagnosis } from '../../src/diagnose/diagnosis.ts';
import { orphanMachine } from '../../src/diagnose/rules/orphan-machine.ts';
import { type GatherDeps, gatherEvidence } from '../../src/evidence/gather-evidence.ts';
import { createFlyMachinesClient, type FlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient, type RegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import type { VyxStore } from '../../src/store/vyx-store.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// The tick judges one app at a time, its Fly list streamed and trimmed to the watched fields, its
// stuck rows claimed in pages. Row by row, it must record what the one-batch tick it replaced
// recorded: the same diagnoses, outbox events and row changes, on a fleet of every kind of row.
const DEFAULT_APP = 'vyx-app';
const APPS = [DEFAULT_APP, 'vyx-eu', 'vyx-us'];
const PER_APP = 24;
const NOW = new Date();

interface Fixture {
  values: string[];
}

/** Machines of every kind in the emulator, and the rows (as SQL values) that point at them. */
function buildFleet(emulator: FlyEmulator): Fixture {
  const values: string[] = [];
  const row = (id: string, app: string | null, fly: string | null, image: string) =>
    values.push(
      `('${id}', 'u-${id}', 'starting', ${app ? `'${app}'` : 'null'}, ${fly ? `'${fly}'` : 'null'}, '${image}')`,
    );
  const env = (id: string, o: { machineId?: string; user?: string; key?: boolean } = {}) => ({
    ...(o.machineId === '' ? {} : { MACHINE_ID: o.machineId ?? id }),
    USER_ID: o.user ?? `u-${id}`,
    SUPABASE_URL: 'http://127.0.0.1:9',
    ...(o.key === false ? {} : { SUPABASE_SERVICE_KEY: 'k' }),
  });
  for (const app of APPS) {
    const good = `registry.fly.io/${app}:latest`;
    const missing = `registry.fly.io/${app}:no-such-tag`;
    const one = (
      state: 'created' | 'started' | 'stopped' | 'destroyed',
      e: Record<string, string>,
      o: { image?: string; metadata?: Record<string, string> } = {},
    ) =>
      emulator.bulkCreate({
        app,
        count: 1,
        state,
        image: o.image ?? good,
        env: () => e,
        ...(o.metadata ? { metadata: () => o.metadata! } : {}),
      })[0]!;
    for (let k = 0; k < PER_APP; k++) {
      const id = `vyx-${app.slice(4)}-${String(k).padStart(3, '0')}`;
      // Rows naming no app belong to the default app.
      const rowApp = app === DEFAULT_APP && k % 4 === 0 ? null : app;
      switch (k % 12) {
        case 0: // started, silent
          row(id, rowApp, one('started', env(id)), good);
          break;
        case 1: // destroyed under the row
          row(id, rowApp, one('destroyed', env(id)), good);
          break;
        case 2: // Fly never heard of the recorded id
          row(id, rowApp, `gone-${app}-${k}`, good);
          break;
        case 3: // found by vyxbot's metadata
          one('started', env(id), { metadata: { vyx_machine_id: id } });
          row(id, rowApp, null, good);
          break;
        case 4: // found by env MACHINE_ID
          one('stopped', env(id));
          row(id, rowApp, null, good);
          break;
        case 5: // found by USER_ID only, booted with another MACHINE_ID
          one('started', env(id, { machineId: `${id}-other` }));
          row(id, rowApp, null, good);
          break;
        case 6: // its env lacks the service key
          row(id, rowApp, one('started', env(id, { key: false })), good);
          break;
        case 7: // an image whose tag does not exist
          row(id, rowApp, one('created', env(id), { image: missing }), missing);
          break;
        case 8: // never created: no machine anywhere
          row(id, rowApp, null, good);
          break;
        case 9: // still being created by Fly (nothing to say yet)
          row(id, rowApp, one('created', env(id)), good);
          break;
        case 10: // two machines of the same user: the newer live one is taken
          one('destroyed', env(id, { machineId: '' }));
          one('started', env(id, { machineId: '' }));
          row(id, rowApp, null, good);
          break;
        default: // an orphan of ours beside a row stuck with no machine
          one('started', env(`${id}-orphan`), {
            metadata: { vyx_machine_id: `${id}-orphan` },
          });
          row(id, rowApp, null, good);
      }
    }
  }
  return { values };
}

async function seed(s: StoreUnderTest, fixture: Fixture): Promise<void> {
  await s.twin.backend.query(
    `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id, image) values ${fixture.values.join(',')}`,
  );
  await s.twin.backend.query(
    `update cloud_machines set status_changed_at = now() - interval '10 minutes', created_at = now() - interval '10 minutes'`,
  );
  await s.twin.backend.query('delete from machine_events');
}

/**
 * The tick as it was before pages (kept here as the reference): every stuck row claimed at once,
 * evidence gathered in one batch from whole (not streamed, not trimmed) Fly lists, all diagnoses
 * recorded together, then each app's orphans.
 */
async function oneBatchTick(store: VyxStore, fly: FlyMachinesClient, registry: RegistryClient) {
  const rows = await store.claimStuck({ owner: 'reference', olderThanS: 60, leaseS: 60, limit: 10_000 });
  const whole: GatherDeps['fly'] = {
    async listEach(app, onMachine, options) {
      const machines = await fly.list(app, options);
      for (const m of machines) onMachine(m);
      return machines.length;
    },
    listSecretNames: (app, options) => fly.listSecretNames(app, options),
  };
  const apps = [...new Set([...rows.map((r) => r.fly_app ?? DEFAULT_APP), DEFAULT_APP])];
  const gathered = await gatherEvidence(
    rows,
    { fly: whole, registry, defaultApp: DEFAULT_APP },
    { now: NOW, stuckAfterS: 60, apps },
  );
  const writes = await store.unmatchedStatusWrites(
    new Date(Math.min(...rows.map((r) => Date.parse(r.status_changed_at)))),
  );
  const item = (machineId: string, d: Diagnosis, markFailed: boolean) => ({
    machineId,
    code: d.code,
    summary: d.summary,
    evidence: d.evidence,
    fix: d.fix,
    certainty: d.certainty,
    markFailed: markFailed && d.certainty === 'certain',
  });
  const found = [];
  for (const input of gathered.inputs) {
    input.unmatchedWrites = writes;
    const d = diagnose(input);
    if (d.code === 'UNKNOWN' && ['created', 'starting'].includes(input.machine?.state ?? '')) continue;
    found.push(item(input.row.machine_id, d, true));
  }
  await store.recordDiagnoses(found, 600);
  for (const [app, machines] of gathered.machinesByApp) {
    const candidates = machines.filter(
      (m) =>
        m.state !== 'destroyed' &&
        Date.parse(m.created_at ?? '') <= NOW.getTime() - 60_000 &&
        orphanMachine({ machine: m, app, now: NOW }) !== null,
    );
    if (candidates.length === 0) continue;
    const known = new Set(await store.knownFlyIds(candidates.map((m) => m.id)));
    const orphans = candidates
      .filter((m) => !known.has(m.id))
      .map((m) => item(`fly:${m.id}`, orphanMachine({ machine: m, app, now: NOW })!, true));
    await store.recordDiagnoses(orphans, 600);
  }
  await store.releaseLeases('reference');
}

/** What a tick leaves behind, without the database's own timestamps and ids. */
async function outcome(s: StoreUnderTest) {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => !(k === 'at' || k.endsWith('_at')))
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  const q = async (sql: string) => strip((await s.twin.backend.query(sql)).rows);
  return {
    diagnoses: await q(
      `select machine_id, code, summary, evidence, fix, certainty, seen_count, notify_count from diagnoses order by machine_id, code`,
    ),
    events: await q(
      `select machine_id, kind, old_status, new_status, detail from machine_events order by machine_id, id`,
    ),
    rows: await q(
      `select machine_id, status, status_detail, diagnosis, flagged_at is not null as flagged, lease_owner from cloud_machines order by machine_id`,
    ),
  };
}

describe('the paged, streamed tick records what the one-batch tick recorded', () => {
  let reference: StoreUnderTest;
  let paged: StoreUnderTest;
  let emulator: FlyEmulator;
  let fly: FlyMachinesClient;
  let registry: RegistryClient;
  const skew = { ms: 0 };

  beforeAll(async () => {
    [reference, paged] = await Promise.all([startStoreOn('postgres'), startStoreOn('postgres')]);
    emulator = await createFlyEmulator({
      apps: Object.fromEntries(APPS.map((a) => [a, { secrets: {} }])),
      catalogue: APPS.flatMap((a) => defaultImageCatalogueEntries(a)),
      now: () => Date.now() - skew.ms,
    });
    skew.ms = 10 * 60_000; // the machines were made ten minutes ago, as the rows were
    const fixture = buildFleet(emulator);
    skew.ms = 0;
    await Promise.all([seed(reference, fixture), seed(paged, fixture)]);
    fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    registry = createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl });
  }, 120_000);
  afterAll(async () => {
    await emulator?.close();
    await Promise.all([reference?.close(), paged?.close()]);
  });

  it('same diagnoses, outbox events and rows, with pages of 5 rows; Fly asked 2 × apps + images', async () => {
    await oneBatchTick(reference.store, fly, registry);
    emulator.counters.reset();
    const report = await new StuckWatcher({
      store: paged.store,
      fly,
      registry,
      logger: pino({ level: 'silent' }),
      owner: 'paged',
      defaultApp: DEFAULT_APP,
      stuckAfterS: 60,
      pageRows: 5,
      now: () => NOW,
    }).tick();

    const want = await outcome(reference);
    const got = await outcome(paged);
    // The fleet really has every kind of row (not a comparison of two empty tables).
    const codes = new Set((want.diagnoses as { code: string }[]).map((d) => d.code));
    expect([...codes].sort()).toEqual(
      expect.arrayContaining([
        'ENV_MISMATCH',
        'IMAGE_TAG_MISSING',
        'MACHINE_GONE',
        'MACHINE_ID_MISMATCH',
        'NEVER_CREATED',
        'ORPHAN_MACHINE',
        'RUNTIME_SILENT',
      ]),
    );
    expect(got.diagnoses).toEqual(want.diagnoses);
    expect(got.events).toEqual(want.events);
    expect(got.rows).toEqual(want.rows);
    expect(report.claimed).toBe(APPS.length * PER_APP);
    // One list and one secrets call per app, one registry check per distinct image.
    const byRoute = emulator.counters.snapshot();
    expect(byRoute['GET /v1/apps/:app/machines']).toBe(APPS.length);
    expect(byRoute['GET /v1/apps/:app/secrets']).toBe(APPS.length);
    expect(byRoute['HEAD /v2/:repo/manifests/:reference']).toBe(2 * APPS.length);
  });
});
