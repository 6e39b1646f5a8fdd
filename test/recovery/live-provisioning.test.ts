import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { type BotHarness, startBotHarness } from '../helpers/bot-harness.ts';

const SILENT = new URL('../fixtures/fly/run-until-term.ts', import.meta.url).pathname;

// A provisioning still under its lease (here: waiting for Fly's `started`, held) belongs to its
// provisioner: the watcher neither diagnoses its row nor takes it over, even past the threshold.
describe('a provisioning in progress past the stuck threshold', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({
      stuckAfterS: 1,
      emulator: {
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: 'registry.fly.io/vyx-app:silent', command: [process.execPath, SILENT] },
        ],
      },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is left to its provisioner: not claimed, not diagnosed, not recovered', async () => {
    h.emulator.faults.addRule({
      route: 'GET /v1/apps/:app/machines/:id/wait',
      rate: 1,
      kinds: ['latency'],
      latencyMs: 60_000,
    });
    expect((await h.command('start --image silent')).status).toBe(200);
    const row = await h.until(async () => {
      const r = await h.s.store.getActiveMachine('vyx-admin');
      return r && (await h.s.store.getProvisioning(r.machine_id))?.step === 'waiting' ? r : undefined;
    }, 'the provisioning waiting');
    await h.until(async () => {
      const { rows } = await h.s.twin.backend.query(
        `select now() - status_changed_at > interval '1.5 seconds' as past from cloud_machines where machine_id = $1`,
        [row.machine_id],
      );
      return rows[0]?.past === true;
    }, 'past the threshold');
    const report = await h.bot.stuck.tick();
    expect(report.recovered).toEqual([]);
    expect(report.diagnosed.map((d) => d.machineId)).not.toContain(row.machine_id);
    expect((await h.s.store.getMachine(row.machine_id)).status).toBe('starting');
    expect(await h.s.store.getProvisioning(row.machine_id)).toMatchObject({ step: 'waiting', takeovers: 0 });
  });
});
