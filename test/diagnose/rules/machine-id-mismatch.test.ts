import { describe, expect, it } from 'vitest';
import { machineIdMismatch } from '../../../src/diagnose/rules/machine-id-mismatch.ts';
import { GOOD_ENV, input, machine } from '../fixtures.ts';

const { MACHINE_ID, ...noId } = GOOD_ENV;

describe('MACHINE_ID_MISMATCH', () => {
  it('incident 000: the machine booted without MACHINE_ID', () => {
    const d = machineIdMismatch(input({ machine: machine({ env: noId }), matchedBy: 'env_user_id' }));
    expect(d?.code).toBe('MACHINE_ID_MISMATCH');
    expect(d?.certainty).toBe('certain');
    expect(d?.summary).toContain('without MACHINE_ID');
    const facts = Object.fromEntries(d!.evidence.map((e) => [e.fact, e.value]));
    expect(facts['row machine_id']).toBe('vyx-63eea370');
    expect(facts['MACHINE_ID in config.env']).toBe('(missing)');
    expect(facts['matched by']).toBe('env USER_ID=user-1 (no stronger key matched)');
    expect(d?.fix).toContain('MACHINE_ID=vyx-63eea370');
  });

  it('incident 000’s own machine: MACHINE_ID=machine_<timestamp>, found by its name; names both ids and the key', () => {
    const d = machineIdMismatch(
      input({
        row: { fly_machine_id: null },
        machine: machine({ env: { ...GOOD_ENV, MACHINE_ID: 'machine_1759437443245' } }),
        matchedBy: 'name',
      }),
    );
    expect(d?.code).toBe('MACHINE_ID_MISMATCH');
    expect(d?.summary).toContain('MACHINE_ID=machine_1759437443245, not vyx-63eea370');
    const facts = Object.fromEntries(d!.evidence.map((e) => [e.fact, e.value]));
    expect(facts['row machine_id']).toBe('vyx-63eea370');
    expect(facts['MACHINE_ID in config.env']).toBe('machine_1759437443245');
    expect(facts['Fly machine id']).toBe('3d8d9e1bc42d89 (row has none)');
    expect(facts['matched by']).toMatch(/^the machine's name \(/);
  });

  it('another row’s id', () => {
    const d = machineIdMismatch(
      input({ machine: machine({ env: { ...GOOD_ENV, MACHINE_ID: 'machine_1759437443244' } }) }),
    );
    expect(d?.summary).toContain('MACHINE_ID=machine_1759437443244');
  });

  it('says nothing when the ids agree or there is no machine', () => {
    expect(machineIdMismatch(input())).toBeNull();
    expect(machineIdMismatch(input({ machine: null }))).toBeNull();
  });
});
