import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { type SlackApiServer, startSlackApiServer } from '../../src/local/slack-twin/slack-api-server.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { secret } from '../helpers/secrets.ts';
import { type MainProcess, plainLines, runMain, STACK } from './run-main.ts';

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A port some other process holds. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as { port: number }).port, server };
}

/** What a person sees on stderr: exactly one line, and no trace of a crash anywhere. */
function expectOneLine(p: MainProcess): string {
  const lines = plainLines(p.stderr());
  expect(lines, p.stderr()).toHaveLength(1);
  expect(p.stderr() + p.stdout()).not.toMatch(STACK);
  return lines[0]!;
}

describe('start-up: production mode and credentials', () => {
  let db: TestDatabase;
  let supabase: SupabaseTwin;
  let fly: FlyEmulator;
  let slack: SlackApiServer;
  let dataDir: string;
  const serviceKey = secret('service-key');
  const appToken = `xapp-${secret('app')}`;
  const running: MainProcess[] = [];
  /** Production, every credential set, each service a server given by URL. */
  let production: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase('vyx_startup');
    supabase = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url, serviceKey });
    fly = await createFlyEmulator({ port: 0, apps: { 'vyx-app': {} } });
    slack = await startSlackApiServer({ transcriptFile: false, botToken: `xoxb-${secret('bot')}`, appToken });
    dataDir = mkdtempSync(join(tmpdir(), 'vyx-startup-'));
    production = {
      VYX_MODE: 'production',
      SUPABASE_URL: supabase.url,
      SUPABASE_SERVICE_KEY: serviceKey,
      FLY_API_URL: fly.baseUrl,
      FLY_API_TOKEN: fly.token,
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_APP_TOKEN: appToken,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      VYX_DATA_DIR: dataDir,
      VYX_STUCK_SCHEDULE: '0 0 1 1 *',
      LOG_FORMAT: 'json',
    };
  }, 60_000);
  afterAll(async () => {
    for (const p of running) p.kill();
    await slack?.close();
    await fly?.close();
    await supabase?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const start = (env: Record<string, string>) => {
    const p = runMain(env);
    running.push(p);
    return p;
  };

  it('VYX_MODE=production with nothing else: exit 78 within 5 s, one line naming every missing variable, no twin', async () => {
    const p = start({ VYX_MODE: 'production', VYX_DATA_DIR: dataDir });
    const { code, ms } = await p.exited;
    expect(code).toBe(78);
    expect(ms).toBeLessThan(5_000);
    const line = expectOneLine(p);
    for (const name of [
      'SUPABASE_URL',
      'SUPABASE_SERVICE_KEY',
      'SLACK_BOT_TOKEN',
      'FLY_API_TOKEN',
      'SLACK_APP_TOKEN',
      'SLACK_SIGNING_SECRET',
    ]) {
      expect(line).toContain(name);
    }
    expect(p.stdout()).not.toMatch(/twin|emulator/);
  });

  it('a local configuration error: exit 78 with one line; the thread prepared for the database touched nothing', async () => {
    const never = join(dataDir, 'never-made');
    const p = start({ VYX_DATA_DIR: never, SLACK_BOT_TOKEN: `xapp-${secret('swapped')}` });
    expect((await p.exited).code).toBe(78);
    expect(expectOneLine(p)).toMatch(
      /^CONFIG_INVALID: .*SLACK_BOT_TOKEN should be a bot token starting xoxb-/,
    );
    expect(existsSync(never)).toBe(false);
  });

  it('production with only FLY_API_TOKEN missing: exit 78 naming it, never the Fly emulator', async () => {
    const { FLY_API_TOKEN: _, ...env } = production;
    const p = start(env);
    expect((await p.exited).code).toBe(78);
    const line = expectOneLine(p);
    expect(line).toMatch(/not set: FLY_API_TOKEN —/);
    expect(p.stdout()).not.toMatch(/emulator/);
  });

  it('swapped Slack tokens: exit 78 naming the variable, before Slack is asked', async () => {
    const p = start({ ...production, SLACK_APP_TOKEN: slack.botToken });
    expect((await p.exited).code).toBe(78);
    expect(expectOneLine(p)).toMatch(/SLACK_APP_TOKEN should be an app-level token starting xapp-/);
    expect(slack.transcript().filter((e) => e.method === 'auth.test')).toHaveLength(0);
    expect(p.stderr()).not.toContain(slack.botToken);
  });

  it('a bot token Slack answers invalid_auth for: exit 78 naming SLACK_BOT_TOKEN and the error (Socket Mode and HTTP)', async () => {
    for (const mode of [{}, { SLACK_APP_TOKEN: '', SLACK_SIGNING_SECRET: secret('signing') }] as Record<
      string,
      string
    >[]) {
      const wrong = `xoxb-${secret('wrong')}`;
      const p = start({ ...production, ...mode, SLACK_BOT_TOKEN: wrong });
      const { code, ms } = await p.exited;
      expect(code).toBe(78);
      expect(ms).toBeLessThan(10_000);
      const line = expectOneLine(p);
      expect(line).toMatch(
        /^SLACK_CREDENTIALS_INVALID: SLACK_BOT_TOKEN was refused by Slack: auth.test answered invalid_auth/,
      );
      expect(line).not.toContain(wrong);
    }
  });

  it('an app token Slack refuses: exit 78 naming SLACK_APP_TOKEN', async () => {
    const p = start({ ...production, SLACK_APP_TOKEN: `xapp-${secret('wrong')}` });
    expect((await p.exited).code).toBe(78);
    expect(expectOneLine(p)).toMatch(
      /SLACK_APP_TOKEN was refused by Slack: apps.connections.open answered invalid_auth/,
    );
  });

  it('Socket Mode against a refusing endpoint: /healthz 200 and /readyz 503 naming Slack within 5 s; details only for operators', async () => {
    const opsToken = secret('ops');
    const p = start({
      ...production,
      SLACK_API_URL: `http://127.0.0.1:${await closedPort()}/api/`,
      VYX_OPS_TOKEN: opsToken,
      VYX_OPS_PORT: '0',
    });
    const t0 = Date.now();
    const [, url] = await p.waitFor(/http: +(http:\/\/127\.0\.0\.1:\d+)/, 10_000);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    let detail: { ready: boolean; checks: Record<string, string>; failed: string[] } | undefined;
    for (;;) {
      const r = await fetch(`${url}/readyz`, { headers: { authorization: `Bearer ${opsToken}` } });
      detail = (await r.json()) as typeof detail;
      if (r.status === 503 && detail?.failed?.includes('slack')) break;
      if (Date.now() - t0 > 5_000) throw new Error(`readyz: ${JSON.stringify(detail)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(detail!.checks.slack).toMatch(/^failed: unreachable: .*ECONNREFUSED/);
    expect(detail!.checks.database).toBe('ok');
    // The public answer says only that it is not ready; metrics need the token.
    const bare = await fetch(`${url}/readyz`);
    expect(bare.status).toBe(503);
    expect(await bare.json()).toEqual({ ready: false });
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${opsToken}` } });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('vyxbot_');
    // The internal port: details and metrics with no token (never exposed: fly.toml has no service).
    const [, ops] = await p.waitFor(/ops: +(http:\/\/127\.0\.0\.1:\d+)/);
    expect(ops).not.toBe(url);
    const internal = (await (await fetch(`${ops}/readyz`)).json()) as { checks: Record<string, string> };
    expect(internal.checks.slack).toMatch(/^failed: unreachable/);
    expect((await fetch(`${ops}/metrics`)).status).toBe(200);
    // Still running, retrying: one log line for the change of state, not one per attempt.
    expect(p.child.exitCode).toBe(null);
    await p.waitFor(/"slack":"unreachable"/);
    expect(p.stdout().match(/"slack":"unreachable"/g)).toHaveLength(1);
    expect(p.stdout()).not.toContain(opsToken);
  });

  it('a busy PORT: one line naming PORT, exit non-zero, no stack trace', async () => {
    const busy = await busyPort();
    try {
      const p = start({ ...production, PORT: String(busy.port) });
      const { code } = await p.exited;
      expect(code).not.toBe(0);
      expect(expectOneLine(p)).toBe(
        `PORT_IN_USE: PORT: port ${busy.port} is already in use — Set PORT to a free port (0 picks one), or stop what is using it.`,
      );
    } finally {
      busy.server.close();
    }
  });

  it('a busy VYX_OPS_PORT, FLY_LOCAL_PORT or SUPABASE_LOCAL_PORT (local twins): one line naming it', async () => {
    const busy = await busyPort();
    try {
      const cases: [string, Record<string, string>][] = [
        ['VYX_OPS_PORT', { ...production, VYX_OPS_PORT: String(busy.port) }],
        [
          'FLY_LOCAL_PORT',
          {
            VYX_DATA_DIR: dataDir,
            DATABASE_URL: db.url,
            SUPABASE_LOCAL_PORT: '0',
            FLY_LOCAL_PORT: String(busy.port),
          },
        ],
        [
          'SUPABASE_LOCAL_PORT',
          { VYX_DATA_DIR: dataDir, DATABASE_URL: db.url, SUPABASE_LOCAL_PORT: String(busy.port) },
        ],
        // The embedded database's twin starts in a thread of its own: its listen error crosses it.
        [
          'SUPABASE_LOCAL_PORT',
          {
            VYX_DATA_DIR: join(dataDir, 'embedded'),
            SUPABASE_LOCAL_PORT: String(busy.port),
            FLY_LOCAL_PORT: '0',
          },
        ],
      ];
      for (const [variable, env] of cases) {
        const p = start({ PORT: '0', HOST: '127.0.0.1', ...env });
        expect((await p.exited).code, variable).not.toBe(0);
        expect(expectOneLine(p)).toMatch(
          new RegExp(`^PORT_IN_USE: ${variable}: port ${busy.port} is already in use`),
        );
      }
    } finally {
      busy.server.close();
    }
  });
});

