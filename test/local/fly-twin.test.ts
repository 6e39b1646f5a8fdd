/** `npm run twin:fly`: the emulator alone, driven over HTTP as a person would with curl. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { until } from '../../testkit/until.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('fly twin main', () => {
  it('prints its URL, token and catalogue, serves the API, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'src/local/fly-twin-main.ts')], {
      env: {
        PATH: process.env.PATH ?? '',
        FLY_LOCAL_PORT: '0',
        FLY_APP: 'vyx-app',
        FLY_API_TOKEN: 'fm2_twin-test',
        FLY_SECRET_NAMES: 'SUPABASE_SERVICE_KEY',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const baseUrl = await until(
        () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
        `the twin to print its URL (output so far: ${output})`,
      );
      expect(output).toContain('registry.fly.io/vyx-app:latest');
      expect(output).toContain('runtime/main.ts');
      expect(output).not.toContain('fm2_twin-test');

      const headers = { authorization: 'Bearer fm2_twin-test', 'content-type': 'application/json' };
      const list = await fetch(`${baseUrl}/v1/apps/vyx-app/machines`, { headers });
      expect(list.status).toBe(200);
      expect(await list.json()).toEqual([]);
      const secrets = await fetch(`${baseUrl}/v1/apps/vyx-app/secrets`, { headers });
      expect(
        ((await secrets.json()) as { secrets: Array<{ name: string }> }).secrets.map((s) => s.name),
      ).toEqual(['SUPABASE_SERVICE_KEY']);
      const created = await fetch(`${baseUrl}/v1/apps/vyx-app/machines`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ config: { image: 'registry.fly.io/vyx-app:stub', auto_destroy: true } }),
      });
      expect(created.status).toBe(200);
      const unauthorized = await fetch(`${baseUrl}/v1/apps/vyx-app/machines`);
      expect(unauthorized.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
