import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackMessage } from '../../src/local/slack-twin/slack-workspace.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';
import { provisionMachine, settingsFor } from './provision-machine.ts';
import { ALL_BUGS, legacyImages, type SeededBugs } from './seeded-bugs.ts';

const THRESHOLD_S = 3;

// The seeds' platform — its edge function and its runtime as they were — on the twins, each seeded
// bug alone, all four together, and the fixed platform. The watcher runs one tick once the row is
// past the threshold and must name the cause with its evidence; the fixed platform gets no alert.
describe('the legacy platform’s seeded bugs, seen by the watcher', () => {
  let h: BotHarness;
  beforeEach(async () => {
    // A fresh stack per case: the 0-row status writes of one case are no evidence for another.
    h = await startBotHarness({ stuckAfterS: THRESHOLD_S, emulator: { catalogue: legacyImages() } });
  });
  afterEach(async () => {
    await h?.close();
  });

  /** Presses "Start Machine" in the web UI with these bugs in place. */
  async function webUiStart(bugs: SeededBugs) {
    const userId = randomUUID();
    const settings = settingsFor(bugs, {
      SUPABASE_URL: h.s.twin.url,
      SUPABASE_SERVICE_ROLE_KEY: h.s.twin.serviceKey,
      FLY_API_TOKEN: h.emulator.token,
      FLY_API_URL: h.emulator.baseUrl,
      FLY_APP_NAME: 'vyx-app',
    });
    const made = await provisionMachine(settings, { userId }, bugs);
    expect(made.machineId).toBe(`vyx-${userId.slice(0, 8)}`);
    const row = await h.s.store.getMachine(made.machineId);
    expect(row).toMatchObject({ status: 'starting', fly_machine_id: null, user_id: userId });
    return { ...made, userId, settings };
  }
  const flyState = (id: string) => String(h.emulator.machines('vyx-app').find((m) => m.id === id)?.state);
  const settled = (id: string, states: string[]) =>
    h.until(() => states.includes(flyState(id)), `Fly machine ${id} ${states.join('/')}`);
  /** The row has been `starting` longer than the threshold (by the database's clock). */
  const pastThreshold = (machineId: string) =>
    h.until(async () => {
      const { rows } = await h.s.twin.backend.query(
        `select now() - status_changed_at > make_interval(secs => $2) as past from cloud_machines where machine_id = $1`,
        [machineId, THRESHOLD_S],
      );
      return rows[0]?.past === true;
    }, 'the row past the threshold');

  /** One tick: the row's diagnosis, and the alert the echo posts. */
  async function oneTick(machineId: string) {
    const report = await h.bot.stuck.tick();
    const mine = report.diagnosed.filter((d) => d.machineId === machineId);
    expect(mine).toHaveLength(1);
    await h.bot.echo.tick();
    const alert = await h.until(
      () =>
        h.slack
          .messages(CHANNEL)
          .find((m: SlackMessage) => m.text.startsWith(`${mine[0]!.code}`) && m.text.includes(machineId)),
      `the ${mine[0]!.code} alert`,
    );
    const { rows } = await h.s.twin.backend.query('select evidence from diagnoses where machine_id = $1', [
      machineId,
    ]);
    const evidence = rows[0]?.evidence as { fact: string; value: string }[];
    const facts = Object.fromEntries(evidence.map((e) => [e.fact, e.value]));
    return {
      code: mine[0]!.code,
      markedFailed: mine[0]!.markedFailed,
      alert,
      facts,
      blocks: JSON.stringify(alert.blocks),
    };
  }

  it('#1 alone — DOCKER_IMAGE=:stub: the launch fails, auto_destroy removes it → IMAGE_TAG_MISSING', async () => {
    const { machineId, flyMachineId } = await webUiStart({ wrongImage: true });
    await settled(flyMachineId, ['destroyed']);
    await pastThreshold(machineId);
    const d = await oneTick(machineId);
    expect(d.code).toBe('IMAGE_TAG_MISSING');
    expect(d.markedFailed).toBe(true);
    expect(d.alert.text).toContain('registry.fly.io/vyx-app:stub');
    expect(d.blocks).toContain('MANIFEST_UNKNOWN');
    expect(d.facts['matched by']).toBe(`the machine's name (${machineId})`);
  });

  it('#2 alone — the edge function sends SUPABASE_SERVICE_ROLE_KEY → ENV_MISMATCH naming both names, never the value', async () => {
    const { machineId, flyMachineId, settings } = await webUiStart({ edgeSendsRoleKey: true });
    await settled(flyMachineId, ['destroyed']);
    await pastThreshold(machineId);
    const d = await oneTick(machineId);
    expect(d.code).toBe('ENV_MISMATCH');
    expect(d.blocks).toContain('SUPABASE_SERVICE_ROLE_KEY is set: rename it to SUPABASE_SERVICE_KEY');
    expect(d.blocks).not.toContain(settings.SUPABASE_SERVICE_ROLE_KEY);
    expect(d.markedFailed).toBe(true);
  });

  it('#3 alone — the runtime reads SUPABASE_SERVICE_ROLE_KEY: it dies at boot → BOOT_CRASH with exit code 1', async () => {
    const { machineId, flyMachineId } = await webUiStart({ runtimeReadsRoleKey: true });
    await settled(flyMachineId, ['destroyed']);
    expect(h.emulator.machineLogs(flyMachineId).join('\n')).toContain('supabaseKey is required');
    await pastThreshold(machineId);
    const d = await oneTick(machineId);
    expect(d.code).toBe('BOOT_CRASH');
    // Fly's default restart policy (the legacy create sets none) makes it a crash loop: told as one.
    expect(d.alert.text).toMatch(/(exited|keeps exiting) with code 1/);
    expect(d.facts['last exit']).toContain('exit code 1');
  });

  it('#4 alone — no MACHINE_ID: the machine runs as machine_<ts>, its update matches 0 rows → MACHINE_ID_MISMATCH with the 0-row writes', async () => {
    const { machineId, flyMachineId } = await webUiStart({ noMachineId: true });
    await settled(flyMachineId, ['started']);
    const since = new Date(Date.now() - 60_000);
    await h.until(async () => (await h.s.store.unmatchedStatusWrites(since)).length > 0, 'the 0-row write');
    await pastThreshold(machineId);
    const d = await oneTick(machineId);
    expect(d.code).toBe('MACHINE_ID_MISMATCH');
    expect(d.facts['MACHINE_ID in config.env']).toBe('(missing)');
    expect(d.facts['row machine_id']).toBe(machineId);
    expect(d.facts['Fly machine id']).toBe(`${flyMachineId} (row has none)`);
    expect(d.facts['matched by']).toBe(`the machine's name (${machineId})`);
    expect(d.facts['status writes that matched no row']).toMatch(
      /^1 status update from service_role .*PATCH \/rest\/v1\/cloud_machines.* matched no row since \d\d:\d\d UTC$/,
    );
    // The machine really is up, as in the incident.
    expect(flyState(flyMachineId)).toBe('started');
    expect(h.emulator.machineLogs(flyMachineId).join('\n')).toMatch(/Machine ID: machine_\d{13}/);
  });

  it('all four together → IMAGE_TAG_MISSING first (nothing else can run until the image exists)', async () => {
    const { machineId, flyMachineId } = await webUiStart(ALL_BUGS);
    await settled(flyMachineId, ['destroyed']);
    await pastThreshold(machineId);
    const d = await oneTick(machineId);
    expect(d.code).toBe('IMAGE_TAG_MISSING');
    expect(d.alert.text).toContain('registry.fly.io/vyx-app:stub');
    // The configuration bugs visible on the machine are named too, so one round fixes them all
    // (#3 lives in the runtime's code: it shows only once the image runs, as BOOT_CRASH).
    const also = (
      await h.s.twin.backend.query('select evidence from diagnoses where machine_id = $1', [machineId])
    ).rows[0]?.evidence as { fact: string; value: string }[];
    expect(also.filter((e) => e.fact === 'also wrong').map((e) => e.value)).toEqual([
      expect.stringMatching(/^ENV_MISMATCH: .*SUPABASE_SERVICE_KEY/),
      expect.stringMatching(/^MACHINE_ID_MISMATCH: The machine was started without MACHINE_ID/),
    ]);
    expect(d.blocks).toContain('also wrong');
  });

  it('the fixed platform: the runtime reports running, no alert, no diagnosis', async () => {
    const { machineId, flyMachineId } = await webUiStart({});
    await settled(flyMachineId, ['started']);
    await h.until(async () => (await h.s.store.getMachine(machineId)).status === 'running', 'running');
    await pastThreshold(machineId);
    const report = await h.bot.stuck.tick();
    expect(report.diagnosed).toEqual([]);
    expect(report.orphans).toBe(0);
    await h.bot.echo.tick();
    const { rows } = await h.s.twin.backend.query('select count(*)::int as n from diagnoses');
    expect(rows[0]?.n).toBe(0);
    expect(h.slack.messages(CHANNEL).filter((m) => /^[A-Z_]{6,} /.test(m.text))).toEqual([]);
  });
});
