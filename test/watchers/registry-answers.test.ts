import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import type { SlackMessage } from '../../src/local/slack-twin/slack-workspace.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';

/**
 * The registry's answer kept whole, end to end on the Fly emulator: machines made behind the bot's
 * back (as the web UI did) whose image cannot be pulled; the stuck watcher ticks; the alert reaches
 * Slack. The registry's 401/403/503 come from the emulator's registry (fault rules on its routes).
 */
describe('the watcher and /vyx start keep the registry’s answer whole', () => {
  let h: BotHarness;
  let fly: ReturnType<typeof createFlyMachinesClient>;

  beforeAll(async () => {
    h = await startBotHarness({ stuckAfterS: 60 });
    fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
  });
  afterAll(async () => {
    await h?.close();
  });
  afterEach(() => h.emulator.faults.clear());

  /** A row and a Fly machine that never boots (its image cannot be pulled), already past the threshold. */
  async function doomed(image: string) {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    const userId = `web-${machineId}`;
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', 'vyx-app', $3)`,
      [machineId, userId, image],
    );
    const env = buildMachineEnv({ machineId, userId, supabaseUrl: h.s.twin.url, supabaseServiceKey: 'k' });
    const m = await fly.create('vyx-app', {
      region: 'ams',
      config: { image, env, auto_destroy: false, restart: { policy: 'no' } },
    });
    await h.s.twin.backend.query(
      `update cloud_machines set fly_machine_id = $2, status_changed_at = now() - interval '5 minutes' where machine_id = $1`,
      [machineId, m.id],
    );
    await h.until(
      () => h.emulator.machines('vyx-app').find((x) => x.id === m.id)?.state === 'failed',
      'the launch to fail',
    );
    return machineId;
  }

  const alertFor = (machineId: string, code: string): Promise<SlackMessage> =>
    h.until(
      () => h.slack.messages(CHANNEL).find((m) => m.text.startsWith(code) && m.text.includes(machineId)),
      `the ${code} alert`,
    );

  async function tick(machineId: string) {
    const report = await h.bot.stuck.tick();
    await h.bot.echo.tick();
    return report.diagnosed.find((d) => d.machineId === machineId);
  }

  it('a typo in the repository (NAME_UNKNOWN) → IMAGE_REPOSITORY_MISSING with its own fix and Fly’s event text', async () => {
    const image = 'registry.fly.io/vyx-ap:latest';
    const machineId = await doomed(image);
    expect((await tick(machineId))?.code).toBe('IMAGE_REPOSITORY_MISSING');
    const alert = await alertFor(machineId, 'IMAGE_REPOSITORY_MISSING');
    const blocks = JSON.stringify(alert.blocks);
    expect(blocks).toContain('404: NAME_UNKNOWN');
    expect(blocks).toContain(
      `launch/failed: failed to pull image ${image}: name unknown: app repository not found`,
    );
    expect(alert.text).toContain('Fix the repository name');
    expect(alert.text).not.toContain('Push the image with that tag');
  });

  it.each([
    [401, 'UNAUTHORIZED', 'set FLY_API_TOKEN'],
    [403, 'DENIED', 'may not read this repository'],
    [503, 'UNAVAILABLE', 'registry is failing'],
  ])(
    'registry %i → IMAGE_UNVERIFIED (a guess, row not failed), never a certain other code',
    async (status, code, fix) => {
      const image = 'registry.fly.io/vyx-app:stub';
      const machineId = await doomed(image);
      h.emulator.faults.setRules([
        { route: '/v2/:repo/manifests/:reference', rate: 1, kinds: ['status'], status, phase: 'before' },
      ]);
      const found = await tick(machineId);
      expect(found?.code).toBe('IMAGE_UNVERIFIED');
      expect(found?.markedFailed).toBe(false);
      const alert = await alertFor(machineId, 'IMAGE_UNVERIFIED');
      const blocks = JSON.stringify(alert.blocks);
      expect(blocks).toContain(`${status} ${code}`);
      expect(blocks).toContain(`failed to pull image ${image}: manifest unknown`);
      expect(alert.text).toContain(fix);
      expect((await h.s.store.getMachine(machineId)).status).toBe('starting');
    },
  );

  it('a registry that cannot be reached (connection dropped) → IMAGE_UNVERIFIED saying so', async () => {
    const machineId = await doomed('registry.fly.io/vyx-app:stub2');
    h.emulator.faults.setRules([
      { route: '/v2/:repo/manifests/:reference', rate: 1, kinds: ['reset'], phase: 'before' },
    ]);
    expect((await tick(machineId))?.code).toBe('IMAGE_UNVERIFIED');
    const alert = await alertFor(machineId, 'IMAGE_UNVERIFIED');
    expect(JSON.stringify(alert.blocks)).toContain('no answer: could not reach the registry');
  });

  it('/vyx start when the registry answers 401: the person is told in the answer and the thread (default warn)', async () => {
    h.emulator.faults.setRules([
      { route: '/v2/:repo/manifests/:reference', rate: 1, kinds: ['status'], status: 401, phase: 'before' },
    ]);
    const n = h.ephemerals().length;
    await h.command('start');
    const answer = await h.until(
      () =>
        h
          .ephemerals()
          .slice(n)
          .find((t) => t.includes('Starting machine')),
      'the starting answer',
    );
    expect(answer).toContain(
      'I could not check the image registry.fly.io/vyx-app:latest (the registry answered 401 UNAUTHORIZED); starting it anyway.',
    );
    const id = /vyx-[0-9a-f]{8}/.exec(answer)![0];
    const row = await h.until(async () => {
      const r = await h.s.store.getMachine(id);
      return r.slack_thread_ts ? r : undefined;
    }, 'the parent message');
    await h.until(
      () =>
        h.slack
          .thread(CHANNEL, row.slack_thread_ts!)
          .some((m) =>
            m.text.startsWith(':warning: I could not check the image registry.fly.io/vyx-app:latest'),
          ),
      'the warning in the thread',
    );
    // …and the machine was made all the same.
    await h.until(async () => (await h.s.store.getMachine(id)).fly_machine_id, 'the Fly machine');
  });
});

