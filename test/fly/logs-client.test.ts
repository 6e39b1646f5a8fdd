import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFlyLogsClient } from '../../src/fly/logs-client.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { until } from '../../testkit/until.ts';
import { expectVyxError } from '../helpers/expect-vyx-error.ts';

const IMAGE = 'registry.fly.io/vyx-app:lines';
const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

/** The logs client against the emulator's logs endpoint: Fly's page of 100, its cursor, its errors. */
describe('Fly logs client', () => {
  let emulator: FlyEmulator;
  let machineId: string;

  beforeAll(async () => {
    emulator = await createFlyEmulator({
      catalogue: [{ ref: IMAGE, command: [process.execPath, fixture('fly/print-lines.ts')] }],
    });
    const fly = createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const machine = await fly.create('vyx-app', { config: { image: IMAGE, env: { LINES: '150' } } });
    machineId = machine.id;
    await until(() => emulator.machineLogs(machineId).length === 150, 'the machine printed 150 lines');
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('no cursor: the newest 100 lines, oldest first; the cursor then pages forward to nothing new', async () => {
    const logs = createFlyLogsClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const page = await logs.machineLogs('vyx-app', machineId);
    expect(page.lines).toHaveLength(100);
    expect(page.lines[0]!.message).toBe('line 51');
    expect(page.lines.at(-1)!.message).toBe('line 150');
    expect(page.lines[0]!.instance).toBe(machineId);
    expect(page.nextToken).toMatch(/^\d{19}$/);
    const after = await logs.machineLogs('vyx-app', machineId, { nextToken: page.nextToken! });
    expect(after.lines).toEqual([]);
    expect(after.nextToken).toBe(page.nextToken);
  });

  it('an old cursor pages through every line in order', async () => {
    const logs = createFlyLogsClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    const first = await logs.machineLogs('vyx-app', machineId, { nextToken: '1' });
    expect(first.lines.map((l) => l.message)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1}`));
    const second = await logs.machineLogs('vyx-app', machineId, { nextToken: first.nextToken! });
    expect(second.lines.map((l) => l.message)[0]).toBe('line 101');
    expect(second.lines).toHaveLength(50);
  });

  it('an unknown machine is an empty page (as Fly answers), an unknown app a clear error', async () => {
    const logs = createFlyLogsClient({ baseUrl: emulator.baseUrl, token: emulator.token });
    expect((await logs.machineLogs('vyx-app', 'd8d9e2f3a4b5c6')).lines).toEqual([]);
    expect(
      (await expectVyxError(logs.machineLogs('no-such-app', machineId), 'FLY_LOGS_UNAVAILABLE')).message,
    ).toMatch(/HTTP 404/);
  });

  it('a wrong token or no server: FLY_LOGS_UNAVAILABLE, the token never in the message', async () => {
    const wrong = createFlyLogsClient({ baseUrl: emulator.baseUrl, token: 'fm2_wrong-token-value' });
    const err = await expectVyxError(wrong.machineLogs('vyx-app', machineId), 'FLY_LOGS_UNAVAILABLE');
    expect(err.message).toMatch(/HTTP 401/);
    expect(JSON.stringify({ ...err, message: err.message })).not.toContain('wrong-token-value');
    const closed = createFlyLogsClient({
      baseUrl: 'http://127.0.0.1:1',
      token: emulator.token,
      deadlineMs: 2_000,
    });
    expect(
      (await expectVyxError(closed.machineLogs('vyx-app', machineId), 'FLY_LOGS_UNAVAILABLE')).message,
    ).toMatch(/no connection|no answer/);
  });
});
