import { describe, expect, it } from 'vitest';
import { orphanMachine } from '../../../src/diagnose/rules/orphan-machine.ts';
import { machine, NOW } from '../fixtures.ts';

describe('ORPHAN_MACHINE', () => {
  it('a live machine with our metadata and no row', () => {
    const d = orphanMachine({
      machine: machine({ metadata: { vyx_machine_id: 'vyx-deadbeef', vyx_user_id: 'u9' } }),
      app: 'vyx-app',
      now: NOW,
    });
    expect(d?.code).toBe('ORPHAN_MACHINE');
    expect(d?.summary).toContain('belongs to vyx-deadbeef');
    expect(d?.evidence.find((e) => e.fact === 'metadata')?.value).toBe(
      'vyx_machine_id=vyx-deadbeef, vyx_user_id=u9',
    );
    expect(d?.fix).toContain('fly machine destroy 3d8d9e1bc42d89 -a vyx-app --force');
  });

  it('not for destroyed machines or machines that are not ours', () => {
    expect(orphanMachine({ machine: machine({ state: 'destroyed' }), app: 'vyx-app', now: NOW })).toBeNull();
    expect(orphanMachine({ machine: machine({ metadata: {} }), app: 'vyx-app', now: NOW })).toBeNull();
  });
});
