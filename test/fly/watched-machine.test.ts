import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MachineSchema } from '../../src/fly/fly-types.ts';
import { readWatchedMachine, watchedFields } from '../../src/fly/watched-machine.ts';
import { createFlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/fly/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;

// The watchers read listed machines without zod's per-field allocations; what they read must be
// exactly what the schema reads from the same fields.
describe('a listed machine read by hand, as the schema reads it', () => {
  const examples: Record<string, unknown>[] = [
    fixture('fly-machine-example-create-response.json'),
    fixture('fly-machine-example-get-with-exit-event.json'),
  ];
  const base = examples[1]!;
  const config = base.config as Record<string, unknown>;
  // Fly's nulls and empty strings, its `false` restart policy, maps with non-string values.
  const variants: Record<string, unknown>[] = [
    { ...base, config: null, events: null, name: '', region: null, host_status: 'unreachable' },
    { ...base, config: { ...config, env: null, metadata: { a: 1, b: null, c: { d: true } } } },
    { ...base, config: { ...config, restart: { policy: false, max_retries: null, extra: 1 }, guest: null } },
    {
      ...base,
      config: { ...config, restart: { policy: '' }, auto_destroy: null, guest: { memory_mb: 512, x: 'y' } },
    },
    { ...base, events: [{ type: 'exit', status: 'stopped', timestamp: 1, request: null, id: '' }] },
    { id: 'bare', state: 'started' },
  ];

  it('equals MachineSchema.parse(watchedFields(raw)) for Fly’s examples and their variants', () => {
    for (const raw of [...examples, ...variants]) {
      expect(readWatchedMachine(raw), String(raw.id)).toEqual(MachineSchema.parse(watchedFields(raw)));
    }
  });

  it('equals it for every kind of machine the emulator lists', async () => {
    const emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
    try {
      for (const state of ['created', 'started', 'stopped', 'destroyed'] as const)
        emulator.bulkCreate({
          count: 2,
          state,
          env: () => ({ MACHINE_ID: 'm', N: '1' }),
          metadata: () => ({ k: 'v' }),
        });
      const listed = emulator.machines('vyx-app');
      expect(listed.length).toBe(8);
      for (const raw of listed)
        expect(readWatchedMachine(raw)).toEqual(MachineSchema.parse(watchedFields(raw)));
    } finally {
      await emulator.close();
    }
  });

  it('gives up (null) where the schema fails: a field of the wrong type', () => {
    const wrong: Record<string, unknown>[] = [
      { ...base, id: 7 },
      { ...base, state: null },
      { ...base, config: { ...config, image: null } },
      { ...base, config: { ...config, restart: { policy: 'sometimes' } } },
      { ...base, config: { ...config, guest: { memory_mb: '512' } } },
      { ...base, events: [{ type: 'exit', status: 'stopped', timestamp: '1' }] },
      { ...base, events: {} },
    ];
    for (const raw of wrong) {
      expect(readWatchedMachine(raw)).toBeNull();
      expect(MachineSchema.safeParse(watchedFields(raw)).success).toBe(false);
    }
  });
});
