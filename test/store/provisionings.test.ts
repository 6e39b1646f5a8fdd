import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// The progress record of each provisioning (vyx_provisionings): begun with its row in one call,
// fenced steps under a lease, claimed for recovery once across replicas.
describe.each(BACKENDS)('provisioning progress on %s', (kind) => {
  let s: StoreUnderTest;
  beforeAll(async () => {
    s = await startStoreOn(kind);
  });
  afterAll(async () => {
    await s?.close();
  });

  const begin = (userId: string, owner = 'replica-a', leaseS = 60) =>
    s.store.beginTrackedProvision({
      userId,
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'registry.fly.io/vyx-app:latest',
      createKey: `key-${userId}`,
      owner,
      leaseS,
      slackChannel: 'C1',
      requestedBy: 'U1',
    });

  it('begins the row and its record together; a second start for the same user makes neither', async () => {
    const first = await begin('prov-user-1');
    expect(first.created).toBe(true);
    const id = first.machine.machine_id;
    expect(await s.store.getProvisioning(id)).toMatchObject({
      create_key: 'key-prov-user-1',
      step: 'row',
      owner: 'replica-a',
      fly_app: 'vyx-app',
    });
    const again = await begin('prov-user-1');
    expect(again).toMatchObject({ created: false, machine: { machine_id: id } });
    const { rows } = await s.twin.backend.query(
      'select count(*)::int as n from vyx_provisionings where create_key = $1',
      ['key-prov-user-1'],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('steps are fenced: once a recovery took it over, the old owner’s steps write nothing', async () => {
    const id = (await begin('prov-user-2', 'replica-a', 60)).machine.machine_id;
    expect(await s.store.provisionStep(id, 'replica-a', 'creating')).toBe(true);
    // Live lease: another replica cannot claim it; it is in progress.
    expect((await s.store.claimProvisionings('replica-b')).map((p) => p.machine_id)).not.toContain(id);
    expect(await s.store.provisionStep(id, 'replica-a', 'creating', { leaseS: 0, detail: 'lost' })).toBe(
      true,
    );
    const claimed = await s.store.claimProvisionings('replica-b');
    const mine = claimed.find((p) => p.machine_id === id);
    expect(mine).toMatchObject({ step: 'creating', detail: 'lost', owner: 'replica-b', takeovers: 1 });
    expect(mine?.row).toMatchObject({ machine_id: id, status: 'starting', requested_by: 'U1' });
    // Claimed once: a third replica gets nothing, and the old owner is fenced off.
    expect((await s.store.claimProvisionings('replica-c')).map((p) => p.machine_id)).not.toContain(id);
    expect(await s.store.provisionStep(id, 'replica-a', 'created', { flyMachineId: 'f1' })).toBe(false);
    expect(await s.store.provisionStep(id, 'replica-b', 'done', { flyMachineId: 'f1' })).toBe(true);
    expect(await s.store.getProvisioning(id)).toMatchObject({
      step: 'done',
      owner: null,
      lease_until: null,
      fly_machine_id: 'f1',
    });
    // Finished is finished.
    expect(await s.store.provisionStep(id, 'replica-b', 'waiting')).toBe(false);
  });

  it('after a restart a replica takes back its own at once; others wait for the lease', async () => {
    const id = (await begin('prov-user-3', 'replica-r', 600)).machine.machine_id;
    expect(await s.store.provisioningInProgress([id, 'vyx-none'])).toEqual([id]);
    expect((await s.store.claimProvisionings('replica-other')).map((p) => p.machine_id)).not.toContain(id);
    const back = await s.store.claimProvisionings('replica-r', { reclaimOwn: true });
    expect(back.map((p) => p.machine_id)).toContain(id);
  });

  it('refuses an unknown step, and a tracked start without a create key', async () => {
    await expect(s.store.provisionStep('vyx-x', 'o', 'bogus' as 'row')).rejects.toMatchObject({
      code: 'STORE_INVALID',
    });
    await expect(
      s.store.beginTrackedProvision({
        userId: 'prov-user-4',
        flyApp: 'a',
        region: 'r',
        image: 'i',
        createKey: ' ',
        owner: 'o',
        leaseS: 1,
      }),
    ).rejects.toMatchObject({ code: 'STORE_INVALID' });
    expect(await s.store.getActiveMachine('prov-user-4')).toBeNull();
  });

  it('only the service key may call the functions or read the table', async () => {
    const anon = await fetch(`${s.twin.url}/rest/v1/rpc/vyx_get_provisioning`, {
      method: 'POST',
      headers: { apikey: 'not-the-key', 'content-type': 'application/json' },
      body: JSON.stringify({ p_machine_id: 'x' }),
    });
    expect(anon.status).toBeGreaterThanOrEqual(401);
    const { rows } = await s.twin.backend.query(
      `select has_table_privilege('anon', 'public.vyx_provisionings', 'select') as t,
              has_function_privilege('anon', 'public.vyx_claim_provisionings(text,int,boolean,int)', 'execute') as f`,
    );
    expect(rows[0]).toEqual({ t: false, f: false });
  });
});
