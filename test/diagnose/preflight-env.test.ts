import { describe, expect, it } from 'vitest';
import { preflightEnv } from '../../src/diagnose/preflight-env.ts';

const now = new Date('2026-03-01T12:00:00Z');

describe('preflightEnv: /vyx start refuses a machine that would miss a contract variable', () => {
  it('every required variable present: no refusal', () => {
    expect(preflightEnv(['MACHINE_ID', 'USER_ID', 'SUPABASE_URL', 'SUPABASE_SERVICE_KEY'], now)).toBeNull();
  });

  it('no key for the database: a certain ENV_MISMATCH naming the missing variable, and the fix', () => {
    const d = preflightEnv(['MACHINE_ID', 'USER_ID', 'SUPABASE_URL'], now);
    expect(d?.code).toBe('ENV_MISMATCH');
    expect(d?.certainty).toBe('certain');
    expect(d?.summary).toContain('I did not create it');
    expect(d?.evidence.length).toBeGreaterThan(0);
    expect(d?.evidence.every((e) => e.fact === 'env contract' && e.at === now.toISOString())).toBe(true);
    expect(d?.evidence.map((e) => e.value).join('\n')).toMatch(/SUPABASE_SERVICE_KEY/);
    expect(d?.fix).toContain('MACHINE_SUPABASE_SERVICE_KEY');
  });
});
