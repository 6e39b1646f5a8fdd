import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVyxError, type VyxError } from '../../src/errors/vyx-error.ts';
import { flyAuthorization } from '../../src/fly/fly-http.ts';
import { latestExit, MachineSchema } from '../../src/fly/fly-types.ts';
import { CREATE_KEY_METADATA, createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { until } from '../../testkit/until.ts';
import { FIXTURES, responseRecorder, validators, withoutUnset } from './fly-openapi.ts';

const APP = 'vyx-app';
const RUNS = `registry.fly.io/${APP}:runs`;
const recorder = responseRecorder();
let emulator: FlyEmulator;

async function rejection(promise: Promise<unknown>): Promise<VyxError> {
  try {
    await promise;
  } catch (error) {
    if (isVyxError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  emulator = await createFlyEmulator({
    seed: 7,
    token: 'fm2_local-test-token',
    apps: {
      [APP]: { secrets: { SUPABASE_SERVICE_KEY: 'secret-value', SLACK_BOT_TOKEN: 'xoxb-value' } },
      other: {},
    },
    catalogue: [{ ref: RUNS, command: [process.execPath, path.join(FIXTURES, 'run-until-term.ts')] }],
    onResponse: recorder.onResponse,
  });
});

afterAll(async () => {
  await emulator?.close();
});

const client = () =>
  createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token, retry: { baseDelayMs: 20 } });

describe('recorded Fly responses', () => {
  it('parses the documented create response', () => {
    const raw = JSON.parse(
      readFileSync(path.join(FIXTURES, 'fly-machine-example-create-response.json'), 'utf8'),
    );
    const machine = MachineSchema.parse(raw);
    expect(machine.id).toBe('1857156b526dd8');
    expect(machine.state).toBe('created');
    expect(machine.config?.auto_destroy).toBe(true);
    expect(machine.config?.restart?.policy).toBe('always');
    expect(machine.image_ref?.digest).toMatch(/^sha256:/);
    expect(machine.events[0]).toMatchObject({ type: 'launch', status: 'created', source: 'user' });
  });

  it('parses the documented stopped machine, reading null and "" as unset', () => {
    const raw = JSON.parse(
      readFileSync(path.join(FIXTURES, 'fly-machine-example-get-with-exit-event.json'), 'utf8'),
    );
    const machine = MachineSchema.parse(raw);
    expect(machine.state).toBe('stopped');
    expect(machine.config?.env).toEqual({});
    expect(machine.config?.metadata).toEqual({});
    expect(machine.config?.restart?.policy).toBeUndefined();
    const exit = latestExit(machine);
    expect(exit?.exitEvent.exit_code).toBe(127);
    expect(exit?.exitEvent.oom_killed).toBe(false);
    expect(exit?.restartCount).toBe(0);
  });

  it('reads a restart policy `no` that a YAML 1.1 reader turned into false', () => {
    const machine = MachineSchema.parse({
      id: 'x',
      state: 'stopped',
      config: { image: 'i', restart: { policy: false } },
    });
    expect(machine.config?.restart?.policy).toBe('no');
  });

  it('both examples match the spec once unset (null/"") fields are dropped', () => {
    for (const file of [
      'fly-machine-example-create-response.json',
      'fly-machine-example-get-with-exit-event.json',
    ]) {
      const raw = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));
      expect(validators.Machine?.(withoutUnset(raw)), JSON.stringify(validators.Machine?.errors)).toBe(true);
    }
  });
});

describe('authorization header', () => {
  it('picks the scheme by token type', () => {
    expect(flyAuthorization('fm2_abc')).toBe('FlyV1 fm2_abc');
    expect(flyAuthorization('fm1r_abc')).toBe('FlyV1 fm1r_abc');
    expect(flyAuthorization('FlyV1 fm2_abc,fm2_def')).toBe('FlyV1 fm2_abc,fm2_def');
    expect(flyAuthorization('Bearer FlyV1 fm2_abc')).toBe('FlyV1 fm2_abc');
    expect(flyAuthorization('personal-oauth-token')).toBe('Bearer personal-oauth-token');
  });
});

