import { describe, expect, it } from 'vitest';
import { knownSecretValues, scrubSecrets } from '../../src/evidence/scrub-secrets.ts';
import { secret } from '../helpers/secrets.ts';

describe('scrubSecrets', () => {
  it('takes out known values wherever they appear, and secret shapes whoever set them', () => {
    const key = secret('service-key');
    const pw = secret('pw');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
    const lines = [
      `using ${key} now`,
      `DB_PASSWORD=${pw}`,
      `"api_token": "${pw}"`,
      `Authorization: Bearer ${pw}`,
      `token ${jwt}`,
      `postgres://app:${pw}@db:5432/x`,
      'slack xoxb-1234567890-abcdefghij',
      'FlyV1 fm2_lJPECAAAAAAAAMqaxBAQabcdefghijk',
    ];
    const out = scrubSecrets(lines.join('\n'), [key]);
    for (const value of [key, pw, jwt, 'xoxb-1234567890', 'fm2_lJPECAAAA']) expect(out).not.toContain(value);
    expect(out).toContain('DB_PASSWORD=[redacted]');
    expect(out).toContain('postgres://[redacted]@db:5432/x');
  });

  it('leaves ordinary lines alone, and short known values to the shapes', () => {
    const line = '[Main] Configuration: Machine ID: machine_1759437443244 region=ams exit code 1';
    expect(scrubSecrets(line, ['ams', 'on'])).toBe(line);
  });

  it("a machine's secret env values are known by their names", () => {
    expect(knownSecretValues({ SUPABASE_SERVICE_KEY: 'k1', MACHINE_ID: 'm', DB_PASSWORD: 'p' })).toEqual([
      'k1',
      'p',
    ]);
  });
});
