import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// vyx_fleet_glance (an admin's App Home): each group counted in full, its oldest listed first and
// bounded, on both user_id types.
describe.each([
  {
    name: 'pglite, user_id text',
    kind: 'pglite' as const,
    userIdType: 'text' as const,
    owner: (i: number) => `vyx-user-${i}`,
  },
  {
    name: 'postgres, existing table with user_id uuid',
    kind: 'postgres' as const,
    userIdType: 'uuid' as const,
    owner: (i: number) => `63eea370-0000-4000-8000-00000000000${i}`,
  },
])('fleet glance on $name', ({ kind, userIdType, owner }) => {
  let s: StoreUnderTest;
  beforeAll(async () => {
    s = await startStoreOn(kind, { userIdType });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('counts starting, failed, orphans and silenced diagnoses, oldest first, at most perGroup each', async () => {
    const { store } = s;
    expect(await store.fleetGlance(60, 2)).toEqual({});
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { machine } = await store.beginProvision({
        userId: owner(i),
        flyApp: 'vyx-app',
        region: 'ams',
        image: 'i',
      });
      ids.push(machine.machine_id);
    }
    await store.reportStatus(ids[0]!, 'failed', 'boom');
    await store.recordDiagnosis({
      machineId: 'fly:abc123',
      code: 'ORPHAN_MACHINE',
      summary: 'Fly machine abc123 says it belongs to vyx-gone',
      evidence: [],
      fix: 'destroy it',
      certainty: 'certain',
    });
    await store.recordDiagnosis({
      machineId: ids[0]!,
      code: 'BOOT_CRASH',
      summary: 'it crashed',
      evidence: [],
      fix: 'fix it',
      certainty: 'likely',
    });
    await store.silenceDiagnosis(ids[0]!, 'BOOT_CRASH', new Date(Date.now() + 3_600_000));

    const glance = await store.fleetGlance(60, 1);
    expect(glance.starting?.count).toBe(2);
    // Oldest first, and only one listed.
    expect(glance.starting?.oldest.map((o) => o.machine_id)).toEqual([ids[1]]);
    expect(glance.starting?.oldest[0]?.user_id).toBe(owner(1));
    expect(glance.failed).toMatchObject({
      count: 1,
      oldest: [{ machine_id: ids[0], detail: expect.any(String) }],
    });
    expect(glance.orphans).toMatchObject({ count: 1, oldest: [{ machine_id: 'fly:abc123' }] });
    expect(glance.silenced).toMatchObject({
      count: 1,
      oldest: [{ machine_id: ids[0], detail: 'BOOT_CRASH' }],
    });
    expect(glance.stuck).toBeUndefined();
    // Past the stuck bound, starting rows are stuck instead.
    await s.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - interval '2 minutes' where status = 'starting'`,
    );
    const glanceLater = await store.fleetGlance(60, 5);
    expect(glanceLater.stuck?.count).toBe(2);
    expect(glanceLater.starting).toBeUndefined();
  });
});
