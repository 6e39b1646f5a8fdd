import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMachineEnv } from '../../src/contract/build-machine-env.ts';
import { crashLooping, restartsOf } from '../../src/diagnose/restart-history.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';

/**
 * Issue 14.4: a machine with Fly's default restart policy whose workload is killed after `running`
 * flaps running/failed on the emulator (real runtime, real restarts). The channel gets one story
 * message updated in place and one diagnosis folded into it — not a post per transition.
 */
describe('a flapping machine is one story', () => {
  let h: BotHarness;
  let fly: ReturnType<typeof createFlyMachinesClient>;
  beforeAll(async () => {
    h = await startBotHarness({ stuckAfterS: 60 });
    fly = createFlyMachinesClient({ baseUrl: h.emulator.baseUrl, token: h.emulator.token });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('restarts under the default policy → at most 2 messages, one OOM_KILLED diagnosis with the restart count', async () => {
    const machineId = `vyx-${randomBytes(4).toString('hex')}`;
    const userId = `web-${machineId}`;
    const image = 'registry.fly.io/vyx-app:latest';
    // The web UI's way: a row, then a machine with no restart policy (Fly's default, on-failure).
    await h.s.twin.backend.query(
      `insert into cloud_machines (machine_id, user_id, status, fly_app, image) values ($1, $2, 'starting', 'vyx-app', $3)`,
      [machineId, userId, image],
    );
    const env = {
      ...buildMachineEnv({
        machineId,
        userId,
        supabaseUrl: h.s.twin.url,
        supabaseServiceKey: h.s.twin.serviceKey,
      }),
      // The workload is killed right after the runtime reported running (what an OOM kill looks like).
      VYX_WORKLOAD_CMD: 'sleep 0.2; kill -KILL $$',
    };
    const created = await fly.create('vyx-app', { region: 'ams', config: { image, env } });
    expect(created.config?.restart?.policy).toBeUndefined();
    await h.s.twin.backend.query(`update cloud_machines set fly_machine_id = $2 where machine_id = $1`, [
      machineId,
      created.id,
    ]);

    // Once Fly has restarted it twice it is a crash loop: the watcher's tick diagnoses it.
    await h.until(
      async () => crashLooping(await fly.get('vyx-app', created.id), new Date()),
      'a crash loop',
      60_000,
    );
    const report = await h.bot.stuck.tick();
    const diagnosed = report.diagnosed.filter((d) => d.machineId === machineId);
    expect(diagnosed.map((d) => d.code)).toEqual(['OOM_KILLED']);
    expect(diagnosed[0]!.markedFailed).toBe(false);

    // Fly gives up after max_retries (10): the flapping is over; every event reaches Slack.
    await h.until(
      async () => (await fly.get('vyx-app', created.id)).state === 'stopped',
      'Fly to give up',
      90_000,
    );
    const final = await fly.get('vyx-app', created.id);
    const { count } = restartsOf(final);
    expect(count).toBe(10);
    await h.until(async () => {
      const { rows } = await h.s.twin.backend.query(
        `select count(*)::int as n from machine_events where machine_id = $1 and delivered_at is null`,
        [machineId],
      );
      return rows[0]?.n === 0 && (await h.s.store.getMachine(machineId)).status === 'failed';
    }, 'every event delivered');
    // A second tick finds the same loop: no second diagnosis.
    await h.bot.stuck.tick();
    await h.bot.echo.tick();

    const mine = h.slack.messages(CHANNEL).filter((m) => m.text.includes(machineId));
    expect(mine.length).toBeLessThanOrEqual(2);
    const story = mine.find((m) => m.text.includes('restarted'))!;
    expect(story.text).toMatch(
      new RegExp(
        `\`${machineId}\` restarted (9|10)× in \\d+ s, last exit 137, SIGKILL — now :red_circle: \\*failed\\*`,
      ),
    );
    expect(story.text).not.toContain('Resolved');
    expect(story.text).toContain('OOM_KILLED');
    const blocks = JSON.stringify(story.blocks);
    expect(blocks).toMatch(/restarted \d+× in \d+ s \(restart policy on-failure/);
    expect(blocks).toContain('exit 137 (SIGKILL, not requested)');
    expect(blocks).toContain('256 MB');
    // What the machine printed around the kill (the runtime's own line), from Fly's logs endpoint.
    expect(blocks).toContain('workload was killed by SIGKILL');
    const { rows } = await h.s.twin.backend.query(`select code from diagnoses where machine_id = $1`, [
      machineId,
    ]);
    expect(rows).toEqual([{ code: 'OOM_KILLED' }]);
  }, 150_000);
});
