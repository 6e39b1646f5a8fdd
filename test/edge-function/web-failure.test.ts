import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackMessage } from '../../src/local/slack-twin/slack-workspace.ts';
import { signJwt } from '../../src/store/supabase-jwt.ts';
import { type BotHarness, CHANNEL, startBotHarness } from '../helpers/bot-harness.ts';
import { DENO_TEST_TIMEOUT_MS, runDenoTest } from './run-deno.ts';

const THRESHOLD_S = 3;

// The edge function beside a running bot: a machine the web UI started and that failed is an
// ordinary row for vyxbot — the stuck watcher diagnoses it and the alert channel gets the card.
describe('a failed start from the web, seen by the bot', () => {
  let h: BotHarness;
  beforeAll(async () => {
    h = await startBotHarness({ stuckAfterS: THRESHOLD_S });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(
    'reaches the alert channel with its diagnosis (IMAGE_TAG_MISSING)',
    async () => {
      const id = randomUUID();
      const now = Math.floor(Date.now() / 1000);
      const jwt = signJwt({ sub: id, role: 'authenticated', iat: now, exp: now + 3600 }, h.s.twin.jwtSecret);
      const setup = {
        env: {
          SUPABASE_URL: h.s.twin.url,
          SUPABASE_SERVICE_ROLE_KEY: h.s.twin.serviceKey,
          FLY_API_TOKEN: h.emulator.token,
          FLY_API_URL: h.emulator.baseUrl,
          FLY_REGISTRY_URL: h.emulator.baseUrl,
          FLY_APP_NAME: 'vyx-app',
          MACHINE_SUPABASE_SERVICE_KEY: h.s.twin.serviceKey,
        },
        fly: { url: h.emulator.baseUrl, token: h.emulator.token, app: 'vyx-app' },
        users: { web: { id, jwt } },
        forgedJwt: '',
        nonUserJwt: '',
      };
      const { code, output } = await runDenoTest('web-failure.deno.ts', setup);
      expect(output).toMatch(/ok \| 1 passed \| 0 failed/);
      expect(code).toBe(0);

      const [row] = await h.s.store.listMachines({ userId: id });
      expect(row).toMatchObject({ status: 'starting', slack_channel: null });
      await h.until(async () => {
        const { rows } = await h.s.twin.backend.query(
          'select now() - status_changed_at > make_interval(secs => $2) as past from cloud_machines where machine_id = $1',
          [row!.machine_id, THRESHOLD_S],
        );
        return rows[0]?.past === true;
      }, 'the row past the threshold');
      const report = await h.bot.stuck.tick();
      expect(report.diagnosed.filter((d) => d.machineId === row!.machine_id).map((d) => d.code)).toEqual([
        'IMAGE_TAG_MISSING',
      ]);
      await h.bot.echo.tick();
      await h.until(
        () =>
          h.slack
            .messages(CHANNEL)
            .find(
              (m: SlackMessage) => m.text.startsWith('IMAGE_TAG_MISSING') && m.text.includes(row!.machine_id),
            ),
        'the IMAGE_TAG_MISSING alert in the alert channel',
      );
    },
    DENO_TEST_TIMEOUT_MS,
  );
});
