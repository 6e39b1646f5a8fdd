import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintMachineToken } from '../../src/store/supabase-jwt.ts';
import { until } from '../../testkit/until.ts';
import {
  allRuns,
  FAKE_SECRETS,
  flyMachineId,
  type RuntimeRun,
  spawnRuntime,
  uniqueUser,
  watching,
} from '../helpers/runtime/runtime-process.ts';
import { type RuntimeTwin, startRuntimeTwin } from '../helpers/runtime/runtime-twin.ts';
import { BACKENDS } from '../helpers/store-backends.ts';

// The runtime as a real process (`node runtime/main.ts`) against the local Supabase gateway, over
// PGlite and over a real Postgres: what an operator sees in the row, its events, the exit code and
// the log.
describe.each(BACKENDS)('runtime process on %s', (kind) => {
  let twin: RuntimeTwin;
  const runs: RuntimeRun[] = [];
  beforeAll(async () => {
    twin = await startRuntimeTwin(kind);
  });
  afterAll(async () => {
    for (const run of runs) {
      run.signal('SIGKILL');
      await run.exited;
    }
    await twin?.close();
  });

  /** The environment the provisioner gives a machine, with the extra secrets every run carries. */
  const machineEnv = (machineId: string | undefined, extra: Record<string, string | undefined> = {}) => ({
    MACHINE_ID: machineId,
    USER_ID: uniqueUser(),
    SUPABASE_URL: twin.url,
    SUPABASE_SERVICE_KEY: twin.serviceKey,
    VYX_HEARTBEAT_INTERVAL_S: '0.2',
    ...FAKE_SECRETS,
    ...extra,
  });
  const start = (env: Record<string, string | undefined>) => {
    const run = spawnRuntime(env);
    runs.push(run);
    return run;
  };
  const statusOf = async (id: string) => String((await twin.row(id)).status);
  const heartbeatOf = async (id: string) => (await twin.row(id)).last_heartbeat_at as Date | string | null;
  const time = (v: Date | string | null) => (v === null ? 0 : new Date(v).getTime());

  it('reports running, heartbeats advance, and SIGTERM records stopped and exits 0', async () => {
    const fly = flyMachineId();
    const id = await twin.newMachine(fly);
    const run = start(machineEnv(id, { FLY_MACHINE_ID: fly }));

    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    const first = time(await heartbeatOf(id));
    expect(first).toBeGreaterThan(0);
    await until(async () => time(await heartbeatOf(id)) > first, 'the heartbeat to advance', watching(run));

    run.signal('SIGTERM');
    expect(await run.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    const row = await twin.row(id);
    expect(row.status).toBe('stopped');
    expect(row.status_detail).toBe('stopped by SIGTERM');
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'stopped']);
    const warnings = (await twin.store.machineEvents(id)).filter((e) => e.kind === 'warning');
    expect(warnings).toEqual([]);
  });

  it('its status report carries FLY_MACHINE_ID: a row the bot never linked is linked by the machine itself', async () => {
    const fly = flyMachineId();
    const id = await twin.newMachine(); // the bot never saw Fly's create answer: no fly_machine_id
    expect((await twin.row(id)).fly_machine_id).toBeNull();
    const run = start(machineEnv(id, { FLY_MACHINE_ID: fly }));
    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    expect((await twin.row(id)).fly_machine_id).toBe(fly);
    expect((await twin.store.findMachine({ flyMachineId: fly }))?.machine_id).toBe(id);
    run.signal('SIGTERM');
    expect((await run.waitForExit(10_000)).code).toBe(0);
  });

  it('with its own token (no service key) it comes up running, heartbeats and records stopped', async () => {
    const id = await twin.newMachine();
    const run = start(
      machineEnv(id, {
        SUPABASE_SERVICE_KEY: undefined,
        SUPABASE_MACHINE_TOKEN: mintMachineToken(id, twin.jwtSecret),
        SUPABASE_ANON_KEY: twin.anonKey,
      }),
    );
    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    const first = time(await heartbeatOf(id));
    await until(async () => time(await heartbeatOf(id)) > first, 'the heartbeat to advance', watching(run));
    expect((await twin.row(id)).status_written_by).toMatchObject({ role: 'vyx_machine', machine_id: id });
    run.signal('SIGTERM');
    expect((await run.waitForExit(10_000)).code).toBe(0);
    expect((await twin.row(id)).status).toBe('stopped');
  });

  it("another machine's token is refused: exit EX_NOPERM naming the credential, the row untouched", async () => {
    const id = await twin.newMachine();
    const other = await twin.newMachine();
    const run = start(
      machineEnv(id, {
        SUPABASE_SERVICE_KEY: undefined,
        SUPABASE_MACHINE_TOKEN: mintMachineToken(other, twin.jwtSecret),
        SUPABASE_ANON_KEY: twin.anonKey,
      }),
    );
    const exit = await run.waitForExit(15_000);
    expect(exit.code).toBe(77);
    expect(run.output()).toContain(`the credential of machine ${other} may not act on machine ${id}`);
    expect(run.output()).toContain('exiting with code 77');
    expect(await statusOf(id)).toBe('starting');
    expect(await statusOf(other)).toBe('starting');
  });

  it('SIGINT (Fly’s default stop signal) also records stopped and exits 0', async () => {
    const id = await twin.newMachine();
    const run = start(machineEnv(id));
    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    run.signal('SIGINT');
    expect((await run.waitForExit(10_000)).code).toBe(0);
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'stopped']);
  });

  it('without MACHINE_ID it finds its row by FLY_MACHINE_ID, comes up running and records MACHINE_ID_MISMATCH', async () => {
    const fly = flyMachineId();
    const id = await twin.newMachine(fly);
    const run = start(machineEnv(undefined, { FLY_MACHINE_ID: fly }));

    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    const warning = await until(
      async () => (await twin.store.machineEvents(id)).find((e) => e.kind === 'warning'),
      'the MACHINE_ID_MISMATCH warning event',
      watching(run),
    );
    expect(warning.detail).toMatchObject({
      code: 'MACHINE_ID_MISMATCH',
      machine_id: id,
      fly_machine_id: fly,
      env_machine_id: null,
    });
    expect(run.output()).toContain(`MACHINE_ID is not set: looking up the row by FLY_MACHINE_ID ${fly}`);
    run.signal('SIGTERM');
    expect((await run.waitForExit(10_000)).code).toBe(0);
    expect(await statusOf(id)).toBe('stopped');
  });

  it('a FLY_MACHINE_ID that differs from the row’s is logged and recorded as a warning; the machine still comes up', async () => {
    const rowFly = flyMachineId();
    const envFly = flyMachineId();
    const id = await twin.newMachine(rowFly);
    const run = start(machineEnv(id, { FLY_MACHINE_ID: envFly }));

    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    const warning = await until(
      async () => (await twin.store.machineEvents(id)).find((e) => e.kind === 'warning'),
      'the MACHINE_ID_MISMATCH warning event',
      watching(run),
    );
    expect(warning.detail).toMatchObject({
      code: 'MACHINE_ID_MISMATCH',
      machine_id: id,
      fly_machine_id: envFly,
      row_fly_machine_id: rowFly,
    });
    expect(run.output()).toContain(
      `FLY_MACHINE_ID ${envFly} differs from the row's fly_machine_id ${rowFly}`,
    );
    run.signal('SIGTERM');
    expect((await run.waitForExit(10_000)).code).toBe(0);
  });

  it('SUPABASE_SERVICE_ROLE_KEY instead of SUPABASE_SERVICE_KEY: exit 78 with one line naming both, nothing reported', async () => {
    const id = await twin.newMachine();
    const run = start(
      machineEnv(id, { SUPABASE_SERVICE_KEY: undefined, SUPABASE_SERVICE_ROLE_KEY: twin.serviceKey }),
    );
    expect((await run.waitForExit()).code).toBe(78);
    const lines = run.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      'SUPABASE_SERVICE_KEY is missing (SUPABASE_SERVICE_ROLE_KEY is set: rename it to SUPABASE_SERVICE_KEY)',
    );
    expect(await statusOf(id)).toBe('starting');
    expect(await twin.statusEvents(id)).toEqual(['starting']);
  });

  it('an invalid environment names every problem on its one line, and never makes up an id', async () => {
    const run = start({ SUPABASE_URL: 'not a url', VYX_HEARTBEAT_INTERVAL_S: 'often', ...FAKE_SECRETS });
    expect((await run.waitForExit()).code).toBe(78);
    const lines = run.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    for (const phrase of [
      'MACHINE_ID is missing',
      'USER_ID is missing',
      'SUPABASE_URL is malformed',
      'SUPABASE_SERVICE_KEY is missing',
      'VYX_HEARTBEAT_INTERVAL_S is malformed',
    ]) {
      expect(lines[0]).toContain(phrase);
    }
    expect(lines[0]).not.toMatch(/machine_\d+/);
  });

  it('an unknown MACHINE_ID and no Fly id to fall back on: non-zero exit and a log line naming the id', async () => {
    const before = await twin.backend.query('select count(*)::int as n from cloud_machines');
    const run = start(machineEnv('machine_1759437443244'));
    const exit = await run.waitForExit(30_000);
    expect(exit.code).toBe(67);
    const fatal = run.records().find((r) => r.level === 60);
    expect(fatal?.msg).toContain('machine_1759437443244');
    expect(fatal?.msg).toContain('no cloud_machines row has machine_id');
    expect(await twin.backend.query('select count(*)::int as n from cloud_machines')).toEqual(before);
  });

  it('MACHINE_ID absent and a FLY_MACHINE_ID no row has: non-zero exit naming the Fly id', async () => {
    const fly = flyMachineId();
    const run = start(machineEnv(undefined, { FLY_MACHINE_ID: fly }));
    const exit = await run.waitForExit(30_000);
    expect(exit.code).toBe(67);
    const fatal = run.records().find((r) => r.level === 60);
    expect(fatal?.msg).toContain(`no cloud_machines row has fly_machine_id ${fly}`);
  });

  it('a workload that exits 3 leaves the row failed naming exit code 3, and the runtime exits 3', async () => {
    const id = await twin.newMachine();
    const run = start(machineEnv(id, { VYX_WORKLOAD_CMD: 'echo working; sleep 0.5; exit 3' }));
    const exit = await run.waitForExit();
    expect(exit.code).toBe(3);
    const row = await twin.row(id);
    expect(row.status).toBe('failed');
    expect(row.status_detail).toBe('workload exited with code 3');
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'failed']);
    expect(run.output()).toContain('working\n');
  });

  it('a workload that exits 0 leaves the row stopped, and the runtime exits 0', async () => {
    const id = await twin.newMachine();
    const run = start(machineEnv(id, { VYX_WORKLOAD_CMD: 'exit 0' }));
    expect((await run.waitForExit()).code).toBe(0);
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'stopped']);
    expect((await twin.row(id)).status_detail).toBe('workload exited with code 0');
  });

  it('SIGTERM is forwarded to the workload; the row says stopped and the runtime exits 0', async () => {
    const id = await twin.newMachine();
    const run = start(
      machineEnv(id, {
        VYX_WORKLOAD_CMD: `trap 'echo workload got TERM; exit 143' TERM; echo workload up; while true; do sleep 0.1; done`,
      }),
    );
    await until(() => run.output().includes('workload up'), 'the workload to start', watching(run));
    await until(async () => (await statusOf(id)) === 'running', 'the row to say running', watching(run));
    run.signal('SIGTERM');
    expect((await run.waitForExit(10_000)).code).toBe(0);
    expect(run.output()).toContain('workload got TERM');
    expect(await twin.statusEvents(id)).toEqual(['starting', 'running', 'stopped']);
  });

  it('no secret value appears in any output, even when the workload prints its environment', async () => {
    const id = await twin.newMachine();
    const run = start(
      machineEnv(id, {
        LOG_LEVEL: 'trace',
        VYX_WORKLOAD_CMD: 'env; echo "key=$SUPABASE_SERVICE_KEY"; echo "gemini=$GEMINI_API_KEY" >&2; exit 0',
      }),
    );
    expect((await run.waitForExit()).code).toBe(0);
    expect(run.output()).toContain('SUPABASE_SERVICE_KEY=[redacted]');
    expect(run.output()).toContain('key=[redacted]');

    // Every run of this file so far, on this backend and the others: none printed a secret value.
    const secrets = [twin.serviceKey, ...Object.values(FAKE_SECRETS)];
    expect(allRuns.length).toBeGreaterThanOrEqual(10);
    for (const r of allRuns) {
      const out = r.output();
      expect(out.length).toBeGreaterThan(0);
      for (const secret of secrets) expect(out.includes(secret), `a secret value in:\n${out}`).toBe(false);
    }
  });
});
