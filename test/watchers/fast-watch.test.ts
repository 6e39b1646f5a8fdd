import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { FastWatcher } from '../../src/watchers/fast-watcher.ts';
import { StuckWatcher } from '../../src/watchers/stuck-watcher.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const IMAGE = (tag: string) => `registry.fly.io/vyx-app:${tag}`;
const THRESHOLD_S = 60;

/**
 * Certain failures seen as they happen: with VYX_STUCK_AFTER_S=60 the fast watcher (its own loop,
 * every second here) alerts a machine Fly destroyed after a failed launch long before the
 * threshold; a healthy start is left alone; the stuck watcher (backstop) does not alert again.
 */
describe('the fast watcher', () => {
  let h: BotHarness;
  let fly: ReturnType<typeof createFlyMachinesClient>;

  beforeAll(async () => {
    h = await startBotHarness({
      stuckAfterS: THRESHOLD_S,
      fastWatchMs: 1000,
      emulator: {
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: IMAGE('oom'), command: [process.execPath, fixture('watch/kill-self.ts')] },
          { ref: IMAGE('silent'), command: [process.execPath, fixture('fly/run-until-term.ts')] },
        ],
      },
    });
    fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
    h.bot.fast.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The web UI's way (incident 001): a row, then a Fly machine created behind the bot's back. */
  async function webUiProvision(
    image: string,
    o: { autoDestroy?: boolean; env?: (env: Record<string, string>) => Record<string, string> } = {},
  ) {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    const userId = `web-${machineId}`;
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
      region: 'ams',
      config: {
        image,
        env: o.env ? o.env(base) : base,
        auto_destroy: o.autoDestroy ?? true,
        restart: { policy: 'no' },
      },
    });
    await h.s.twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
      machineId,
      machine.id,
    ]);
    return { machineId, flyId: machine.id };
  }
  const flyState = (id: string) =>
    String(h.emulator.machines('vyx-app').find((m) => m.id === id)?.state ?? '');
  const alertsFor = (machineId: string) =>
    h.slack.messages(CHANNEL).filter((m) => m.text.includes(machineId) && /^[A-Z_]{6,}/.test(m.text));

  it('missing image, VYX_STUCK_AFTER_S=60: IMAGE_TAG_MISSING alerted long before the threshold, row failed; the backstop does not repeat it', async () => {
    // A second replica's fast watcher runs too: claims split the rows, dedup keeps one alert.
    const other = new FastWatcher({
      store: h.s.store,
      fly: h.bot.deps.fly,
      registry: h.bot.deps.registry,
      logger: h.bot.deps.logger,
      owner: 'replica-b',
      defaultApp: 'vyx-app',
      intervalMs: 1000,
      stuckAfterS: THRESHOLD_S,
    });
    other.start();
    try {
      const { machineId, flyId } = await webUiProvision(IMAGE('stub'));
      await h.until(() => flyState(flyId) === 'destroyed', 'Fly destroys the machine');
      // Bounded well under the threshold: the stuck watcher could not have fired by then.
      const alert = await h.until(
        () => alertsFor(machineId).find((m) => m.text.startsWith('IMAGE_TAG_MISSING')),
        'the IMAGE_TAG_MISSING alert',
        { ms: 45_000 },
      );
      const alertedAt = Date.now();
      const row = await h.s.store.getMachine(machineId);
      const ageAtAlertS = (alertedAt - new Date(row.created_at).getTime()) / 1000;
      expect(ageAtAlertS).toBeLessThan(THRESHOLD_S);
      expect(alert.text).toContain(IMAGE('stub'));
      expect(row.status).toBe('failed');

      // The backstop, even if it judges the row again (here: a row put back to starting, and a
      // threshold of 0 so it is claimed at once), records the same diagnosis without a new notice.
      await other.stop();
      await h.s.twin.backend.query(`update cloud_machines set status = 'starting' where machine_id = $1`, [
        machineId,
      ]);
      const backstop = await backstopWatcher().tick();
      const again = backstop.diagnosed.filter((d) => d.machineId === machineId);
      expect(again.map((d) => [d.code, d.notice])).toEqual([['IMAGE_TAG_MISSING', null]]);
      await h.bot.echo.tick();
      expect(alertsFor(machineId)).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  /** The stuck watcher as another replica would run it, with a threshold of 0 (claims at once). */
  const backstopWatcher = () =>
    new StuckWatcher({
      store: h.s.store,
      fly: h.bot.deps.fly,
      registry: h.bot.deps.registry,
      logger: h.bot.deps.logger,
      owner: 'replica-backstop',
      defaultApp: 'vyx-app',
      stuckAfterS: 0,
    });

  it('a failure that needs time (a row with no machine yet: NEVER_CREATED) is left to the backstop', async () => {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app) values ($1, $2, 'starting', 'vyx-app')`,
      [machineId, `web-${machineId}`],
    );
    const seen = h.bot.fast.ticks;
    await h.until(() => h.bot.fast.ticks >= seen + 2, 'two more fast ticks');
    expect((await h.s.store.getMachine(machineId)).status).toBe('starting');
    const report = await backstopWatcher().tick();
    expect(report.diagnosed.filter((d) => d.machineId === machineId).map((d) => d.code)).toEqual([
      'NEVER_CREATED',
    ]);
  });

  /** Alerted with `code` while the row is far younger than the threshold; the row failed. */
  async function alertedFast(machineId: string, code: string) {
    const alert = await h.until(
      () => alertsFor(machineId).find((m) => m.text.startsWith(code)),
      `the ${code} alert`,
      { ms: 45_000 },
    );
    const alertedAt = Date.now();
    const row = await h.s.store.getMachine(machineId);
    expect((alertedAt - new Date(row.created_at).getTime()) / 1000).toBeLessThan(THRESHOLD_S);
    expect(row.status).toBe('failed');
    return alert;
  }

  it('a config exit 78 (SUPABASE_SERVICE_ROLE_KEY instead of SUPABASE_SERVICE_KEY) → ENV_MISMATCH within seconds', async () => {
    const { machineId } = await webUiProvision(IMAGE('latest'), {
      autoDestroy: false,
      env: ({ SUPABASE_SERVICE_KEY, ...rest }) => ({
        ...rest,
        SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY!,
      }),
    });
    const alert = await alertedFast(machineId, 'ENV_MISMATCH');
    expect(JSON.stringify(alert.blocks)).not.toContain(h.s.twin.serviceKey);
  });

  it('a kernel kill → OOM_KILLED within seconds', async () => {
    const { machineId } = await webUiProvision(IMAGE('oom'), { autoDestroy: false });
    const alert = await alertedFast(machineId, 'OOM_KILLED');
    // The card it posts first carries the machine's last lines, as the backstop's would.
    const card = JSON.stringify(alert.blocks);
    expect(card).toContain('last log lines');
    expect(card).toContain('allocating');
  });

  it('a machine still up (runtime silent: a likely diagnosis) is left to the backstop, and costs no registry check', async () => {
    const { machineId, flyId } = await webUiProvision(IMAGE('silent'), { autoDestroy: false });
    await h.until(() => flyState(flyId) === 'started', 'Fly starts the machine');
    const report = await h.until(async () => {
      const r = await h.bot.fast.runTick();
      return r && r.claimed > 0 ? r : undefined;
    }, 'a fast tick that claims the row');
    expect(report.apps).toBe(1);
    expect(report.registryChecks).toBe(0);
    expect(report.recorded).toEqual([]);
    expect((await h.s.store.getMachine(machineId)).status).toBe('starting');
    await h.bot.echo.tick();
    expect(alertsFor(machineId)).toEqual([]);
    await fly.destroy('vyx-app', flyId, { force: true });
  });

  it('a healthy start gets no alert', async () => {
    const { machineId } = await webUiProvision(IMAGE('latest'));
    await h.until(
      async () => (await h.s.store.getMachine(machineId)).status === 'running',
      'the row running',
    );
    // Fast ticks that saw the row starting and after it ran: nothing certain, nothing said.
    const seen = h.bot.fast.ticks;
    await h.until(() => h.bot.fast.ticks >= seen + 2, 'two more fast ticks');
    await h.bot.echo.tick();
    expect(alertsFor(machineId)).toEqual([]);
    expect((await h.s.store.getMachine(machineId)).status).toBe('running');
  });
});
