import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `printf … | npm start` on a Postgres database, as a developer runs it again and again. */
function runScripted(
  lines: string[],
  dataDir: string,
  databaseUrl: string,
): Promise<{ code: number | null; out: string; exitedAt: number }> {
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
        VYX_SHELL_TIMEOUT_S: '60',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out, exitedAt: Date.now() }));
    child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  });
}

// The shell waits for the work it started, and only that: never for rows other people or earlier
// runs left behind, and never for a message Slack will not take (it is set aside, not retried).
describe('the piped shell, run again on the same data', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  const dataDir = mkdtempSync(join(tmpdir(), 'vyx-shell-exit-'));
  beforeAll(async () => {
    db = await createTestDatabase('vyx_shellexit');
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a second run is not held by the first run’s machine, another user’s starting row, or an undeliverable event', async () => {
    const first = await runScripted(['/vyx start'], dataDir, db.url);
    expect(first.code, first.out).toBe(0);
    const { rows } = await sql.query(`select machine_id, slack_thread_ts from cloud_machines`);
    expect(rows).toHaveLength(1);
    const mine = rows[0]!.machine_id as string;
    // Between runs: the old machine fails (its thread lives only in the first run's Slack), and
    // someone else's machine sits in `starting`.
    await sql.query(`update cloud_machines set status = 'failed' where machine_id = $1`, [mine]);
    await sql.query(
      `insert into cloud_machines (machine_id, user_id, status) values ('vyx-elsewhere', 'someone-else', 'starting')`,
    );

    const t0 = Date.now();
    const second = await runScripted(['/vyx help'], dataDir, db.url);
    expect(second.code, second.out).toBe(0);
    expect(second.out).toContain('all work finished');
    expect(second.exitedAt - t0).toBeLessThan(30_000);
    // The old machine's news: set aside after one attempt (its thread is gone), shown in the channel.
    const aside = await sql.query(
      `select set_aside_reason, delivered_at, attempts from machine_events
       where machine_id = $1 and set_aside_reason is not null`,
      [mine],
    );
    // (its `failed`, and the `stopped` its runtime reported as the first run closed)
    expect(aside.rows.length).toBeGreaterThanOrEqual(1);
    for (const r of aside.rows) {
      expect(r.set_aside_reason).toBe(
        'thread_not_found in the thread (C0VYXLOCAL); posted to the channel instead',
      );
      expect(r.attempts).toBe(1);
    }
    // Within 5 s of that last piece of work, the shell was gone.
    const last = Math.max(...aside.rows.map((r) => new Date(r.delivered_at).getTime()));
    expect(second.exitedAt - last).toBeLessThan(5_000);
    const transcript = readFileSync(join(dataDir, 'slack-transcript.jsonl'), 'utf8');
    expect(transcript).toContain("I couldn't post this in its thread in <#C0VYXLOCAL>");
    expect(second.out).not.toContain('vyx-elsewhere');
  }, 120_000);
});
