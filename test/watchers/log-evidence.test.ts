import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { defaultImageCatalogueEntries } from '../../src/local/fly-emulator/image-catalogue.ts';
import { ADMIN, type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';
import { secret } from '../helpers/secrets.ts';

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;
const IMAGE = (tag: string) => `registry.fly.io/vyx-app:${tag}`;
const THRESHOLD_S = 2;

/**
 * A crashing machine's card carries its last log lines, read from the logs endpoint of the Fly
 * emulator (the machine's real stdout/stderr), with every seeded secret value scrubbed; when the
 * logs endpoint fails the card says so and the diagnosis stands.
 */
describe('log lines on diagnosis cards', () => {
  let h: BotHarness;
  let fly: ReturnType<typeof createFlyMachinesClient>;
  const dbPassword = secret('db-password');

  beforeAll(async () => {
    h = await startBotHarness({
      stuckAfterS: THRESHOLD_S,
      emulator: {
        apps: { 'vyx-app': { secrets: { DB_PASSWORD: dbPassword } } },
        catalogue: [
          ...defaultImageCatalogueEntries('vyx-app'),
          { ref: IMAGE('leaky-crash'), command: [process.execPath, fixture('fly/crash-with-secrets.ts')] },
        ],
      },
    });
    fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function crashingMachine() {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', 'vyx-app', $3)`,
      [machineId, `web-${machineId}`, IMAGE('leaky-crash')],
    );
    const machine = await fly.create('vyx-app', {
      region: 'ams',
      config: {
        image: IMAGE('leaky-crash'),
        env: buildMachineEnv({
          machineId,
          userId: `web-${machineId}`,
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
    await h.until(
      () =>
        h.emulator.machineLogs(machine.id).some((l) => l.includes('fatal:')) &&
        ['stopped', 'failed'].includes(
          String(h.emulator.machines('vyx-app').find((m) => m.id === machine.id)?.state),
        ),
      'the machine crashed',
    );
    return { machineId, flyId: machine.id };
  }

  async function alertFor(machineId: string) {
    // Ticks until the row is past the threshold and diagnosed (waiting on state, not on a sleep).
    const report = await h.until(async () => {
      const r = await h.bot.stuck.tick();
      return r.diagnosed.some((d) => d.machineId === machineId) ? r : undefined;
    }, `the diagnosis of ${machineId}`);
    const mine = report.diagnosed.filter((d) => d.machineId === machineId);
    expect(mine.map((d) => d.code)).toEqual(['BOOT_CRASH']);
    await h.bot.echo.tick();
    return {
      report,
      alert: await h.until(
        () =>
          h.slack
            .messages(CHANNEL)
            .find((m) => m.text.startsWith('BOOT_CRASH') && m.text.includes(machineId)),
        'the BOOT_CRASH alert',
      ),
    };
  }

  it('a crashing machine: its last lines on the card, no seeded secret value anywhere', async () => {
    const { machineId, flyId } = await crashingMachine();
    // The secrets really are in the machine's output: the scrubbing below has something to do.
    const raw = h.emulator.machineLogs(flyId).join('\n');
    expect(raw).toContain(dbPassword);
    expect(raw).toContain(h.s.twin.serviceKey);

    const { alert, report } = await alertFor(machineId);
    expect(report.logRequests).toBe(1);
    const card = JSON.stringify(alert.blocks);
    expect(card).toContain('last log lines');
    expect(card).toContain(`[Main] Configuration: Machine ID: ${machineId}`);
    expect(card).toContain('fatal: could not connect to the database');
    expect(card).toContain('[redacted]');
    // More lines, privately: the card offers the Logs button.
    expect(card).toContain('vyx_logs');
    // A log line cannot ping the channel, link out or close the code block.
    expect(card).not.toContain('<!channel>');
    expect(card).not.toContain('<https://evil.example');
    expect(card).toContain('&lt;!channel&gt;');
    expect(card.includes(dbPassword), 'the app secret DB_PASSWORD').toBe(false);
    expect(card.includes(h.s.twin.serviceKey), 'the service key').toBe(false);
    const stored = JSON.stringify((await h.s.twin.backend.query(`select evidence from diagnoses`)).rows);
    expect(stored.includes(dbPassword) || stored.includes(h.s.twin.serviceKey)).toBe(false);
  });

  it('the logs endpoint failing: the card says so and the diagnosis stands', async () => {
    const { machineId } = await crashingMachine();
    h.emulator.faults.addRule({
      route: 'GET /api/v1/apps/:app/logs',
      rate: 1,
      kinds: ['unavailable'],
      phase: 'before',
    });
    try {
      const { alert } = await alertFor(machineId);
      const card = JSON.stringify(alert.blocks);
      expect(card).toContain('exited with code 1');
      expect(card).toMatch(/last log lines\*: unavailable: FLY_LOGS_UNAVAILABLE[^"]*HTTP 503/);
    } finally {
      h.emulator.faults.clear();
    }
  });

  it('/vyx diagnose on the crashed machine: the same lines, privately, scrubbed, with the Logs button', async () => {
    const { machineId } = await crashingMachine();
    const before = h.slack.workspace.ephemerals().length;
    await h.command(`diagnose ${machineId}`, ADMIN);
    const answer = await h.until(
      () =>
        h.slack.workspace
          .ephemerals()
          .slice(before)
          .find((e) => e.user === ADMIN),
      'the diagnose answer',
    );
    const card = JSON.stringify(answer.blocks);
    expect(answer.text).toMatch(/^BOOT_CRASH/);
    expect(card).toContain('fatal: could not connect to the database');
    expect(card).toContain('vyx_logs');
    expect(card.includes(dbPassword) || card.includes(h.s.twin.serviceKey)).toBe(false);
  });
});
