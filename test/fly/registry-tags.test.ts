import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryClient } from '../../src/fly/registry-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';

// The start dialog's image tags: `GET /v2/<repo>/tags/list` on the registry (the Fly emulator's),
// and what comes back when the registry cannot list them.
describe('registry tag listing', () => {
  let emulator: FlyEmulator;
  const hosts: string[] = [];
  beforeAll(async () => {
    emulator = await createFlyEmulator({ apps: { 'vyx-app': {} } });
  });
  afterAll(async () => {
    await emulator?.close();
  });
  const client = (token: string) =>
    createRegistryClient({
      token,
      baseUrlFor: (host) => {
        hosts.push(host);
        return emulator.baseUrl;
      },
    });

  it('lists the tags of the default image’s repository, sorted and bounded', async () => {
    const listed = await client(emulator.token).listTags('registry.fly.io/vyx-app:latest');
    expect(listed.status).toBe('listed');
    expect(listed.status === 'listed' && listed.tags).toContain('latest');
    const one = await client(emulator.token).listTags('registry.fly.io/vyx-app:latest', { limit: 1 });
    expect(one.status === 'listed' && one.tags).toHaveLength(1);
  });

  it('says why when it cannot list: refused credentials, an unknown repository, a registry not allowed', async () => {
    const refused = await client('wrong-token').listTags('registry.fly.io/vyx-app:latest');
    expect(refused).toMatchObject({ status: 'unknown', reason: expect.stringContaining('401') });
    const unknown = await client(emulator.token).listTags('registry.fly.io/no-such-app:latest');
    expect(unknown).toMatchObject({ status: 'unknown', reason: expect.stringContaining('NAME_UNKNOWN') });
    const before = hosts.length;
    const elsewhere = await client(emulator.token).listTags('ghcr.io/someone/app:latest');
    expect(elsewhere.status).toBe('unknown');
    // Never contacted: the policy allows registry.fly.io only.
    expect(hosts.length).toBe(before);
  });
});
