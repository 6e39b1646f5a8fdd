import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import type { SlackMessage } from '../../src/local/slack-twin/slack-workspace.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const IMAGE = (tag: string) => `registry.fly.io/vyx-app:${tag}`;
const THRESHOLD_S = 3;

/**
 * The incidents replayed end to end: machines created behind the bot's back (as the web UI's edge
 * function did) on the Fly emulator, running the real runtime against the Supabase twin; the stuck
 * watcher ticks once past the threshold; the alert arrives in Slack through the outbox.
 */
describe('the stuck watcher on the incidents and the catalogue', () => {
  let h: BotHarness;
  let fly: ReturnType<typeof createFlyMachinesClient>;

  beforeAll(async () => {
    const node = process.execPath;
    h = await startBotHarness({
      stuckAfterS: THRESHOLD_S,
      emulator: {
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: IMAGE('crash'), command: [node, fixture('fly/exit-one.ts')] },
          { ref: IMAGE('oom'), command: [node, fixture('watch/kill-self.ts')] },
          { ref: IMAGE('silent'), command: [node, fixture('fly/run-until-term.ts')] },
          { ref: IMAGE('clean-exit'), command: [node, fixture('watch/clean-exit.ts')] },
        ],
      },
    });
    fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** What the web UI's edge function did: a row, a Fly machine with env it built by hand. */
  async function webUiProvision(o: {
    image?: string;
    env?: (env: Record<string, string>) => Record<string, string>;
    autoDestroy?: boolean;
    attach?: boolean;
    /** The edge function named machines after the row. */
    named?: boolean;
  }) {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    const userId = `web-${machineId}`;
    const image = o.image ?? IMAGE('latest');
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', 'vyx-app', $3)`,
      [machineId, userId, image],
    );
    const base: Record<string, string> = buildMachineEnv({
      machineId,
      userId,
      supabaseUrl: h.s.twin.url,
      supabaseServiceKey: h.s.twin.serviceKey,
    });
    const machine = await fly.create('vyx-app', {
      ...(o.named ? { name: machineId } : {}),
      region: 'ams',
      config: {
        image,
        env: o.env ? o.env(base) : base,
        auto_destroy: o.autoDestroy ?? true,
        restart: { policy: 'no' },
      },
    });
    if (o.attach ?? true) {
      await h.s.twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
        machineId,
        machine.id,
      ]);
    }
    return { machineId, flyId: machine.id };
  }

  const flyState = (id: string): string =>
    String(h.emulator.machines('vyx-app').find((m) => m.id === id)?.state ?? '');
  const waitState = (id: string, states: string[]) =>
    h.until(() => states.includes(flyState(id)), `Fly machine ${id} in ${states.join('/')}`);
  const pastThreshold = () => new Promise((r) => setTimeout(r, THRESHOLD_S * 1000 + 200));
  const alertsFor = (machineId: string): SlackMessage[] =>
    h.slack
      .messages(CHANNEL)
      // Top-level (a card whose thread has replies carries its own ts as thread_ts).
      .filter(
        (m) =>
          m.text.includes(machineId) && /[A-Z_]{6,}/.test(m.text) && (!m.thread_ts || m.thread_ts === m.ts),
      );

  async function tickAndAlert(machineId: string, code: string) {
    const report = await h.bot.stuck.tick();
    const mine = report.diagnosed.filter((d) => d.machineId === machineId);
    expect(mine.map((d) => d.code)).toEqual([code]);
    await h.bot.echo.tick();
    const alerts = await h.until(() => {
      const a = alertsFor(machineId).filter((m) => m.text.startsWith(code));
      return a.length ? a : undefined;
    }, `the ${code} alert`);
    expect(alerts).toHaveLength(1);
    return { report, alert: alerts[0]!, diagnosis: mine[0]! };
  }

  it('incident 001: a missing tag with auto_destroy → IMAGE_TAG_MISSING, one alert, row failed', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('stub') });
    await waitState(flyId, ['destroyed']);
    await pastThreshold();
    const { alert, diagnosis } = await tickAndAlert(machineId, 'IMAGE_TAG_MISSING');
    expect(alert.text).toContain('registry.fly.io/vyx-app:stub');
    expect(alert.text).toContain('Fix:');
    const blocks = JSON.stringify(alert.blocks);
    expect(blocks).toContain('MANIFEST_UNKNOWN');
    expect(blocks).toContain('IMAGE_TAG_MISSING.md');
    expect(diagnosis.markedFailed).toBe(true);
    expect((await h.s.store.getMachine(machineId)).status).toBe('failed');

    // The next tick finds nothing to say: the row is no longer starting, and dedup holds.
    await h.bot.stuck.tick();
    await h.bot.echo.tick();
    expect(alertsFor(machineId).filter((m) => m.text.startsWith('IMAGE_TAG_MISSING'))).toHaveLength(1);
    // The row's move to failed is said by the card itself, not by a second message.
    expect(
      h.slack.messages(CHANNEL).filter((m) => m.text.includes(machineId) && m.text.includes('*failed*')),
    ).toEqual([]);
  });

  it('SUPABASE_SERVICE_ROLE_KEY instead of SUPABASE_SERVICE_KEY → ENV_MISMATCH (names only), row failed', async () => {
    const { machineId, flyId } = await webUiProvision({
      env: ({ SUPABASE_SERVICE_KEY, ...rest }) => ({
        ...rest,
        SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY!,
      }),
      autoDestroy: false,
    });
    await waitState(flyId, ['stopped', 'failed']);
    await pastThreshold();
    const { alert, diagnosis } = await tickAndAlert(machineId, 'ENV_MISMATCH');
    const blocks = JSON.stringify(alert.blocks);
    expect(blocks).toContain('SUPABASE_SERVICE_ROLE_KEY is set: rename it to SUPABASE_SERVICE_KEY');
    expect(blocks).not.toContain(h.s.twin.serviceKey);
    expect(diagnosis.markedFailed).toBe(true);
    expect((await h.s.store.getMachine(machineId)).status).toBe('failed');
  });

  it('incident 000: no MACHINE_ID and no Fly id on the row → MACHINE_ID_MISMATCH, found by USER_ID, row failed', async () => {
    const { machineId, flyId } = await webUiProvision({
      env: ({ MACHINE_ID, ...rest }) => rest,
      attach: false,
      autoDestroy: false,
    });
    await waitState(flyId, ['stopped', 'failed']);
    await pastThreshold();
    const { alert } = await tickAndAlert(machineId, 'MACHINE_ID_MISMATCH');
    expect(JSON.stringify(alert.blocks)).toContain('(missing)');
    expect((await h.s.store.getMachine(machineId)).status).toBe('failed');
  });

  it('incident 000’s own shape: no Fly id on the row, the machine up with MACHINE_ID=machine_1759437443245 → MACHINE_ID_MISMATCH naming both ids and the key', async () => {
    const { machineId, flyId } = await webUiProvision({
      image: IMAGE('silent'),
      env: (env) => ({ ...env, MACHINE_ID: 'machine_1759437443245' }),
      attach: false,
      autoDestroy: false,
      named: true,
    });
    await waitState(flyId, ['started']);
    await pastThreshold();
    const { alert } = await tickAndAlert(machineId, 'MACHINE_ID_MISMATCH');
    expect(alert.text).toContain(`MACHINE_ID=machine_1759437443245, not ${machineId}`);
    const blocks = JSON.stringify(alert.blocks);
    expect(blocks).toContain(`${flyId} (row has none)`);
    expect(blocks).toContain(`the machine's name (${machineId})`);
    expect(blocks).not.toContain('never created');
    expect(flyState(flyId)).toBe('started');
  });

  it('no machine by any key → NEVER_CREATED (not MACHINE_GONE), row failed so /vyx start works again', async () => {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app) values ($1, $2, 'starting', 'vyx-app')`,
      [machineId, `web-${machineId}`],
    );
    await pastThreshold();
    const { alert, diagnosis } = await tickAndAlert(machineId, 'NEVER_CREATED');
    expect(alert.text).toContain('/vyx start');
    expect(diagnosis.markedFailed).toBe(true);
    expect((await h.s.store.getMachine(machineId)).status).toBe('failed');
  });

  it('incident 000 with the Fly id recorded: the runtime comes up by its Fly id and the warning is posted', async () => {
    const { machineId } = await webUiProvision({ env: ({ MACHINE_ID, ...rest }) => rest });
    await h.until(
      async () => (await h.s.store.getMachine(machineId)).status === 'running',
      'the row running',
    );
    await h.bot.echo.tick();
    const warning = await h.until(
      () => alertsFor(machineId).find((m) => m.text.includes('MACHINE_ID_MISMATCH')),
      'the MACHINE_ID_MISMATCH warning',
    );
    expect(warning.text).toContain('without MACHINE_ID');
  });

  it('a crash at boot → BOOT_CRASH with the exit code', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('crash'), autoDestroy: false });
    await waitState(flyId, ['stopped', 'failed']);
    await pastThreshold();
    const { alert } = await tickAndAlert(machineId, 'BOOT_CRASH');
    expect(alert.text).toContain('exited with code 1');
  });

  it('a kernel kill → OOM_KILLED', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('oom'), autoDestroy: false });
    await waitState(flyId, ['stopped', 'failed']);
    await pastThreshold();
    await tickAndAlert(machineId, 'OOM_KILLED');
  });

  it('a machine destroyed under its row → MACHINE_GONE', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('silent'), autoDestroy: false });
    await waitState(flyId, ['started']);
    await fly.destroy('vyx-app', flyId, { force: true });
    await waitState(flyId, ['destroyed']);
    await pastThreshold();
    await tickAndAlert(machineId, 'MACHINE_GONE');
    expect((await h.s.store.getMachine(machineId)).status).toBe('failed');
  });

  it('a started machine whose runtime never reports → RUNTIME_SILENT (likely: flagged, not failed); it later comes up → resolved', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('silent') });
    await waitState(flyId, ['started']);
    await pastThreshold();
    const { diagnosis } = await tickAndAlert(machineId, 'RUNTIME_SILENT');
    expect(diagnosis.markedFailed).toBe(false);
    expect((await h.s.store.getMachine(machineId)).status).toBe('starting');
    await h.s.store.reportStatus(machineId, 'running');
    await h.bot.echo.tick();
    await h.until(
      () =>
        alertsFor(machineId).length >= 1 &&
        h.slack.messages(CHANNEL).some((m) => m.text.includes(machineId) && m.text.includes('Resolved')),
      'the resolved message',
    );
    // #18.3: resolved in place: the alert card itself, and no second top-level post about it.
    expect(alertsFor(machineId)).toHaveLength(1);
    expect(alertsFor(machineId)[0]!.text).toMatch(/^Resolved: RUNTIME_SILENT on /);
  });

  it('a machine that stopped cleanly with nothing else known → UNKNOWN with the raw evidence, not failed', async () => {
    const { machineId, flyId } = await webUiProvision({ image: IMAGE('clean-exit'), autoDestroy: false });
    await waitState(flyId, ['stopped']);
    await pastThreshold();
    const { alert, diagnosis } = await tickAndAlert(machineId, 'UNKNOWN');
    expect(JSON.stringify(alert.blocks)).toContain('is stopped');
    expect(diagnosis.markedFailed).toBe(false);
  });

  it('Fly itself stuck in created past five minutes → STUCK_TRANSITION; a machine of ours with no row → ORPHAN_MACHINE', async () => {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    const env = buildMachineEnv({
      machineId,
      userId: `u-${machineId}`,
      supabaseUrl: h.s.twin.url,
      supabaseServiceKey: 'k',
    });
    const [stuck] = h.emulator.bulkCreate({ app: 'vyx-app', count: 1, state: 'created', env: () => env });
    const [orphan] = h.emulator.bulkCreate({
      app: 'vyx-app',
      count: 1,
      state: 'started',
      metadata: () => ({ vyx_machine_id: 'vyx-0rphan00' }),
    });
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, fly_machine_id) values ($1, $2, 'starting', 'vyx-app', $3)`,
      [machineId, `u-${machineId}`, stuck!],
    );
    await h.s.twin.backend.query(
      `update cloud_machines set status_changed_at = now() - interval '10 minutes' where machine_id = $1`,
      [machineId],
    );
    // Ten minutes from now, as far as the watcher can tell.
    const later = new StuckWatcher({
      store: h.s.store,
      fly,
      registry: createRegistryClient({ token: h.emulator.token, baseUrlFor: () => h.emulator.baseUrl }),
      logger: (await import('pino')).pino({ level: 'silent' }),
      owner: 'later',
      defaultApp: 'vyx-app',
      stuckAfterS: THRESHOLD_S,
      now: () => new Date(Date.now() + 10 * 60_000),
    });
    const report = await later.tick();
    expect(report.diagnosed.find((d) => d.machineId === machineId)?.code).toBe('STUCK_TRANSITION');
    expect(report.orphans).toBeGreaterThanOrEqual(1);
    await h.bot.echo.tick();
    await h.until(
      () =>
        h.slack
          .messages(CHANNEL)
          .find((m) => m.text.startsWith('ORPHAN_MACHINE') && m.text.includes(orphan!)),
      'the orphan alert',
    );
    await h.until(
      () => alertsFor(machineId).find((m) => m.text.startsWith('STUCK_TRANSITION')),
      'the stuck-transition alert',
    );
  });

  it('no false alarm: a healthy machine is not flagged, nor one with both SUPABASE_SERVICE_KEY and a stray SUPABASE_SERVICE_ROLE_KEY', async () => {
    const healthy = await webUiProvision({});
    const stray = await webUiProvision({ env: (env) => ({ ...env, SUPABASE_SERVICE_ROLE_KEY: 'stray' }) });
    const report = await h.bot.stuck.tick(); // before the threshold: not claimed at all
    expect(report.diagnosed.map((d) => d.machineId)).not.toContain(healthy.machineId);
    for (const m of [healthy, stray]) {
      await h.until(async () => (await h.s.store.getMachine(m.machineId)).status === 'running', 'running');
    }
    await pastThreshold();
    const after = await h.bot.stuck.tick();
    expect(after.diagnosed.map((d) => d.machineId)).not.toEqual(expect.arrayContaining([healthy.machineId]));
    expect(after.diagnosed.map((d) => d.machineId)).not.toEqual(expect.arrayContaining([stray.machineId]));
    const { rows } = await h.s.twin.backend.query(
      `select count(*)::int as n from diagnoses where machine_id = any($1)`,
      [[healthy.machineId, stray.machineId]],
    );
    expect(rows[0]?.n).toBe(0);
  });
});
