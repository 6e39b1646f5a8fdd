/**
 * With 30 % of requests failing (429 with Retry-After, 5xx, dropped connections — before or after
 * the server did the work), every client call succeeds or fails with a coded error within its
 * deadline, and one create call never makes two machines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVyxError } from '../../src/errors/vyx-error.ts';
import { CREATE_KEY_METADATA, createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';
import { seededRandom } from '../../src/local/fly-emulator/seeded-random.ts';
import { responseRecorder } from './fly-openapi.ts';

const APP = 'vyx-app';
const IMAGE = `registry.fly.io/${APP}:sleeper`;
const DEADLINE_MS = 6_000;
/** Room for the event loop to deliver an answer that arrived just before the deadline. */
const SLACK_MS = 1_500;
const recorder = responseRecorder();
let emulator: FlyEmulator;

beforeAll(async () => {
  emulator = await createFlyEmulator({
    seed: 2026,
    apps: { [APP]: { secrets: { SUPABASE_SERVICE_KEY: 'v' } } },
    // A cheap real process per machine: sleep exits on SIGTERM.
    catalogue: [{ ref: IMAGE, command: ['/bin/sleep', '600'] }],
    faults: [
      {
        rate: 0.3,
        kinds: ['rate-limit', 'server-error', 'bad-gateway', 'unavailable', 'reset'],
        retryAfterSeconds: 1,
        phase: 'either',
      },
    ],
    onResponse: recorder.onResponse,
  });
});

afterAll(async () => {
  await emulator?.close();
});

interface Outcome {
  call: string;
  ok: boolean;
  code?: string;
  elapsedMs: number;
}

describe('Machines API client under 30 % failures', () => {
  it('every call succeeds or fails with a coded error within its deadline; no create makes two machines', async () => {
    const fly = createFlyMachinesClient({
      baseUrl: emulator.baseUrl,
      token: emulator.token,
      deadlineMs: DEADLINE_MS,
      retry: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 1_000 },
      random: seededRandom(99),
    });
    const outcomes: Outcome[] = [];
    const createKeys: Array<{ key: string; created: boolean }> = [];

    async function measure<T>(call: string, run: () => Promise<T>): Promise<T | undefined> {
      const started = Date.now();
      try {
        const value = await run();
        outcomes.push({ call, ok: true, elapsedMs: Date.now() - started });
        return value;
      } catch (error) {
        outcomes.push({
          call,
          ok: false,
          code: isVyxError(error) ? error.code : `not coded: ${String(error)}`,
          elapsedMs: Date.now() - started,
        });
        return undefined;
      }
    }

    async function round(i: number) {
      const key = `fault-round-${i}`;
      const machine = await measure('create', () =>
        fly.create(APP, {
          config: { image: IMAGE, metadata: { [CREATE_KEY_METADATA]: key }, restart: { policy: 'no' } },
        }),
      );
      createKeys.push({ key, created: machine !== undefined });
      await measure('list', () => fly.list(APP, { metadata: { [CREATE_KEY_METADATA]: key } }));
      await measure('secrets', () => fly.listSecretNames(APP));
      if (!machine) return;
      await measure('wait', () =>
        fly.wait(APP, machine.id, { timeoutMs: DEADLINE_MS, deadlineMs: DEADLINE_MS }),
      );
      await measure('get', () => fly.get(APP, machine.id));
      await measure('events', () => fly.listEvents(APP, machine.id));
      await measure('stop', () => fly.stop(APP, machine.id));
      await measure('destroy', () => fly.destroy(APP, machine.id, { force: true }));
    }

    const rounds = 24;
    const parallel = 6;
    for (let start = 0; start < rounds; start += parallel) {
      await Promise.all(Array.from({ length: parallel }, (_, j) => round(start + j)));
    }

    // Faults really happened, of every kind.
    const injected = emulator.faults.injected();
    for (const kind of ['rate-limit', 'server-error', 'bad-gateway', 'unavailable', 'reset']) {
      expect(injected[kind] ?? 0, kind).toBeGreaterThan(0);
    }

    for (const outcome of outcomes) {
      if (!outcome.ok) expect(outcome.code, outcome.call).toMatch(/^FLY_[A-Z_]+$/);
      // wait's own deadline is timeoutMs (+2 s for its last server answer), others DEADLINE_MS.
      const limit = outcome.call === 'wait' ? DEADLINE_MS + 2_000 : DEADLINE_MS;
      expect(outcome.elapsedMs, `${outcome.call} took ${outcome.elapsedMs} ms`).toBeLessThanOrEqual(
        limit + SLACK_MS,
      );
    }
    const succeeded = outcomes.filter((o) => o.ok).length;
    expect(succeeded / outcomes.length).toBeGreaterThan(0.8);

    // One create call, at most one machine (exactly one when the call said it succeeded).
    const machines = emulator.machines(APP);
    for (const { key, created } of createKeys) {
      const same = machines.filter(
        (m) => (m.config as { metadata?: Record<string, string> }).metadata?.[CREATE_KEY_METADATA] === key,
      );
      expect(same.length, key).toBeLessThanOrEqual(1);
      if (created) expect(same.length, key).toBe(1);
    }

    // Answers under faults still have Fly's shapes.
    expect(recorder.problems()).toEqual([]);
  }, 180_000);
});
