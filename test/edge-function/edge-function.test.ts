import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_MACHINE_ENV_NAMES } from '../../src/contract/machine-env-names.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { signJwt } from '../../src/store/supabase-jwt.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { until } from '../../testkit/until.ts';
import { DENO_TEST_TIMEOUT_MS, runDeno, runDenoTest } from './run-deno.ts';

let twin: SupabaseTwin;
let emulator: FlyEmulator;
let store: VyxStore;

beforeAll(async () => {
  twin = await startSupabaseTwin({ dataDir: null });
  emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
  store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
});

afterAll(async () => {
  await emulator?.close();
  await twin?.close();
});

describe('the provision-machine edge function', () => {
  it(
    'type-checks under the pinned Deno with the contract imported from src/',
    async () => {
      const { code, output } = await runDeno('check', [
        'supabase/functions/provision-machine/index.ts',
        'test/edge-function/provision-machine.deno.ts',
        'test/edge-function/web-failure.deno.ts',
      ]);
      expect(output).not.toMatch(/error/i);
      expect(code).toBe(0);
    },
    DENO_TEST_TIMEOUT_MS,
  );

  it(
    'under Deno, against the twins: healthy start, missing tag and misnamed secret refused, no JWT 401',
    async () => {
      const user = () => {
        const id = randomUUID();
        const now = Math.floor(Date.now() / 1000);
        const claims = { sub: id, role: 'authenticated', aud: 'authenticated', iat: now, exp: now + 3600 };
        return { id, jwt: signJwt(claims, twin.jwtSecret) };
      };
      const users = {
        healthy: user(),
        missingTag: user(),
        misnamed: user(),
        unsigned: user(),
        unverifiedRefused: user(),
        unverifiedWarned: user(),
      };
      const setup = {
        env: {
          SUPABASE_URL: twin.url,
          SUPABASE_SERVICE_ROLE_KEY: twin.serviceKey,
          SUPABASE_ANON_KEY: twin.anonKey,
          FLY_API_TOKEN: emulator.token,
          FLY_API_URL: emulator.baseUrl,
          FLY_REGISTRY_URL: emulator.baseUrl,
          FLY_APP_NAME: 'vyx-app',
          DOCKER_IMAGE: 'registry.fly.io/vyx-app:latest',
          MACHINE_SUPABASE_SERVICE_KEY: twin.serviceKey,
          VYX_START_TIMEOUT_S: '60',
        },
        fly: { url: emulator.baseUrl, token: emulator.token, app: 'vyx-app' },
        users,
        forgedJwt: signJwt(
          { sub: users.unsigned.id, role: 'authenticated' },
          randomBytes(32).toString('hex'),
        ),
        nonUserJwt: signJwt({ sub: 'vyx-admin', role: 'authenticated' }, twin.jwtSecret),
      };
      const { code, output } = await runDenoTest('provision-machine.deno.ts', setup);
      expect(output).toMatch(/ok \| 7 passed \| 0 failed/);
      expect(code).toBe(0);

      // The machine's runtime (runtime/, parsing its env with the same contract) accepted what the
      // function sent: it reports `running` on the row the function made.
      const row = await until(
        async () =>
          (await store.getActiveMachine(users.healthy.id))?.status === 'running' &&
          store.getActiveMachine(users.healthy.id),
        'the web-started machine reporting running',
      );
      // Two machines were made (the healthy start and the unverified one let through): no refusal made one.
      const sent = emulator.machines('vyx-app');
      expect(sent).toHaveLength(2);
      const envOf = (m: Record<string, unknown>) => (m.config as { env: Record<string, string> }).env;
      const env = envOf(sent.find((m) => envOf(m).USER_ID === users.healthy.id)!);
      expect(Object.keys(env).sort()).toEqual([...REQUIRED_MACHINE_ENV_NAMES].sort());
      expect(env.MACHINE_ID).toBe(row!.machine_id);
      // The same table `/vyx list` reads.
      const listed = await store.listMachines({ userId: users.healthy.id });
      expect(listed.map((m) => m.machine_id)).toEqual([row!.machine_id]);
    },
    DENO_TEST_TIMEOUT_MS,
  );
});
