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
    expect(facts['matched by']).toBe('env_user_id');
    expect(d?.fix).toContain('MACHINE_ID=vyx-63eea370');
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
