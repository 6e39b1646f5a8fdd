import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEmbeddedDatabase } from '../../src/local/supabase-twin/embedded-database.ts';

const FIXTURE = new URL('../fixtures/open-embedded-database.ts', import.meta.url).pathname;

function runSecondProcess(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FIXTURE, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the embedded database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vyx-embedded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps data across restarts, applies migrations once, and refuses a second process with a clear message', async () => {
    const first = await openEmbeddedDatabase({ dataDir: dir });
    expect(first.migrations.applied.length).toBeGreaterThanOrEqual(2);
    await first.backend.query(
      `insert into cloud_machines (machine_id, user_id) values ('vyx-persist1', 'u1')`,
    );

    const second = await runSecondProcess(dir);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('LOCAL_DB_LOCKED');
    expect(second.stderr).toContain(`already open in process ${process.pid}`);
    expect(second.stderr).toContain('VYX_DATA_DIR');
    expect(second.stdout).toBe('');
    await first.close();

    // Closed: the other process may open it now, and sees the row.
    const third = await runSecondProcess(dir);
    expect(third.stderr).toBe('');
    expect(third.stdout.trim()).toBe('opened rows=1');

    const reopened = await openEmbeddedDatabase({ dataDir: dir });
    expect(reopened.migrations.applied).toEqual([]);
    await reopened.close();
  });

  it('takes over a lock left by a process that died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    writeFileSync(join(dir, 'pglite.lock'), String(dead));
    const db = await openEmbeddedDatabase({ dataDir: dir });
    const { rows } = await db.backend.query('select count(*)::int as n from cloud_machines');
    expect(rows[0]?.n).toBe(1);
    await db.close();
  });
});
