import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  type BotHarness,
  CHANNEL,
  startBotHarness,
  TEXT_USER_IDS,
  UUID_USER_IDS,
} from '../helpers/bot-harness.ts';

const THRESHOLD_S = 2;

// vyxbot on the platform's database as it is: user_id text or uuid, the platform's own writers
// writing status words vyxbot does not know, and runtimes whose status writes match no row.
describe.each([
  { name: 'PGlite, vyxbot’s own table (user_id text)', kind: 'pglite', userIdType: 'text' },
  { name: 'Postgres, the platform’s table with user_id uuid', kind: 'postgres', userIdType: 'uuid' },
] as const)('the bot on $name', ({ kind, userIdType }) => {
  let h: BotHarness;
  const ids = userIdType === 'uuid' ? UUID_USER_IDS : TEXT_USER_IDS;
  beforeAll(async () => {
    h = await startBotHarness({ kind, userIdType, stuckAfterS: THRESHOLD_S });
  });
  afterAll(async () => {
    await h?.close();
  });

  const alertsFor = (machineId: string, code: string) =>
    h.slack.messages(CHANNEL).filter((m) => m.text.includes(machineId) && m.text.startsWith(code));
  const pastThreshold = (machineId: string) =>
    h.s.twin.backend.query(
      `update cloud_machines set status_changed_at = status_changed_at - make_interval(secs => $2) where machine_id = $1`,
      [machineId, THRESHOLD_S + 5],
    );

  it('/vyx start brings a machine up to running', async () => {
    expect((await h.command('start', ADMIN)).status).toBe(200);
    const row = await h.until(async () => {
      const [m] = await h.s.store.listMachines({ userId: ids.admin });
      return m?.status === 'running' ? m : undefined;
    }, 'the machine running');
    expect(row.user_id).toBe(ids.admin);
    expect(row.fly_machine_id).toBeTruthy();
    // The machine got its own credential, not the service key, and reported running with it.
    const created = h.emulator.machines('vyx-app').find((m) => m.id === row.fly_machine_id) as
      | { config?: { env?: Record<string, string> } }
      | undefined;
    const env = created?.config?.env ?? {};
    expect(Object.keys(env)).toEqual(expect.arrayContaining(['SUPABASE_MACHINE_TOKEN', 'SUPABASE_ANON_KEY']));
    expect(env).not.toHaveProperty('SUPABASE_SERVICE_KEY');
    expect(row.status_written_by).toMatchObject({ role: 'vyx_machine', machine_id: row.machine_id });
  });

  it('a platform writer’s status word outside the vocabulary is stored, and the watcher names it and its writer', async () => {
    const machineId = `web-${Date.now().toString(36)}`;
    const platform = createClient(h.s.twin.url, h.s.twin.serviceKey, { auth: { persistSession: false } });
    const ins = await platform
      .from('cloud_machines')
      .insert({ machine_id: machineId, user_id: ids.other, status: 'queued' });
    expect(ins.error).toBeNull();
    const upd = await platform
      .from('cloud_machines')
      .update({ status: 'provisioning' })
      .eq('machine_id', machineId);
    expect(upd).toMatchObject({ status: 204, error: null });
    await pastThreshold(machineId);
    await h.bot.stuck.tick();
    const [alert] = await h.until(async () => {
      await h.bot.echo.tick();
      const a = alertsFor(machineId, 'UNKNOWN_STATUS');
      return a.length ? a : undefined;
    }, 'the UNKNOWN_STATUS alert');
    const text = `${alert!.text} ${JSON.stringify(alert!.blocks)}`;
    expect(text).toContain('provisioning');
    expect(text).toContain('service_role via PATCH /rest/v1/cloud_machines');
    expect((await h.s.store.getMachine(machineId)).status).toBe('provisioning');
  });

  it('a 0-row status write through the table endpoint appears as evidence in the diagnosis', async () => {
    const machineId = `web-${Date.now().toString(36)}z`;
    const platform = createClient(h.s.twin.url, h.s.twin.serviceKey, { auth: { persistSession: false } });
    await platform
      .from('cloud_machines')
      .insert({ machine_id: machineId, user_id: ids.member, status: 'starting', fly_app: 'vyx-app' });
    await pastThreshold(machineId);
    // The incident's runtime: `machine_${Date.now()}` instead of its row's id, three times.
    for (let i = 0; i < 3; i++) {
      const r = await platform
        .from('cloud_machines')
        .update({ status: 'running' })
        .eq('machine_id', `machine_${Date.now()}`);
      expect(r).toMatchObject({ status: 204, error: null });
    }
    await h.bot.stuck.tick();
    const [alert] = await h.until(async () => {
      await h.bot.echo.tick();
      const a = h.slack.messages(CHANNEL).filter((m) => m.text.includes(machineId));
      return a.length ? a : undefined;
    }, 'the diagnosis of the row');
    expect(JSON.stringify(alert!.blocks)).toMatch(
      /3 status updates from service_role \(PATCH \/rest\/v1\/cloud_machines\) matched no row since \d\d:\d\d UTC/,
    );
  });
});
