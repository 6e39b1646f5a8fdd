/** The Fly emulator's machines are real processes that live and die as Fly machines do. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestExit, type Machine } from '../../src/fly/fly-types.ts';
import { createFlyMachinesClient, type FlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { until } from '../../testkit/until.ts';
import { FIXTURES, responseRecorder } from '../fly/fly-openapi.ts';
import { pidIsDead } from '../helpers/pid-is-dead.ts';

const APP = 'vyx-app';
const node = process.execPath;
const image = (tag: string) => `registry.fly.io/${APP}:${tag}`;
const recorder = responseRecorder();
let emulator: FlyEmulator;
let fly: FlyMachinesClient;

beforeAll(async () => {
  process.env.VYX_HOST_ONLY_SECRET = 'must-not-leak-into-machines';
  emulator = await createFlyEmulator({
    seed: 11,
    apps: { [APP]: {}, bench: {} },
    catalogue: [
      { ref: image('runs'), command: [node, path.join(FIXTURES, 'run-until-term.ts')] },
      { ref: image('crashes'), command: [node, path.join(FIXTURES, 'exit-one.ts')] },
      { ref: image('env'), command: [node, path.join(FIXTURES, 'print-env-names.ts')] },
      { ref: image('stubborn'), command: [node, path.join(FIXTURES, 'stubborn-with-child.ts')] },
      { ref: image('missing-binary'), command: ['/nonexistent/bin/app'] },
    ],
    timing: { restartBackoffMs: 20, closeGraceMs: 500 },
    onResponse: recorder.onResponse,
  });
  fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
});

afterAll(async () => {
  delete process.env.VYX_HOST_ONLY_SECRET;
  await emulator?.close();
});

const exits = (machine: Machine) => machine.events.filter((event) => event.type === 'exit');

async function settle(id: string, states: string[]): Promise<Machine> {
  return until(
    async () => {
      const machine = await fly.get(APP, id);
      return states.includes(machine.state) ? machine : undefined;
    },
    `machine ${id} in ${states.join('/')}`,
  );
}

describe('machine processes', () => {
  it('get config.env plus what Fly injects, and nothing from the host', async () => {
    const machine = await fly.create(APP, {
      config: { image: image('env'), env: { MACHINE_ID: 'row-7', SUPABASE_URL: 'http://127.0.0.1:1' } },
    });
    const line = await until(
      () => emulator.machineLogs(machine.id).find((l) => l.startsWith('stdout: env ')),
      'the env line',
    );
    const names = JSON.parse(line.slice('stdout: env '.length)) as string[];
    expect(names).toEqual(
      [
        'FLY_ALLOC_ID',
        'FLY_APP_NAME',
        'FLY_IMAGE_REF',
        'FLY_MACHINE_ID',
        'FLY_MACHINE_VERSION',
        'FLY_PRIVATE_IP',
        'FLY_REGION',
        'FLY_VM_MEMORY_MB',
        'MACHINE_ID',
        'PATH',
        'PRIMARY_REGION',
        'SUPABASE_URL',
      ].sort(),
    );
    expect(names).not.toContain('VYX_HOST_ONLY_SECRET');
    expect(emulator.machineLogs(machine.id)).toContain(`stdout: machine ${machine.id}`);
    // A machine that had a process is not forgotten behind the lifecycle's back.
    expect(() => emulator.forgetMachines(APP)).toThrow(`machine ${machine.id} of ${APP} has a process`);
    expect((await fly.get(APP, machine.id)).id).toBe(machine.id);
    await fly.destroy(APP, machine.id, { force: true });
  });

  it('restart policy on-failure restarts a crashing process max_retries times, then stops', async () => {
    const machine = await fly.create(APP, {
      config: { image: image('crashes'), restart: { policy: 'on-failure', max_retries: 2 } },
    });
    const stopped = await settle(machine.id, ['stopped']);
    const exitEvents = exits(stopped);
    expect(exitEvents).toHaveLength(3);
    const details = exitEvents.map(
      (e) => e.request as { exit_event: Record<string, unknown>; restart_count: number },
    );
    expect(details.map((d) => d.restart_count)).toEqual([2, 1, 0]);
    expect(details.map((d) => d.exit_event.restarting)).toEqual([false, true, true]);
    expect(details.every((d) => d.exit_event.exit_code === 1 && d.exit_event.oom_killed === false)).toBe(
      true,
    );
    expect(emulator.machineLogs(machine.id).filter((l) => l === 'stderr: boom')).toHaveLength(3);
    await fly.destroy(APP, machine.id);
  });

  it('restart policy no: one exit, then stopped; auto_destroy then destroys it', async () => {
    const kept = await fly.create(APP, { config: { image: image('crashes'), restart: { policy: 'no' } } });
    const stopped = await settle(kept.id, ['stopped']);
    expect(exits(stopped)).toHaveLength(1);
    expect(latestExit(stopped)?.exitEvent).toMatchObject({
      exit_code: 1,
      restarting: false,
      requested_stop: false,
    });

    const gone = await fly.create(APP, {
      config: { image: image('crashes'), restart: { policy: 'no' }, auto_destroy: true },
    });
    const destroyed = await settle(gone.id, ['destroyed']);
    expect(destroyed.events.map((e) => e.type)).toEqual(['destroy', 'exit', 'start', 'launch']);
    expect((await fly.list(APP)).map((m) => m.id)).not.toContain(gone.id);
    await fly.destroy(APP, kept.id);
  });

  it('restart policy always restarts after every exit until stopped', async () => {
    const machine = await fly.create(APP, {
      config: { image: image('crashes'), restart: { policy: 'always' } },
    });
    await until(async () => exits(await fly.get(APP, machine.id)).length >= 3 || undefined, 'three exits');
    await fly.stop(APP, machine.id);
    const stopped = await settle(machine.id, ['stopped']);
    expect(exits(stopped).length).toBeGreaterThanOrEqual(3);
    await fly.destroy(APP, machine.id);
  });

  it('a process killed by SIGKILL that nobody asked for reads as oom_killed', async () => {
    const machine = await fly.create(APP, { config: { image: image('runs'), restart: { policy: 'no' } } });
    const line = await until(
      () => emulator.machineLogs(machine.id).find((l) => l.startsWith('stdout: ready ')),
      'ready',
    );
    process.kill(Number(line.split(' ')[2]), 'SIGKILL');
    const stopped = await settle(machine.id, ['stopped']);
    expect(latestExit(stopped)?.exitEvent).toMatchObject({
      oom_killed: true,
      requested_stop: false,
      exit_code: 137,
    });
    await fly.destroy(APP, machine.id);
  });

  it('a command that cannot run exits 127, like the documented example', async () => {
    const machine = await fly.create(APP, {
      config: { image: image('missing-binary'), restart: { policy: 'no' } },
    });
    const stopped = await settle(machine.id, ['stopped']);
    expect(latestExit(stopped)?.exitEvent.exit_code).toBe(127);
    await fly.destroy(APP, machine.id);
  });
});

describe('bulk machines, counters and faults', () => {
  it('holds 10,000 machines without processes and lists them, whole and in pages', async () => {
    const ids = emulator.bulkCreate({
      app: 'bench',
      count: 10_000,
      region: (i) => (i % 4 === 0 ? 'ams' : 'ord'),
      metadata: (i) => ({ vyx_row: `row-${i}` }),
    });
    expect(ids).toHaveLength(10_000);
    expect(emulator.livePids()).toEqual([]);
    expect(await fly.list('bench')).toHaveLength(10_000);
    const before = emulator.counters.get('GET /v1/apps/:app/machines');
    expect(await fly.list('bench', { pageSize: 1000, summary: true })).toHaveLength(10_000);
    expect(emulator.counters.get('GET /v1/apps/:app/machines') - before).toBe(10);
    expect(await fly.list('bench', { region: 'ams', summary: true })).toHaveLength(2_500);
    expect((await fly.list('bench', { metadata: { vyx_row: 'row-42' } })).map((m) => m.id)).toEqual([
      ids[42],
    ]);
    const one = ids[7] ?? '';
    await fly.stop('bench', one);
    expect((await fly.get('bench', one)).state).toBe('stopped');
    expect((await fly.start('bench', one)).previous_state).toBe('stopped');
    await fly.destroy('bench', one, { force: true });
    expect(await fly.list('bench', { summary: true })).toHaveLength(9_999);
    // The next fleet starts from none (a benchmark's sizes, one after the other).
    expect(emulator.forgetMachines('bench')).toBe(10_000);
    expect(await fly.list('bench', { includeDeleted: true })).toEqual([]);
    await expect(fly.get('bench', ids[42] ?? '')).rejects.toMatchObject({ code: 'FLY_NOT_FOUND' });
    expect(emulator.bulkCreate({ app: 'bench', count: 3 })).toHaveLength(3);
    expect(await fly.list('bench')).toHaveLength(3);
  });

  it('lists a machine as it is now, after every change since it was last listed', async () => {
    const [id = ''] = emulator.bulkCreate({ app: 'bench', count: 1, metadata: () => ({ vyx_row: 'fresh' }) });
    const listed = async () => (await fly.list('bench', { metadata: { vyx_row: 'fresh' } }))[0];
    const started = await listed();
    expect(started?.state).toBe('started');
    await fly.stop('bench', id);
    const stopped = await listed();
    expect(stopped?.state).toBe('stopped');
    expect(stopped?.events.length).toBeGreaterThan(started?.events.length ?? 0);
    expect(stopped?.events[0]?.status).toBe('stopped');
    emulator.setHostStatus(id, 'unreachable', 'bench');
    expect((await listed())?.host_status).toBe('unreachable');
    expect((await fly.list('bench', { summary: true })).find((m) => m.id === id)?.state).toBe('stopped');
    await fly.start('bench', id);
    expect((await listed())?.state).toBe('started');
    emulator.forgetMachines('bench');
  });

  it('counts requests per route and injects faults per route', async () => {
    const key = 'GET /v1/apps/:app/secrets';
    const before = emulator.counters.get(key);
    emulator.faults.addRule({ route: key, rate: 1, times: 1, kinds: ['unavailable'] });
    emulator.faults.addRule({ route: key, rate: 1, times: 1, kinds: ['latency'], latencyMs: 50 });
    expect(await fly.listSecretNames(APP)).toEqual([]);
    expect(emulator.counters.get(key) - before).toBe(2);
    expect(emulator.faults.injected().latency).toBe(1);
    expect(emulator.faults.injected().unavailable).toBeGreaterThanOrEqual(1);
    expect(emulator.counters.snapshot()).toHaveProperty('POST /v1/apps/:app/machines');
  });

  it('answers unknown paths as Fly does, and every answer matched the spec', async () => {
    const response = await fetch(`${emulator.baseUrl}/`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('404 page not found\n');
    expect(recorder.problems()).toEqual([]);
  });
});

describe('close()', () => {
  it('machine processes die with the emulator process even without close()', async () => {
    const { execFileSync } = await import('node:child_process');
    const output = execFileSync(process.execPath, [path.join(FIXTURES, 'emulator-then-exit.ts')], {
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const pid = Number(/pid (\d+)/.exec(output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await until(async () => (await pidIsDead(pid)) || undefined, `pid ${pid} to die`)).toBe(true);
  });

  it('stops every machine process, even ones that ignore SIGTERM and their children', async () => {
    const local = await createFlyEmulator({
      seed: 5,
      catalogue: [
        { ref: image('runs'), command: [node, path.join(FIXTURES, 'run-until-term.ts')] },
        { ref: image('stubborn'), command: [node, path.join(FIXTURES, 'stubborn-with-child.ts')] },
      ],
      timing: { closeGraceMs: 500 },
    });
    const client = createFlyMachinesClient({ baseUrl: local.baseUrl, token: local.token });
    const created = await Promise.all([
      client.create(APP, { config: { image: image('runs') } }),
      client.create(APP, { config: { image: image('runs') } }),
      client.create(APP, { config: { image: image('stubborn') } }),
    ]);
    const stubborn = created[2]?.id ?? '';
    const pidsLine = await until(
      () => local.machineLogs(stubborn).find((l) => l.startsWith('stdout: pids ')),
      'the stubborn pids',
    );
    await until(() => local.livePids().length === 3 || undefined, 'three live processes');
    const pids = [...local.livePids(), ...pidsLine.split(' ').slice(2).map(Number)];
    expect(new Set(pids).size).toBe(4);
    for (const pid of pids) expect(await pidIsDead(pid)).toBe(false);

    await local.close();

    const alive: number[] = [];
    for (const pid of pids) if (!(await pidIsDead(pid))) alive.push(pid);
    expect(alive).toEqual([]);
    expect(local.livePids()).toEqual([]);
  });
});
