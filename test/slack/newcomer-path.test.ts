import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `printf '/vyx start\n/vyx status\n' | npm start` with no credentials at all, as a newcomer runs it. */
function runScripted(lines: string[], dataDir: string): Promise<{ code: number | null; out: string }> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    VYX_DATA_DIR: dataDir,
    SUPABASE_LOCAL_PORT: '0',
    FLY_LOCAL_PORT: '0',
    VYX_SHELL_TIMEOUT_S: '60',
  };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

describe('the newcomer path', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vyx-newcomer-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('with no credentials, a scripted /vyx start then /vyx status ends with the machine running', async () => {
    const { code, out } = await runScripted(['/vyx start', '/vyx status'], dataDir);
    expect(out).toContain('Supabase: local twin');
    expect(out).toContain('Fly:      local emulator');
    expect(out).toContain('Slack:    local twin');
    expect(out).toMatch(/`vyx-[0-9a-f]{8}` is now \*running\*/);
    // The status answer comes after the start's work settled, and says running.
    const statusAt = out.indexOf('local: /vyx status');
    expect(out.slice(statusAt)).toMatch(/Machine vyx-[0-9a-f]{8}\* is \*running\*/);
    expect(out).toContain('all work finished');
    expect(code).toBe(0);
    // The local JWT secret never reaches the terminal, the transcript or the log.
    const key = readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(out).not.toContain(key);
    expect(readFileSync(join(dataDir, 'slack-transcript.jsonl'), 'utf8')).not.toContain(key);
    expect(readFileSync(join(dataDir, 'vyxbot.log'), 'utf8')).not.toContain(key);
  });
});