describe('/vyx start past an unverified image that is in fact missing', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the failed launch is IMAGE_UNVERIFIED in the thread, with the 401 and Fly’s own words — not UNKNOWN without them', async () => {
    h.emulator.faults.setRules([
      { route: '/v2/:repo/manifests/:reference', rate: 1, kinds: ['status'], status: 401, phase: 'before' },
    ]);
    await h.command('start --image stub');
    const row = await h.until(async () => {
      const [r] = await h.s.store.listMachines({ userId: 'vyx-admin' });
      return r?.status === 'failed' && r.slack_thread_ts ? r : undefined;
    }, 'the provision to fail');
    expect(row.status_detail).toBe('IMAGE_UNVERIFIED');
    const card = await h.until(
      () => h.slack.thread(CHANNEL, row.slack_thread_ts!).find((m) => m.text.startsWith('IMAGE_UNVERIFIED')),
      'the diagnosis in the thread',
    );
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('401 UNAUTHORIZED');
    expect(blocks).toContain('failed to pull image registry.fly.io/vyx-app:stub: manifest unknown');
    expect(card.text).toContain('set FLY_API_TOKEN');
  });
});

describe('VYX_PREFLIGHT_UNVERIFIED=refuse', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({ preflightUnverified: 'refuse' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('an unverifiable registry answer refuses /vyx start: a private IMAGE_UNVERIFIED card, no row, no Fly request', async () => {
    h.emulator.faults.setRules([
      { route: '/v2/:repo/manifests/:reference', rate: 1, kinds: ['status'], status: 403, phase: 'before' },
    ]);
    const creates = () => h.emulator.counters.get('POST /v1/apps/:app/machines');
    const before = creates();
    await h.command('start');
    const answer = await h.until(
      () => h.ephemerals().find((t) => t.startsWith('IMAGE_UNVERIFIED')),
      'the refusal',
    );
    expect(answer).toContain('403 DENIED');
    expect(answer).toContain('VYX_PREFLIGHT_UNVERIFIED=refuse');
    const { rows } = await h.s.twin.backend.query(`select count(*)::int as n from cloud_machines`);
    expect(rows[0]?.n).toBe(0);
    expect(creates()).toBe(before);
  });
});