describe('start-up: a database that is down at boot', () => {
  let db: TestDatabase;
  let dataDir: string;
  const running: MainProcess[] = [];
  beforeAll(async () => {
    db = await createTestDatabase('vyx_dbwait');
    dataDir = mkdtempSync(join(tmpdir(), 'vyx-dbwait-'));
  });
  afterAll(async () => {
    for (const p of running) p.kill();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const local = (databaseUrl: string, waitS: string) => ({
    VYX_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    SUPABASE_LOCAL_PORT: '0',
    FLY_LOCAL_PORT: '0',
    PORT: '0',
    VYX_DB_WAIT_S: waitS,
  });

  it('is waited for with a line saying so, then one line naming DATABASE_URL — no trace, no pino crash', async () => {
    const url = `postgres://postgres@127.0.0.1:${await closedPort()}/nothing`;
    const p = runMain(local(url, '2'));
    running.push(p);
    const { code, ms } = await p.exited;
    expect(code).toBe(1);
    expect(ms).toBeLessThan(10_000);
    expect(p.stdout()).toMatch(
      /database: 127\.0\.0\.1:\d+\/nothing \(DATABASE_URL\) is not answering \(ECONNREFUSED\); waiting up to 2 s/,
    );
    expect(expectOneLine(p)).toMatch(
      /^STORE_UNAVAILABLE: the database at 127\.0\.0\.1:\d+\/nothing \(DATABASE_URL\) did not answer within 2 s/,
    );
  });

  it('coming up while the bot waits: the bot starts and says so', async () => {
    // A port that answers only after a while: a proxy to the real Postgres, opened late.
    const port = await closedPort();
    const url = new URL(db.url);
    const target = { host: url.hostname, port: Number(url.port || 5432) };
    url.port = String(port);
    const p = runMain(local(url.toString(), '30'));
    running.push(p);
    await p.waitFor(/is not answering \(ECONNREFUSED\); waiting up to 30 s/);
    const { connect } = await import('node:net');
    const proxy = createServer((client) => {
      const upstream = connect(target);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    try {
      await p.waitFor(/answers now/);
      await p.waitFor(/vyxbot ready in/);
      // Piped (empty) input: the local shell ends at once, cleanly.
      expect((await p.exited).code).toBe(0);
      expect(p.stdout() + p.stderr()).not.toMatch(STACK);
    } finally {
      proxy.close();
    }
  });
});
