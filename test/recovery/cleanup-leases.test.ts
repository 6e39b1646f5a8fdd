import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_KEY_METADATA, createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { abandonProvision } from '../../src/provision/abandon-provision.ts';
import { Provisioner } from '../../src/provision/provisioner.ts';
import type { PostMessage } from '../../src/slack/slack-poster.ts';
import { MAX_CLEANUP_TAKEOVERS, ProvisionRecovery } from '../../src/watchers/provision-recovery.ts';
import { until } from '../../testkit/until.ts';
import { holdingFlyProxy } from '../helpers/holding-fly-proxy.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

/**
 * Cleanups take the Fly lease like every other change: a leftover machine whose lease someone else
 * holds (a person with flyctl here) is not destroyed behind their back. The provisioner and the
 * shutdown hand it to recovery, which names the holder, tries again each tick, destroys it once the
 * lease is free, and gives up — telling the user — after MAX_CLEANUP_TAKEOVERS tries.
 * Real store (Supabase twin over PGlite) and the Fly emulator, whose leases answer 409.
 */

describe('cleanup destroys under the Fly lease', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;
  let fly: ReturnType<typeof createFlyMachinesClient>;
  const posts: PostMessage[] = [];
  const slack = {
    async post(m: PostMessage) {
      posts.push(m);
      return { channel: m.channel, ts: `${posts.length}.000001` };
    },
    ephemerals: [] as { user: string; text: string }[],
    async ephemeral(m: { channel: string; user: string; text: string }) {
      slack.ephemerals.push(m);
    },
    async update() {
      throw new Error('unexpected update');
    },
    async findDelivered(): Promise<string | null> {
      throw new Error('unexpected findDelivered');
    },
  };
  const logger = pino({ level: 'silent' });
  const recovery = () =>
    new ProvisionRecovery({
      store: s.store,
      fly,
      slack,
      logger,
      owner: 'replica-recovering',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
    });

  beforeAll(async () => {
    s = await startStoreOn('pglite');
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
  });
  afterAll(async () => {
    await emulator?.close();
    await s?.close();
  });

  const leaseUrl = (flyId: string) => `${emulator.baseUrl}/v1/apps/vyx-app/machines/${flyId}/lease`;
  const auth = () => ({ authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json' });
  /** A person with flyctl takes the machine's lease; returns how to give it back. */
  async function flyctlLease(flyId: string, who: string) {
    const r = await fetch(leaseUrl(flyId), {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ ttl: 600, description: `flyctl machine update by ${who}` }),
    });
    expect(r.status).toBe(201);
    const { data } = (await r.json()) as { data: { nonce: string } };
    return async () => {
      const d = await fetch(leaseUrl(flyId), {
        method: 'DELETE',
        headers: { ...auth(), 'fly-machine-lease-nonce': data.nonce },
      });
      expect(d.status).toBe(200);
    };
  }
  const state = async (flyId: string) => (await fly.get('vyx-app', flyId)).state;

  /** A provisioning whose row failed meanwhile, its leftover machine on Fly, its lease run out. */
  async function endedWithLeftover(n: string) {
    const begun = await s.store.beginTrackedProvision({
      userId: `lease-user-${n}`,
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'registry.fly.io/vyx-app:latest',
      createKey: `lease-key-${n}`,
      owner: 'replica-dead',
      leaseS: 0,
      slackChannel: 'C0LEASE',
      requestedBy: `U0LEASE${n}`,
    });
    const id = begun.machine.machine_id;
    await s.store.provisionStep(id, 'replica-dead', 'creating', { leaseS: 0 });
    const m = await fly.create('vyx-app', {
      skip_launch: true,
      config: {
        image: 'registry.fly.io/vyx-app:latest',
        metadata: { [CREATE_KEY_METADATA]: `lease-key-${n}` },
      },
    });
    await s.store.reportStatus(id, 'failed', 'given up');
    return { id, flyId: m.id };
  }

  it('recovery: a leftover whose lease a person holds is left, the holder named; destroyed once free', async () => {
    const { id, flyId } = await endedWithLeftover('1');
    const giveBack = await flyctlLease(flyId, 'ops-anna');

    const first = await recovery().run();
    expect(first).toEqual([
      expect.objectContaining({
        machineId: id,
        outcome: 'deferred',
        flyMachineId: flyId,
        holder: expect.stringContaining('flyctl machine update by ops-anna'),
        told: false,
      }),
    ]);
    expect(await state(flyId)).not.toBe('destroyed');
    expect(await s.store.getProvisioning(id)).toMatchObject({
      step: 'creating',
      detail: expect.stringContaining('lease held by emulator@fly.local (flyctl machine update by ops-anna)'),
    });

    // Due again at once: the next tick, with the lease given back, destroys it and says so.
    await giveBack();
    const second = await recovery().run();
    expect(second).toEqual([
      expect.objectContaining({ machineId: id, outcome: 'closed', flyMachineId: flyId, told: true }),
    ]);
    expect(await state(flyId)).toBe('destroyed');
    expect(await s.store.getProvisioning(id)).toMatchObject({ step: 'failed', owner: null });
  });

  it('recovery: a lease held through every try is given up after MAX_CLEANUP_TAKEOVERS, the user told', async () => {
    const { id, flyId } = await endedWithLeftover('2');
    const giveBack = await flyctlLease(flyId, 'ops-ben');
    const outcomes: string[] = [];
    for (let i = 0; i < MAX_CLEANUP_TAKEOVERS + 1; i++) {
      outcomes.push(...(await recovery().run()).map((r) => r.outcome));
    }
    // Deferred each tick until the bound, then given up once; after that it is no longer claimed.
    expect(outcomes).toEqual([...Array(MAX_CLEANUP_TAKEOVERS - 1).fill('deferred'), 'abandoned']);
    expect(await state(flyId)).not.toBe('destroyed');
    expect(await s.store.getProvisioning(id)).toMatchObject({
      step: 'failed',
      detail: expect.stringContaining('given up'),
    });
    const told = posts.at(-1)!;
    expect(told.channel).toBe('C0LEASE');
    expect(told.text).toContain(`<@U0LEASE2>`);
    expect(told.text).toContain('flyctl machine update by ops-ben');
    expect(told.text).toContain(`fly machine destroy ${flyId} -a vyx-app --force`);
    await giveBack();
  });

  it('provisioner: the machine of a row destroyed meanwhile is leased by someone → handed to recovery', async () => {
    const createOrLease = (method: string, path: string) =>
      method === 'POST' && /^\/v1\/apps\/vyx-app\/machines(\/[^/]+\/lease)?$/.test(path);
    const proxy = await holdingFlyProxy(emulator, createOrLease);
    try {
      const provisioner = new Provisioner({
        store: s.store,
        fly: createFlyMachinesClient({ baseUrl: proxy.url, token: emulator.token }),
        registry: createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl }),
        slack,
        logger,
        now: () => new Date(),
        owner: 'replica-maker',
        config: {
          flyApp: 'vyx-app',
          defaultRegion: 'ams',
          defaultImage: 'registry.fly.io/vyx-app:latest',
          machineSupabaseUrl: s.twin.url,
          machineSupabaseServiceKey: s.twin.serviceKey,
          startTimeoutMs: 30_000,
          stuckAfterS: 60,
        },
      });
      const outcome = provisioner.start({
        userId: 'lease-maker',
        slackTeamId: 'T1',
        slackUserId: 'U0MAKER',
        channel: 'C0LEASE',
      });
      const created = /\/machines$/;
      const leased = /\/lease$/;
      await until(() => proxy.isHeld(created), 'the create held by Fly');
      const row = (await s.store.getActiveMachine('lease-maker'))!;
      // /vyx destroy meanwhile: no machine yet, so the row alone is marked destroyed.
      await s.store.reportStatus(row.machine_id, 'destroyed', 'destroyed by <@U0MAKER>');
      proxy.release(created);
      // The provisioner's cleanup asks for the lease; a person with flyctl got there first.
      await until(() => proxy.isHeld(leased), 'the cleanup asking for the lease');
      const made = await until(
        () =>
          emulator
            .machines('vyx-app')
            .find(
              (m) =>
                (m.config as { metadata?: Record<string, string> }).metadata?.vyx_machine_id ===
                row.machine_id,
            ),
        'the machine Fly made',
      );
      const flyId = String(made.id);
      const giveBack = await flyctlLease(flyId, 'ops-carl');
      proxy.release(leased);

      expect((await outcome).kind).toBe('failed');
      expect(await state(flyId)).not.toBe('destroyed');
      // Not ended: left unfinished, due at once, with who holds the lease.
      expect(await s.store.getProvisioning(row.machine_id)).toMatchObject({
        step: 'created',
        detail: expect.stringContaining(
          'lease held by emulator@fly.local (flyctl machine update by ops-carl)',
        ),
      });

      const whileHeld = await recovery().run();
      expect(whileHeld).toEqual([
        expect.objectContaining({ machineId: row.machine_id, outcome: 'deferred', flyMachineId: flyId }),
      ]);
      await giveBack();
      const after = await recovery().run();
      expect(after).toEqual([
        expect.objectContaining({ machineId: row.machine_id, outcome: 'closed', flyMachineId: flyId }),
      ]);
      expect(await state(flyId)).toBe('destroyed');
      expect((await s.store.getMachine(row.machine_id)).status).toBe('destroyed');
    } finally {
      await proxy.close();
    }
  });

  it('shutdown: a half-made machine leased by someone is left to recovery, the user told it goes shortly', async () => {
    const begun = await s.store.beginTrackedProvision({
      userId: 'lease-shutdown',
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'registry.fly.io/vyx-app:latest',
      createKey: 'lease-key-shutdown',
      owner: 'replica-stopping',
      leaseS: 120,
      slackChannel: 'C0LEASE',
      requestedBy: 'U0STOPPING',
    });
    const id = begun.machine.machine_id;
    const m = await fly.create('vyx-app', {
      skip_launch: true,
      config: {
        image: 'registry.fly.io/vyx-app:latest',
        metadata: { [CREATE_KEY_METADATA]: 'lease-key-shutdown' },
      },
    });
    await s.store.provisionStep(id, 'replica-stopping', 'waiting', { leaseS: 120, flyMachineId: m.id });
    await s.store.attachFlyMachine(id, m.id, 'vyx-app');
    const giveBack = await flyctlLease(m.id, 'ops-dora');

    const out = await abandonProvision(
      {
        store: s.store,
        fly,
        slack,
        now: () => new Date(),
        owner: 'replica-stopping',
        config: {
          flyApp: 'vyx-app',
          defaultRegion: 'ams',
          defaultImage: 'registry.fly.io/vyx-app:latest',
          machineSupabaseUrl: s.twin.url,
          machineSupabaseServiceKey: s.twin.serviceKey,
          startTimeoutMs: 30_000,
          stuckAfterS: 60,
        },
      },
      logger,
      { userId: 'lease-shutdown', slackTeamId: 'T1', slackUserId: 'U0STOPPING', channel: 'C0LEASE' },
      'SIGTERM',
    );
    expect(out).toMatchObject({
      machineId: id,
      leftover: expect.stringContaining('flyctl machine update by ops-dora'),
      told: true,
    });
    expect(out.flyMachineId).toBeUndefined();
    expect(slack.ephemerals.at(-1)?.text).toContain('its half-made Fly machine is removed shortly');
    expect(await state(m.id)).not.toBe('destroyed');
    expect((await s.store.getMachine(id)).status).toBe('failed');

    // Another replica's tick takes it at once (no waiting out the provisioning's 120 s lease).
    await giveBack();
    expect(await recovery().run()).toEqual([
      expect.objectContaining({ machineId: id, outcome: 'closed', flyMachineId: m.id }),
    ]);
    expect(await state(m.id)).toBe('destroyed');
  });
});
