import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_KEY_METADATA, createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import type { PostMessage } from '../../src/slack/slack-poster.ts';
import { ProvisionRecovery } from '../../src/watchers/provision-recovery.ts';
import { type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// ProvisionRecovery on its own: real store (the Supabase twin over PGlite) and the Fly emulator,
// Slack as a recording poster. The cases the kill tests do not reach.
describe('ProvisionRecovery', () => {
  let s: StoreUnderTest;
  let emulator: FlyEmulator;
  let fly: ReturnType<typeof createFlyMachinesClient>;
  const posts: PostMessage[] = [];
  const recovery = (token?: string) =>
    new ProvisionRecovery({
      store: s.store,
      fly: token
        ? createFlyMachinesClient({ baseUrl: emulator.baseUrl, token, retry: { maxAttempts: 1 } })
        : fly,
      slack: {
        async post(m) {
          posts.push(m);
          return { channel: m.channel, ts: '1.000001' };
        },
      },
      logger: pino({ level: 'silent' }),
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

  /** A provisioning whose process died (its lease already run out), with its row. */
  async function abandoned(n: string) {
    const begun = await s.store.beginTrackedProvision({
      userId: `rec-user-${n}`,
      flyApp: 'vyx-app',
      region: 'ams',
      image: 'registry.fly.io/vyx-app:latest',
      createKey: `rec-key-${n}`,
      owner: 'replica-dead',
      leaseS: 0,
      slackChannel: 'C0REC',
      requestedBy: `U0REC${n}`,
    });
    await s.store.provisionStep(begun.machine.machine_id, 'replica-dead', 'creating', { leaseS: 0 });
    return begun.machine.machine_id;
  }
  /** A machine on Fly (not launched: no process), as a create would have left it. */
  const flyMachine = (o: {
    name?: string;
    metadata?: Record<string, string>;
    env?: Record<string, string>;
  }) =>
    fly.create('vyx-app', {
      ...(o.name ? { name: o.name } : {}),
      skip_launch: true,
      config: {
        image: 'registry.fly.io/vyx-app:latest',
        ...(o.metadata ? { metadata: o.metadata } : {}),
        ...(o.env ? { env: o.env } : {}),
      },
    });

  it('a row that failed meanwhile: its leftover machine (found by create key) is destroyed, the user told', async () => {
    const id = await abandoned('1');
    const m = await flyMachine({ metadata: { [CREATE_KEY_METADATA]: 'rec-key-1' } });
    await s.store.reportStatus(id, 'failed', 'given up at shutdown');
    const out = await recovery().run();
    expect(out).toEqual([
      expect.objectContaining({
        machineId: id,
        outcome: 'closed',
        flyMachineId: m.id,
        by: 'create_key',
        told: true,
      }),
    ]);
    expect((await fly.get('vyx-app', m.id).catch(() => ({ state: 'destroyed' }))).state).toBe('destroyed');
    expect(await s.store.getProvisioning(id)).toMatchObject({ step: 'failed', owner: null });
    expect(posts.at(-1)).toMatchObject({ channel: 'C0REC', text: expect.stringContaining(`<@U0REC1> `) });
    expect((await s.store.getMachine(id)).status).toBe('failed');
  });

  it('a machine made without the create key (by hand, named after the row) is linked by its name', async () => {
    const id = await abandoned('2');
    const m = await flyMachine({ name: id });
    const out = await recovery().run();
    expect(out).toEqual([
      expect.objectContaining({ machineId: id, outcome: 'linked', by: 'name', flyMachineId: m.id }),
    ]);
    expect((await s.store.getMachine(id)).fly_machine_id).toBe(m.id);
    expect(posts.at(-1)?.text).toContain(`by the machine's name (${id})`);
  });

  it('its machine found destroyed → the row failed with MACHINE_GONE and the create key in the evidence', async () => {
    const id = await abandoned('3');
    const env = {
      MACHINE_ID: id,
      USER_ID: 'rec-user-3',
      SUPABASE_URL: s.twin.url,
      SUPABASE_SERVICE_KEY: 'k',
    };
    const m = await flyMachine({ metadata: { [CREATE_KEY_METADATA]: 'rec-key-3' }, env });
    await fly.destroy('vyx-app', m.id, { force: true });
    const out = await recovery().run();
    expect(out).toEqual([
      expect.objectContaining({ machineId: id, outcome: 'failed', code: 'MACHINE_GONE' }),
    ]);
    const row = await s.store.getMachine(id);
    expect(row).toMatchObject({ status: 'failed', diagnosis: { code: 'MACHINE_GONE' } });
    const { rows } = await s.twin.backend.query('select evidence from diagnoses where machine_id = $1', [id]);
    expect(JSON.stringify(rows[0]?.evidence)).toContain(`create key rec-key-3`);
  });

  it('Fly cannot be listed: deferred (nothing failed), and the next try may take it at once', async () => {
    const id = await abandoned('4');
    const out = await recovery('not-the-token').run();
    expect(out).toEqual([expect.objectContaining({ machineId: id, outcome: 'deferred', told: false })]);
    expect((await s.store.getMachine(id)).status).toBe('starting');
    expect((await s.store.getProvisioning(id))?.detail).toMatch(/FLY_UNAUTHORIZED/);
    const again = await recovery().run();
    expect(again).toEqual([
      expect.objectContaining({ machineId: id, outcome: 'failed', code: 'NEVER_CREATED' }),
    ]);
  });
});
