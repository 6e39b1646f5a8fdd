import { describe, expect, it } from 'vitest';
import { envMismatch } from '../../../src/diagnose/rules/env-mismatch.ts';
import { events, GOOD_ENV, input, machine, SECRET_VALUE } from '../fixtures.ts';

const { SUPABASE_SERVICE_KEY, ...withoutKey } = GOOD_ENV;

describe('ENV_MISMATCH', () => {
  it('the incident: SUPABASE_SERVICE_ROLE_KEY was sent where the runtime reads SUPABASE_SERVICE_KEY', () => {
    const m = machine({
      state: 'destroyed',
      env: { ...withoutKey, SUPABASE_SERVICE_ROLE_KEY: SUPABASE_SERVICE_KEY },
      events: [events.destroy(10), events.exit(11, 78), events.start(12), events.launch(14)],
    });
    const d = envMismatch(input({ machine: m }));
    expect(d?.code).toBe('ENV_MISMATCH');
    expect(d?.certainty).toBe('certain');
    expect(d?.summary).toContain('SUPABASE_SERVICE_KEY');
    expect(d?.evidence.map((e) => e.value)).toContain(
      'SUPABASE_SERVICE_KEY is missing (SUPABASE_SERVICE_ROLE_KEY is set: rename it to SUPABASE_SERVICE_KEY)',
    );
    expect(d?.fix).toContain('SUPABASE_SERVICE_ROLE_KEY → SUPABASE_SERVICE_KEY');
    // Names only: the key's value never reaches a diagnosis.
    expect(JSON.stringify(d)).not.toContain(SECRET_VALUE);
  });

  it('no false alarm: the right name plus a stray alias is fine', () => {
    const m = machine({ env: { ...GOOD_ENV, SUPABASE_SERVICE_ROLE_KEY: 'x' } });
    expect(envMismatch(input({ machine: m }))).toBeNull();
  });

  it('a variable held as an app secret counts as present', () => {
    const m = machine({ env: withoutKey });
    expect(envMismatch(input({ machine: m, secretNames: ['SUPABASE_SERVICE_KEY'] }))).toBeNull();
  });

  it('missing with no alias: certain when the secrets were listed, likely when Fly did not say', () => {
    const m = machine({ env: withoutKey });
    expect(envMismatch(input({ machine: m, secretNames: ['OTHER'] }))?.certainty).toBe('certain');
    const unsure = envMismatch(input({ machine: m, secretNames: undefined }));
    expect(unsure?.certainty).toBe('likely');
    expect(unsure?.evidence.some((e) => e.value === '(not listed by Fly)')).toBe(true);
  });

  it('leaves a missing MACHINE_ID to its own rule, and says nothing without a machine', () => {
    const { MACHINE_ID, ...noId } = GOOD_ENV;
    expect(envMismatch(input({ machine: machine({ env: noId }) }))).toBeNull();
    expect(envMismatch(input({ machine: null }))).toBeNull();
  });
});
