/**
 * Incident 001 (shared/incidents/001_7ba3d79f7ad7770d.txt), replayed against the Fly emulator with
 * the real client: a machine created from `registry.fly.io/vyx-app:stub`, a tag that does not exist,
 * with `auto_destroy: true`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVyxError } from '../../src/errors/vyx-error.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { responseRecorder } from '../fly/fly-openapi.ts';

const APP = 'vyx-app';
const STUB = 'registry.fly.io/vyx-app:stub';
const recorder = responseRecorder();
let emulator: FlyEmulator;

beforeAll(async () => {
  // The default catalogue: vyx-app:latest and the deployment tag exist, :stub does not.
  emulator = await createFlyEmulator({ seed: 1, onResponse: recorder.onResponse });
});

afterAll(async () => {
  await emulator?.close();
});

describe('incident 001: machine created with a missing image tag', () => {
  it('create answers 200 with an id, the machine is destroyed, and only include_deleted still shows it', async () => {
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const registry = createRegistryClient({ token: emulator.token, baseUrlFor: () => emulator.baseUrl });

    // What `fly image show registry.fly.io/vyx-app:stub` found: the tag is not in the registry.
    expect(await registry.checkImage(STUB)).toMatchObject({
      status: 'missing',
      errorCode: 'MANIFEST_UNKNOWN',
    });
    expect(
      (await registry.checkImage('registry.fly.io/vyx-app:deployment-01K6JV132H7B7Y5PP8Y5QSR23X')).status,
    ).toBe('exists');

    // 1–2. Fly accepts the request and returns a machine id.
    const machine = await fly.create(APP, {
      region: 'sjc',
      config: {
        image: STUB,
        env: { MACHINE_ID: 'row-1', DOCKER_IMAGE: STUB },
        auto_destroy: true,
        restart: { policy: 'no' },
      },
    });
    expect(machine.id).toMatch(/^[0-9a-f]{14}$/);
    expect(machine.state).toBe('created');
    expect(machine.config?.auto_destroy).toBe(true);

    // 4–7. The pull fails, the machine fails to start and is auto-destroyed: waiting for started
    // ends in 404 (flyctl: "failed to wait for VM … in started state: not_found: machine not found").
    let waitOutcome: string;
    try {
      const result = await fly.wait(APP, machine.id, { state: 'started', timeoutMs: 20_000 });
      waitOutcome = result.state;
    } catch (error) {
      if (!isVyxError(error)) throw error;
      waitOutcome = error.code;
      expect(error.message).toContain('not_found: machine not found');
    }
    expect(['FLY_NOT_FOUND', 'destroyed']).toContain(waitOutcome);

    // 8. `fly machines list --app vyx-app`: "No machines are available on this app".
    expect((await fly.list(APP)).map((m) => m.id)).not.toContain(machine.id);
    expect(await fly.list(APP)).toEqual([]);

    // The evidence survives only with include_deleted (and on a direct get).
    const deleted = (await fly.list(APP, { includeDeleted: true })).find((m) => m.id === machine.id);
    expect(deleted?.state).toBe('destroyed');
    expect(deleted?.image_ref).toMatchObject({
      registry: 'registry.fly.io',
      repository: 'vyx-app',
      tag: 'stub',
    });
    expect(deleted?.image_ref?.digest).toBeUndefined();
    const events = (deleted?.events ?? []).map((e) => `${e.type}/${e.status}/${e.source}`);
    expect(events).toEqual(['destroy/destroyed/flyd', 'launch/failed/flyd', 'launch/created/user']);
    expect((await fly.get(APP, machine.id)).state).toBe('destroyed');

    // No process ever ran for it.
    expect(emulator.livePids()).toEqual([]);
    expect(emulator.machineLogs(machine.id)).toEqual([]);
    expect(recorder.problems()).toEqual([]);
  });

  it('without auto_destroy the machine stays, in state failed', async () => {
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const machine = await fly.create(APP, { config: { image: STUB, restart: { policy: 'no' } } });
    const failure = await fly.wait(APP, machine.id, { timeoutMs: 20_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isVyxError(failure) ? failure.code : failure).toBe('FLY_BAD_REQUEST');
    expect((await fly.get(APP, machine.id)).state).toBe('failed');
    expect((await fly.list(APP)).map((m) => m.id)).toContain(machine.id);
    await fly.destroy(APP, machine.id);
  });
});
