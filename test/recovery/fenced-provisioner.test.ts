import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { Provisioner } from '../../src/provision/provisioner.ts';
import type { PostMessage } from '../../src/slack/slack-poster.ts';
import { ProvisionRecovery } from '../../src/watchers/provision-recovery.ts';
import { until } from '../../testkit/until.ts';
import { holdingFlyProxy } from '../helpers/holding-fly-proxy.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

const CREATE = /^\/v1\/apps\/[^/]+\/machines$/;

// A provisioner that stalls past its lease (here: Fly holds its create) is taken over by a
// recovery; when Fly finally answers, its next step is fenced off, and the machine that arrived
// after its row was failed is destroyed, not left as an orphan.
describe('a stalled provisioning taken over by a recovery', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;
  let proxy: Awaited<ReturnType<typeof holdingFlyProxy>>;
  beforeAll(async () => {
    s = await startStoreOn('pglite');
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    // Creates are held until released: a slow Fly, on command.
    proxy = await holdingFlyProxy(emulator, (method, path) => method === 'POST' && CREATE.test(path));
  });
  afterAll(async () => {
    await proxy?.close();
    await emulator?.close();
    await s?.close();
  });

  /** A provisioner whose Fly calls go through the holding proxy; Slack records posts. */
  function makeProvisioner() {
    const posts: PostMessage[] = [];
    const slack = {
      async post(m: PostMessage) {
        posts.push(m);
        return { channel: m.channel, ts: `${posts.length}.000001` };
      },
      // The provisioner only posts here; anything else would be a surprise worth failing on.
      async ephemeral() {
        throw new Error('unexpected ephemeral');
      },
      async update() {
        throw new Error('unexpected update');
      },
      async findDelivered(): Promise<string | null> {
        throw new Error('unexpected findDelivered');
      },
    };
    const logger = pino({ level: 'silent' });
    const direct = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const provisioner = new Provisioner({
      store: s.store,
      fly: createFlyMachinesClient({ baseUrl: proxy.url, token: emulator.token }),
      registry: createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl }),
      slack,
      logger,
      now: () => new Date(),
      owner: 'replica-slow',
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
    return { provisioner, slack, logger, direct };
  }

  it('fences the old provisioner off and destroys the machine it made too late', async () => {
    const { provisioner, slack, logger, direct } = makeProvisioner();
    const outcome = provisioner.start({
      userId: 'fenced-user',
      slackTeamId: 'T1',
      slackUserId: 'U0FENCED',
      channel: 'C0FENCE',
    });
    await until(() => proxy.isHeld(CREATE), 'the create held by Fly');
    const row = (await s.store.getActiveMachine('fenced-user'))!;
    expect((await s.store.getProvisioning(row.machine_id))?.step).toBe('creating');

    // Its lease is over (as after a stall past VYX_START_TIMEOUT_S + 60 s): another replica takes it.
    await s.twin.backend.query(
      `update vyx_provisionings set lease_until = now() - interval '1 second' where machine_id = $1`,
      [row.machine_id],
    );
    const recovered = await new ProvisionRecovery({
      store: s.store,
      fly: direct,
      slack,
      logger,
      owner: 'replica-other',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
    }).run();
    expect(recovered).toEqual([
      expect.objectContaining({ machineId: row.machine_id, outcome: 'failed', code: 'NEVER_CREATED' }),
    ]);

    // Fly answers at last: the machine exists now, but the provisioning is no longer its maker's.
    proxy.release(CREATE);
    const result = await outcome;
    expect(result.kind).toBe('unresolved');
    const made = emulator
      .machines('vyx-app')
      .filter(
        (m) =>
          (m.config as { metadata?: Record<string, string> }).metadata?.vyx_machine_id === row.machine_id,
      );
    expect(made).toHaveLength(1);
    await until(
      async () => (await direct.get('vyx-app', String(made[0]!.id))).state === 'destroyed',
      'destroyed',
    );
    const after = await s.store.getMachine(row.machine_id);
    expect(after).toMatchObject({
      status: 'failed',
      fly_machine_id: null,
      diagnosis: { code: 'NEVER_CREATED' },
    });
    expect(await s.store.getProvisioning(row.machine_id)).toMatchObject({ step: 'failed', owner: null });
  });

  it('a row destroyed while Fly was still making its machine takes the machine down with it', async () => {
    const { provisioner, direct } = makeProvisioner();
    const outcome = provisioner.start({
      userId: 'ended-user',
      slackTeamId: 'T1',
      slackUserId: 'U0ENDED',
      channel: 'C0FENCE',
    });
    await until(() => proxy.isHeld(CREATE), 'the create held by Fly');
    const row = (await s.store.getActiveMachine('ended-user'))!;
    // /vyx destroy meanwhile: no Fly id, no machine yet to find, so the row alone is marked destroyed.
    await s.store.reportStatus(row.machine_id, 'destroyed', 'destroyed by <@U0ENDED>');
    proxy.release(CREATE);
    const result = await outcome;
    expect(result.kind).toBe('failed');
    const made = emulator
      .machines('vyx-app')
      .filter(
        (m) =>
          (m.config as { metadata?: Record<string, string> }).metadata?.vyx_machine_id === row.machine_id,
      );
    expect(made).toHaveLength(1);
    await until(
      async () => (await direct.get('vyx-app', String(made[0]!.id))).state === 'destroyed',
      'destroyed',
    );
    expect((await s.store.getMachine(row.machine_id)).status).toBe('destroyed');
    expect(await s.store.getProvisioning(row.machine_id)).toMatchObject({ step: 'failed' });
  });
});
