import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_MACHINE_ENV_NAMES } from '../../src/contract/machine-env.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { signJwt } from '../../src/store/supabase-jwt.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { until } from '../../testkit/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// npm's `deno` ships the binary in its platform package; its bin shim is the fallback elsewhere.
const PLATFORM_DENO = path.join(ROOT, 'node_modules/@deno/linux-x64-glibc/deno');
const DENO = existsSync(PLATFORM_DENO) ? PLATFORM_DENO : path.join(ROOT, 'node_modules/.bin/deno');
const CONFIG = path.join(ROOT, 'supabase/functions/provision-machine/deno.json');

/**
 * Runs the pinned Deno (npm `deno`) offline: its cache in a temporary directory, no update check,
 * npm packages (zod) from this repository's node_modules (`--node-modules-dir=manual`: the flag,
 * not deno.json, because Supabase's bundler has no node_modules) and a dead npm registry.
 */
function deno(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(DENO, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: denoDir,
        DENO_DIR: denoDir,
        DENO_NO_UPDATE_CHECK: '1',
        NO_COLOR: '1',
        // Any attempt to download an npm package fails here: zod must come from node_modules.
        NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

let denoDir: string;
let twin: SupabaseTwin;
let emulator: FlyEmulator;
let store: VyxStore;

beforeAll(async () => {
  denoDir = mkdtempSync(path.join(tmpdir(), 'vyx-deno-'));
  twin = await startSupabaseTwin({ dataDir: null });
  emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
  store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
});

afterAll(async () => {
  await emulator?.close();
  await twin?.close();
  if (denoDir) rmSync(denoDir, { recursive: true, force: true });
});

describe('the provision-machine edge function', () => {
  it('type-checks under the pinned Deno with the contract imported from src/', async () => {
    const { code, output } = await deno([
      'check',
      '--node-modules-dir=manual',
      '--config',
      CONFIG,
      'supabase/functions/provision-machine/index.ts',
      'test/edge-function/provision-machine.deno.ts',
    ]);
    expect(output).not.toMatch(/error/i);
    expect(code).toBe(0);
  });

  it('under Deno, against the twins: healthy start, missing tag and misnamed secret refused, no JWT 401', async () => {
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
      forgedJwt: signJwt({ sub: users.unsigned.id, role: 'authenticated' }, randomBytes(32).toString('hex')),
    };
    const { code, output } = await deno(
      [
        'test',
        '--node-modules-dir=manual',
        '--config',
        CONFIG,
        '--no-prompt',
        '--allow-net=127.0.0.1',
        '--allow-env=VYX_EDGE_TEST',
        `--allow-read=${ROOT}`,
        'test/edge-function/provision-machine.deno.ts',
      ],
      { VYX_EDGE_TEST: JSON.stringify(setup) },
    );
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
  });
});
