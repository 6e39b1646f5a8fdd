import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `printf … | npm start` with the start dialog on: the terminal twin shows Home and fills in the dialog. */
function runScripted(
  lines: string[],
  dataDir: string,
  databaseUrl: string,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        VYX_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        SUPABASE_LOCAL_PORT: '0',
        FLY_LOCAL_PORT: '0',
        PORT: '0',
        VYX_ECHO_POLL_MS: '200',
        VYX_SHELL_TIMEOUT_S: '90',
        VYX_START_DIALOG: 'on',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

// #18.5: the terminal twin opens the Home tab (`/home`) and fills in the start dialog (`dialog`,
// a prompt per input), as a person would in Slack.
describe('the shell shows Home and fills in the start dialog', () => {
  let db: TestDatabase;
  const dataDir = mkdtempSync(join(tmpdir(), 'vyx-shell-views-'));
  beforeAll(async () => {
    db = await createTestDatabase('vyx_shellviews');
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('/home, /vyx start → dialog → a machine in the chosen region, and Home showing it', async () => {
    const { code, out } = await runScripted(
      ['/home', '/vyx start', 'dialog', 'xyz', 'iad', '', 'wait', '/home'],
      dataDir,
      db.url,
    );
    if (process.env.VYX_SCREENS_FILE) writeFileSync(process.env.VYX_SCREENS_FILE, out);
    expect(code, out).toBe(0);
    // The first Home: nothing yet; the person at the terminal is an admin, so the fleet too.
    expect(out).toContain('┌ vyx · Home');
    expect(out).toContain('You have no machines yet');
    expect(out).toContain('# The fleet at a glance');
    // The dialog, its inputs, a refused answer, and the submission.
    expect(out).toContain('┌ Start a machine (dialog)');
    expect(out).toMatch(/▸ Region: \[choose 1 of \d+ · ord\]/);
    expect(out).toContain('▸ Image tag: [choose 1 of');
    expect(out).toContain('xyz is not one of the');
    expect(out).toContain('dialog submitted and closed');
    // The machine, in the region chosen, and the second Home showing it.
    const id = /`?(vyx-[0-9a-f]{8})`? is (?:\*)?running/.exec(out)?.[1];
    expect(id, out).toBeDefined();
    const secondHome = out.slice(out.lastIndexOf('┌ vyx · Home'));
    expect(secondHome).toContain(id!);
    expect(secondHome).toContain('region iad');
    expect(secondHome).toMatch(/\[\d+ Destroy…\]/);
  });
});
