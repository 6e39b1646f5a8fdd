import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { type BotHarness, CHANNEL, MEMBER, startBotHarness } from '../helpers/bot-harness.ts';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const SILENT = 'registry.fly.io/vyx-app:silent';

/** Fly loses a machine's host (`host_status: unreachable`): the card says so, with Fly's advice. */
describe('HOST_UNREACHABLE end to end', () => {
  let h: BotHarness;

  beforeAll(async () => {
    h = await startBotHarness({
      stuckAfterS: 1,
      emulator: {
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: SILENT, command: [process.execPath, fixture('fly/run-until-term.ts')] },
        ],
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a stuck row whose host is lost: the watcher posts HOST_UNREACHABLE (not RUNTIME_SILENT), not failed', async () => {
    const fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, 'web-user', 'starting', 'vyx-app', $2)`,
      [machineId, SILENT],
    );
    const machine = await fly.create('vyx-app', {
      config: {
        image: SILENT,
        env: buildMachineEnv({
          machineId,
          userId: 'web-user',
          supabaseUrl: h.s.twin.url,
          supabaseServiceKey: h.s.twin.serviceKey,
        }),
        auto_destroy: false,
        restart: { policy: 'no' },
      },
    });
    await h.s.twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
      machineId,
      machine.id,
    ]);
    expect(h.emulator.setHostStatus(machine.id, 'unreachable')).toBe(true);
    const report = await h.until(async () => {
      const r = await h.bot.stuck.tick();
      return r.diagnosed.some((d) => d.machineId === machineId) ? r : undefined;
    }, 'the diagnosis');
    const mine = report.diagnosed.find((d) => d.machineId === machineId)!;
    expect(mine.code).toBe('HOST_UNREACHABLE');
    expect(mine.markedFailed).toBe(false);
    await h.bot.echo.tick();
    const alert = await h.until(
      () =>
        h.slack
          .messages(CHANNEL)
          .find((m) => m.text.startsWith('HOST_UNREACHABLE') && m.text.includes(machineId)),
      'the HOST_UNREACHABLE alert',
    );
    expect(alert.text).toContain('Recreate it elsewhere');
    expect(JSON.stringify(alert.blocks)).toContain('HOST_UNREACHABLE.md');
  });

  it('/vyx diagnose on a running machine whose host is lost: the card with Retry and Destroy', async () => {
    await h.command('start', MEMBER);
    const row = await h.until(async () => {
      const rows = await h.s.store.listMachines({ userId: 'vyx-member' });
      return rows[0]?.status === 'running' && rows[0].fly_machine_id ? rows[0] : undefined;
    }, 'the machine running');
    h.emulator.setHostStatus(row.fly_machine_id!, 'unreachable');
    const before = h.slack.workspace.ephemerals().length;
    await h.command(`diagnose ${row.machine_id}`, MEMBER);
    const answer = await h.until(
      () =>
        h.slack.workspace
          .ephemerals()
          .slice(before)
          .find((e) => e.user === MEMBER),
      'the diagnose answer',
    );
    expect(answer.text).toMatch(/^HOST_UNREACHABLE/);
    const blocks = JSON.stringify(answer.blocks);
    expect(blocks).toContain('vyx_retry');
    expect(blocks).toContain('vyx_destroy');
  });
});