describe('Machines API client against the emulator', () => {
  it('creates, waits, reads, stops, starts and destroys a machine that is a real process', async () => {
    const fly = client();
    const created = await fly.create(APP, {
      name: 'client-lifecycle',
      region: 'sjc',
      config: {
        image: RUNS,
        env: { MACHINE_ID: 'row-1' },
        metadata: { vyx_row: 'row-1' },
        restart: { policy: 'no' },
      },
    });
    expect(created.id).toMatch(/^[0-9a-f]{14}$/);
    expect(created.state).toBe('created');
    expect(created.region).toBe('sjc');
    expect(created.image_ref).toMatchObject({ registry: 'registry.fly.io', repository: APP, tag: 'runs' });
    expect(created.image_ref?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(created.config?.metadata[CREATE_KEY_METADATA]).toMatch(/^[0-9a-f]+$/);

    expect(await fly.wait(APP, created.id, { state: 'started', timeoutMs: 20_000 })).toEqual({
      state: 'started',
      gone: false,
    });
    const started = await fly.get(APP, created.id);
    expect(started.state).toBe('started');
    expect(started.events.map((e) => e.type)).toEqual(['start', 'launch']);

    const byMetadata = await fly.list(APP, { metadata: { vyx_row: 'row-1' } });
    expect(byMetadata.map((m) => m.id)).toEqual([created.id]);
    expect(await fly.list(APP, { region: 'ams' })).toEqual([]);

    // Fly calls a machine started once its process runs; wait until ours handles SIGTERM.
    await until(
      () => emulator.machineLogs(created.id).some((line) => line.startsWith('stdout: ready')),
      'the process to be ready',
    );
    await fly.stop(APP, created.id);
    await fly.wait(APP, created.id, { state: 'stopped', timeoutMs: 20_000 });
    const events = await fly.listEvents(APP, created.id, { limit: 10 });
    expect(events[0]?.type).toBe('exit');
    const stopped = await fly.get(APP, created.id);
    expect(latestExit(stopped)?.exitEvent).toMatchObject({
      exit_code: 0,
      requested_stop: true,
      restarting: false,
    });

    expect((await fly.start(APP, created.id)).previous_state).toBe('stopped');
    await fly.wait(APP, created.id, { timeoutMs: 20_000 });

    const refused = await rejection(fly.destroy(APP, created.id));
    expect(refused.code).toBe('FLY_CONFLICT');
    await fly.destroy(APP, created.id, { force: true });
    expect((await fly.get(APP, created.id)).state).toBe('destroyed');
    expect((await fly.list(APP)).some((m) => m.id === created.id)).toBe(false);
    expect((await fly.list(APP, { includeDeleted: true })).find((m) => m.id === created.id)?.state).toBe(
      'destroyed',
    );
    expect(await fly.wait(APP, created.id, { state: 'destroyed', timeoutMs: 5_000 })).toMatchObject({
      state: 'destroyed',
    });
  });

  it('follows fly-next-cursor through every page', async () => {
    emulator.bulkCreate({ app: 'other', count: 25, metadata: (i) => ({ shard: String(i % 2) }) });
    const before = emulator.counters.get('GET /v1/apps/:app/machines');
    const all = await client().list('other', { pageSize: 10 });
    expect(all).toHaveLength(25);
    expect(new Set(all.map((m) => m.id)).size).toBe(25);
    expect(emulator.counters.get('GET /v1/apps/:app/machines') - before).toBe(3);
    expect(await client().list('other', { pageSize: 5, metadata: { shard: '1' } })).toHaveLength(12);
  });

  it('lists app secret names, never values', async () => {
    expect(await client().listSecretNames(APP)).toEqual(['SLACK_BOT_TOKEN', 'SUPABASE_SERVICE_KEY']);
  });

  it('returns coded errors that carry the request id and never the token', async () => {
    const wrong = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: 'fm2_wrong-token' });
    const unauthorized = await rejection(wrong.list(APP));
    expect(unauthorized.code).toBe('FLY_UNAUTHORIZED');
    expect(unauthorized.details.requestId).toMatch(/^[0-9A-Z]{26}-ord$/);
    expect(unauthorized.suggestion).toMatch(/token/i);
    expect(JSON.stringify(unauthorized.toJSON())).not.toContain('wrong-token');

    const missing = await rejection(client().get(APP, '0000000000dead'));
    expect(missing.code).toBe('FLY_NOT_FOUND');
    expect(missing.message).toContain('not_found: machine not found');

    const invalid = await rejection(client().create(APP, { config: { image: '' } }));
    expect(invalid.code).toBe('FLY_BAD_REQUEST');

    emulator.faults.addRule({
      route: 'GET /v1/apps/:app/secrets',
      rate: 1,
      times: 1,
      kinds: ['status'],
      status: 403,
      message: 'unauthorized',
    });
    const forbidden = await rejection(client().listSecretNames(APP));
    expect(forbidden.code).toBe('FLY_FORBIDDEN');
  });

  it('waits past one server wait by looping, and times out with a coded error', async () => {
    const fly = client();
    const machine = await fly.create(APP, { skip_launch: true, config: { image: RUNS } });
    const before = emulator.counters.get('GET /v1/apps/:app/machines/:id/wait');
    const timeout = await rejection(fly.wait(APP, machine.id, { timeoutMs: 2_500, callSeconds: 1 }));
    expect(timeout.code).toBe('FLY_TIMEOUT');
    expect(emulator.counters.get('GET /v1/apps/:app/machines/:id/wait') - before).toBeGreaterThanOrEqual(2);
    await fly.destroy(APP, machine.id);
  });

  it('honours Retry-After on 429 for an idempotent call', async () => {
    const sleeps: number[] = [];
    const fly = createFlyMachinesClient({
      baseUrl: emulator.baseUrl,
      token: emulator.token,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    emulator.faults.addRule({
      route: 'GET /v1/apps/:app/secrets',
      rate: 1,
      times: 2,
      kinds: ['rate-limit'],
      retryAfterSeconds: 3,
    });
    expect(await fly.listSecretNames(APP)).toContain('SUPABASE_SERVICE_KEY');
    expect(sleeps).toHaveLength(2);
    for (const ms of sleeps) expect(ms).toBeGreaterThanOrEqual(3_000);
  });

  it('does not repeat a create whose answer was lost: it finds the machine instead', async () => {
    const fly = client();
    const posts = () => emulator.counters.get('POST /v1/apps/:app/machines');
    const before = posts();
    emulator.faults.addRule({
      route: 'POST /v1/apps/:app/machines',
      rate: 1,
      times: 1,
      kinds: ['reset'],
      phase: 'after',
    });
    const machine = await fly.create(APP, {
      skip_launch: true,
      config: { image: RUNS, metadata: { vyx_row: 'lost-answer' } },
    });
    expect(posts() - before).toBe(1);
    const key = machine.config?.metadata[CREATE_KEY_METADATA];
    const same = emulator
      .machines(APP)
      .filter(
        (m) => (m.config as { metadata?: Record<string, string> }).metadata?.[CREATE_KEY_METADATA] === key,
      );
    expect(same).toHaveLength(1);
  });

  it('looks before repeating a create even after a 429, in case the work was done', async () => {
    const fly = client();
    emulator.faults.addRule({
      route: 'POST /v1/apps/:app/machines',
      rate: 1,
      times: 1,
      kinds: ['rate-limit'],
      retryAfterSeconds: 0,
      phase: 'after',
    });
    const machine = await fly.create(APP, { skip_launch: true, config: { image: RUNS } });
    const key = machine.config?.metadata[CREATE_KEY_METADATA];
    const same = emulator
      .machines(APP)
      .filter(
        (m) => (m.config as { metadata?: Record<string, string> }).metadata?.[CREATE_KEY_METADATA] === key,
      );
    expect(same).toHaveLength(1);
  });

  it('repeats a create once the machine is known not to exist', async () => {
    const fly = client();
    const posts = () => emulator.counters.get('POST /v1/apps/:app/machines');
    const before = posts();
    emulator.faults.addRule({
      route: 'POST /v1/apps/:app/machines',
      rate: 1,
      times: 1,
      kinds: ['unavailable'],
      phase: 'before',
    });
    const machine = await fly.create(APP, { skip_launch: true, config: { image: RUNS } });
    expect(posts() - before).toBe(2);
    expect((await fly.get(APP, machine.id)).state).toBe('created');
  });

  it('every emulator answer matches the Fly OpenAPI schemas', () => {
    expect(recorder.problems()).toEqual([]);
    const seen = recorder.routesSeen();
    for (const route of [
      'POST /v1/apps/:app/machines 200',
      'GET /v1/apps/:app/machines 200',
      'GET /v1/apps/:app/machines/:id 200',
      'GET /v1/apps/:app/machines/:id/wait 200',
      'GET /v1/apps/:app/machines/:id/wait 408',
      'POST /v1/apps/:app/machines/:id/stop 200',
      'POST /v1/apps/:app/machines/:id/start 200',
      'DELETE /v1/apps/:app/machines/:id 200',
      'DELETE /v1/apps/:app/machines/:id 412',
      'GET /v1/apps/:app/machines/:id/events 200',
      'GET /v1/apps/:app/secrets 200',
      'GET /v1/apps/:app/machines 401',
      'GET /v1/apps/:app/machines/:id 404',
      'POST /v1/apps/:app/machines 400',
      'GET /v1/apps/:app/secrets 429',
    ]) {
      expect(seen, route).toContain(route);
    }
  });
});
