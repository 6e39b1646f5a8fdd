import { describe, expect, it } from 'vitest';
import { diagnose } from '../../../src/diagnose/diagnose.ts';
import { neverCreated } from '../../../src/diagnose/rules/never-created.ts';
import { input } from '../fixtures.ts';

describe('NEVER_CREATED', () => {
  it('no Fly id on the row and no machine by any key: certain, its own code, a command as the fix', () => {
    const d = diagnose(input({ machine: null, row: { fly_machine_id: null }, matchedBy: undefined }));
    expect(d.code).toBe('NEVER_CREATED');
    expect(d.certainty).toBe('certain');
    expect(d.summary).toContain('No Fly machine was ever made for row vyx-63eea370');
    const facts = Object.fromEntries(d.evidence.map((e) => [e.fact, e.value]));
    expect(facts.fly_machine_id).toBe('(none recorded)');
    expect(facts['machines in vyx-app (destroyed included)']).toBe(
      'none with metadata vyx_machine_id=vyx-63eea370, name vyx-63eea370, env MACHINE_ID=vyx-63eea370 or env USER_ID=user-1',
    );
    expect(d.fix).toContain('/vyx start');
    expect(d.evidence.some((e) => e.fact === 'matched by')).toBe(false);
  });

  it('never said when a machine was found, or when the row recorded a Fly id (that is MACHINE_GONE)', () => {
    expect(neverCreated(input({ row: { fly_machine_id: null }, matchedBy: 'name' }))).toBeNull();
    expect(neverCreated(input({ machine: null }))).toBeNull();
    expect(diagnose(input({ machine: null })).code).toBe('MACHINE_GONE');
  });
});
