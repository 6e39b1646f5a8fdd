import { describe, expect, it } from 'vitest';
import { machineGone } from '../../../src/diagnose/rules/machine-gone.ts';
import { events, input, machine } from '../fixtures.ts';

describe('MACHINE_GONE', () => {
  it('destroyed on Fly while the row says starting, image fine', () => {
    const m = machine({
      state: 'destroyed',
      events: [events.destroy(20), events.exit(21, 0), events.start(60)],
    });
    const d = machineGone(input({ machine: m }));
    expect(d?.code).toBe('MACHINE_GONE');
    expect(d?.certainty).toBe('certain');
    expect(d?.summary).toContain('3d8d9e1bc42d89 is destroyed');
    expect(d?.evidence.map((e) => e.fact)).toEqual(
      expect.arrayContaining(['auto_destroy', 'recent events', 'image']),
    );
  });

  it('Fly answers 404 for the recorded id', () => {
    const d = machineGone(input({ machine: null }));
    expect(d?.summary).toContain('gone (Fly answers 404)');
  });

  it('no Fly id recorded and no machine: not this code (NEVER_CREATED says it)', () => {
    expect(machineGone(input({ machine: null, row: { fly_machine_id: null } }))).toBeNull();
  });

  it('says nothing while the machine exists', () => {
    expect(machineGone(input())).toBeNull();
    expect(machineGone(input({ machine: machine({ state: 'stopped' }) }))).toBeNull();
  });
});
