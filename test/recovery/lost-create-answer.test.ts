import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { ADMIN, type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';

// An image whose process never reports (not the runtime): so only the bot can link the row, and
// what is proved is the bot's lookup, not the runtime's own FLY_MACHINE_ID report.
const SILENT = new URL('../fixtures/fly/run-until-term.ts', import.meta.url).pathname;

/** The vyxbot metadata of an emulator machine (its JSON as Fly answers it). */
const metaOf = (m: Record<string, unknown>) =>
  ((m.config as { metadata?: Record<string, string> } | undefined)?.metadata ?? {}) as Record<string, string>;

// Fly makes the machine but its answer is lost, and the machine list is unavailable for a while:
// the provisioner cannot know, so it hands the provisioning to recovery instead of calling it
// failed; the watcher's next tick (Fly visible again) finds the machine by its create key and links
// it. Before that, /vyx destroy still finds and destroys it.
describe('a lost create answer while the machine list is unavailable', () => {
  let h: BotHarness;
  beforeEach(async () => {
    h = await startBotHarness({
      stuckAfterS: 60,
      emulator: {
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: 'registry.fly.io/vyx-app:silent', command: [process.execPath, SILENT] },
        ],
      },
    });
  });
  afterEach(async () => {
    await h?.close();
  });

  const CREATE = 'POST /v1/apps/:app/machines';
  const LIST = 'GET /v1/apps/:app/machines';
  const threadOf = (ts: string | null) => (ts ? h.slack.thread(CHANNEL, ts).map((m) => m.text) : []);

  /** `/vyx start` with Fly's answer lost (the machine made) and the list failing until `listBack()`. */
  async function startWithLostAnswer() {
    h.emulator.faults.addRule({ route: CREATE, rate: 1, kinds: ['server-error'], phase: 'after', times: 1 });
    h.emulator.faults.addRule({ route: LIST, rate: 1, kinds: ['unavailable'], phase: 'before' });
    expect((await h.command('start --image silent')).status).toBe(200);
    const told = await h.until(
      () => h.ephemerals().find((t) => t.includes('answer about machine')),
      'the user told the answer was lost',
    );
    const row = (await h.s.store.getActiveMachine('vyx-admin'))!;
    // Fly did make it — nobody knows its id yet.
    const made = h.emulator.machines('vyx-app').filter((m) => metaOf(m).vyx_machine_id === row.machine_id);
    expect(made).toHaveLength(1);
    expect(row.fly_machine_id).toBeNull();
    return { row, told, flyId: String(made[0]!.id) };
  }
  const listBack = () => h.emulator.faults.setRules([]);

  it('is not called failed; the next tick links the machine by its create key and says so in the thread', async () => {
    const { row, told, flyId } = await startWithLostAnswer();
    expect(told).toContain(`Fly’s answer about machine \`${row.machine_id}\` was lost`);
    expect(h.ephemerals().some((t) => /failed to start/.test(t))).toBe(false);
    expect((await h.s.store.getMachine(row.machine_id)).status).not.toBe('failed');
    const progress = await h.s.store.getProvisioning(row.machine_id);
    expect(progress?.step).toBe('creating');
    expect(progress?.detail).toMatch(/FLY_UNAVAILABLE/);
    await h.until(
      () => threadOf(row.slack_thread_ts).some((t) => t.includes('Fly did not answer the create')),
      'the thread told',
    );

    // Still blind: the tick defers it and marks nothing failed.
    const blind = await h.bot.stuck.tick();
    expect(blind.recovered).toEqual([
      expect.objectContaining({ machineId: row.machine_id, outcome: 'deferred' }),
    ]);
    expect((await h.s.store.getMachine(row.machine_id)).status).not.toBe('failed');

    listBack();
    // Judged ten minutes later, when the unlinked machine is old enough to be taken for an orphan:
    // recovery runs first in the tick and links it, so it is not one.
    const later = new StuckWatcher({
      store: h.s.store,
      fly: createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token }),
      registry: createRegistryClient({ token: h.emulator.token, baseUrlFor: () => h.emulator.baseUrl }),
      logger: pino({ level: 'silent' }),
      owner: 'later',
      defaultApp: 'vyx-app',
      stuckAfterS: 60,
      now: () => new Date(Date.now() + 10 * 60_000),
      recovery: h.bot.recovery,
    });
    const report = await later.tick();
    expect(report.recovered).toEqual([
      expect.objectContaining({
        machineId: row.machine_id,
        outcome: 'linked',
        flyMachineId: flyId,
        by: 'create_key',
        told: true,
      }),
    ]);
    expect(report.orphans).toBe(0);
    const linked = await h.s.store.getMachine(row.machine_id);
    expect(linked.fly_machine_id).toBe(flyId);
    expect(await h.s.store.getProvisioning(row.machine_id)).toMatchObject({ step: 'done', owner: null });
    await h.until(
      () => threadOf(row.slack_thread_ts).some((t) => t.includes(`found its Fly machine \`${flyId}\``)),
      'the thread told it was found',
    );
    expect(threadOf(row.slack_thread_ts).some((t) => /\bfailed\b/.test(t))).toBe(false);
    expect((await h.s.store.getMachine(row.machine_id)).status).toBe('starting');
    // Nothing left for a later tick: no second recovery, no diagnosis.
    expect((await h.bot.stuck.tick()).recovered).toEqual([]);
    const { rows } = await h.s.twin.backend.query('select code from diagnoses where machine_id = $1', [
      row.machine_id,
    ]);
    expect(rows).toEqual([]);
  });

  it('/vyx destroy of the row whose Fly id was never recorded finds and destroys its machine', async () => {
    const { row, flyId } = await startWithLostAnswer();
    // While Fly cannot be listed, destroy refuses rather than leave the machine behind a destroyed row.
    await h.press('vyx_destroy', row.machine_id, ADMIN);
    await h.until(
      () => h.ephemerals().some((t) => /FLY_UNAVAILABLE|Fly/.test(t) && /could|try/i.test(t)),
      'the refusal',
    );
    expect((await h.s.store.getMachine(row.machine_id)).status).not.toBe('destroyed');
    expect(h.emulator.machines('vyx-app').find((m) => m.id === flyId)?.state).not.toBe('destroyed');

    listBack();
    await h.press('vyx_destroy', row.machine_id, ADMIN);
    await h.until(
      () => h.ephemerals().some((t) => t.includes(`Machine \`${row.machine_id}\` is destroyed`)),
      'destroyed',
    );
    await h.until(
      () => h.emulator.machines('vyx-app').find((m) => m.id === flyId)?.state === 'destroyed',
      'the Fly machine destroyed',
    );
    expect((await h.s.store.getMachine(row.machine_id)).status).toBe('destroyed');
    // Recovery later closes the provisioning without touching anything else.
    const report = await h.bot.stuck.tick();
    expect(report.recovered).toEqual([
      expect.objectContaining({ machineId: row.machine_id, outcome: 'closed' }),
    ]);
  });
});
