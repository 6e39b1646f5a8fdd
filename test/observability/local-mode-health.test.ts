import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startBot } from '../../src/app/run-bot.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase } from '../../testkit/test-postgres.ts';
import { logSink } from '../helpers/log-sink.ts';
import { parsePrometheus } from '../helpers/prometheus.ts';

// Without Slack's HTTP receiver (local shell here; Socket Mode takes the same path) the health
// routes get a server of their own on PORT.
describe('health and metrics in local mode', () => {
  it('serves /healthz, /readyz and /metrics on their own server, and 404 elsewhere', async () => {
    const db = await createTestDatabase('vyx_local_health');
    const dataDir = mkdtempSync(join(tmpdir(), 'vyx-local-health-'));
    const input = new PassThrough();
    const output = new PassThrough();
    output.resume();
    const sink = logSink();
    const running = await startBot(
      loadConfig({
        VYX_DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        SUPABASE_LOCAL_PORT: '0',
        FLY_LOCAL_PORT: '0',
        PORT: '0',
        HOST: '127.0.0.1',
      }),
      { logger: createLogger({ destination: sink.stream }), io: { input, output } },
    );
    try {
      expect(running.config.slack.mode).toBe('twin');
      const base = running.httpUrl!;
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ ready: true, checks: { database: 'ok', fly: 'ok', slack: 'ok' } });
      const metrics = await fetch(`${base}/metrics`);
      expect(parsePrometheus(await metrics.text()).types.get('vyxbot_commands_total')).toBe('counter');
      expect((await fetch(`${base}/slack/events`, { method: 'POST' })).status).toBe(404);
    } finally {
      input.end();
      const report = await running.shutdown('test over');
      expect(report.drained).toBe(true);
      await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    await expect(fetch(`${running.httpUrl}/healthz`)).rejects.toThrow();
  });
});
