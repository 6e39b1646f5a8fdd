import { describe, expect, it } from 'vitest';
import {
  machineCredentialProblems,
  mintMachineToken,
  projectKeys,
  signJwt,
  verifyJwt,
} from '../../src/store/supabase-jwt.ts';

const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

describe('Supabase JWTs', () => {
  it('verifies what it signs, and refuses another secret, alg none, tampering and expiry', () => {
    const t = signJwt({ role: 'anon', exp: 2_000_000_000 }, SECRET);
    expect(verifyJwt(t, SECRET, 1_900_000_000)).toEqual({
      ok: true,
      claims: { role: 'anon', exp: 2_000_000_000 },
    });
    expect(verifyJwt(t, `${SECRET}x`)).toMatchObject({ ok: false, reason: 'signature' });
    const [h, b] = t.split('.');
    const tampered = `${h}.${Buffer.from('{"role":"service_role"}').toString('base64url')}.${t.split('.')[2]}`;
    expect(verifyJwt(tampered, SECRET)).toMatchObject({ ok: false, reason: 'signature' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${b}.`;
    expect(verifyJwt(none, SECRET)).toMatchObject({ ok: false });
    expect(verifyJwt(t, SECRET, 2_000_000_031)).toMatchObject({ ok: false, reason: 'expired' });
    expect(verifyJwt('not-a-jwt', SECRET)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a machine token names its role and machine', () => {
    const v = verifyJwt(mintMachineToken('vyx-63eea370', SECRET), SECRET);
    expect(v).toMatchObject({ ok: true, claims: { role: 'vyx_machine', machine_id: 'vyx-63eea370' } });
  });

  it('names what is wrong with an operator’s secret and anon key, never their values', () => {
    const { anonKey, serviceKey } = projectKeys(SECRET);
    expect(machineCredentialProblems(undefined, undefined)).toEqual([]);
    expect(machineCredentialProblems(SECRET, anonKey)).toEqual([]);
    expect(machineCredentialProblems(SECRET, undefined)).toEqual([
      'SUPABASE_ANON_KEY is missing: it is required with SUPABASE_JWT_SECRET',
    ]);
    expect(machineCredentialProblems(undefined, anonKey)[0]).toContain('SUPABASE_JWT_SECRET is missing');
    expect(machineCredentialProblems('short', anonKey)[0]).toContain('at least 32 characters');
    const wrong = machineCredentialProblems(`${SECRET}-other`, anonKey);
    expect(wrong[0]).toContain('signed with SUPABASE_JWT_SECRET');
    expect(machineCredentialProblems(SECRET, serviceKey)[0]).toContain('not the service_role key');
    for (const p of [...wrong, ...machineCredentialProblems(SECRET, serviceKey)]) {
      expect(p).not.toContain(SECRET);
      expect(p).not.toContain(anonKey);
    }
  });
});
