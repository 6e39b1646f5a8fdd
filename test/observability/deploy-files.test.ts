import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** KEY=value lines (values optionally double-quoted), comments skipped. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return env;
}

describe('deploy files', () => {
  it('.env.example names every variable of src/config.ts, and loads as the all-local configuration', () => {
    const names = [...read('src/config.ts').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((m) => m[1]!);
    const example = parseEnvFile(read('.env.example'));
    expect(names.length).toBeGreaterThan(25);
    for (const name of new Set(names)) expect(Object.keys(example), name).toContain(name);
    for (const [name, value] of Object.entries(example)) {
      if (/KEY|TOKEN|SECRET/.test(name)) expect(value, `${name} has no value in the example`).toBe('');
    }
    const config = loadConfig(example);
    expect(config.supabase.mode).toBe('twin');
    expect(config.slack.mode).toBe('twin');
    expect(config.fly.mode).toBe('twin');
    expect(config.shutdownTimeoutS).toBe(10);
    expect(config.stuckSchedule).toBe('*/15 * * * * *');
  });

  it('the Dockerfile runs node src/main.ts (with the flags npm start uses) as a non-root user from a slim Node 24, with the files it needs', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/FROM node:\$\{NODE_VERSION\}-slim AS deps/);
    expect(dockerfile).toContain(`ARG NODE_VERSION=${read('.nvmrc').trim()}`);
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain(
      'CMD ["node", "--max-semi-space-size=8", "--heap-growing-percent=20", "src/main.ts"]',
    );
    // Locally also a higher WASM tiering budget: the embedded PGlite (never in production) optimises
    // only its really hot functions, not everything Postgres's start-up ran (~0.3–0.5 s of CPU).
    expect(JSON.parse(read('package.json')).scripts.start).toBe(
      'scripts/node --max-semi-space-size=8 --heap-growing-percent=20 --wasm-tiering-budget=130000000 src/main.ts',
    );
    for (const copied of ['src', 'supabase', 'docs'])
      expect(dockerfile).toContain(`COPY ${copied} ./${copied}`);
    const ignore = read('.dockerignore');
    for (const kept of ['!package.json', '!package-lock.json', '!src/', '!supabase/', '!docs/']) {
      expect(ignore).toContain(kept);
    }
  });

  it('fly.toml runs in production mode, exposes nothing publicly (Socket Mode needs no URL), checks /healthz and scrapes metrics on the internal port only', () => {
    const toml = read('fly.toml');
    const live = toml
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    expect(live).toMatch(/VYX_MODE = "production"/);
    // No public service: no [http_service], no [[services]].
    expect(live).not.toMatch(/^\s*\[http_service\]/m);
    expect(live).not.toMatch(/^\s*\[\[services\]\]/m);
    expect(live).toMatch(/\[checks\.alive\][^[]*port = 3000[^[]*path = "\/healthz"/);
    const opsPort = Number(/VYX_OPS_PORT = "(\d+)"/.exec(live)?.[1]);
    const metricsPort = Number(/\[metrics\]\s*port = (\d+)/.exec(live)?.[1]);
    expect(opsPort).toBeGreaterThan(0);
    expect(metricsPort).toBe(opsPort);
    expect(metricsPort).not.toBe(Number(/PORT = "(\d+)"/.exec(live)?.[1]));
    expect(live).toMatch(/kill_signal = "SIGTERM"/);
    const kill = Number(/kill_timeout = "(\d+)s"/.exec(live)?.[1]);
    const shutdown = Number(/VYX_SHUTDOWN_TIMEOUT_S = "(\d+)"/.exec(live)?.[1]);
    expect(kill).toBeGreaterThan(shutdown);
  });

  it('the Docker image defaults to production mode', () => {
    expect(read('Dockerfile')).toMatch(/VYX_MODE=production/);
  });
});
