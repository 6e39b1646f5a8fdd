import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVyxError, type VyxError } from '../../src/errors/vyx-error.ts';
import { createFlyMachinesClient } from '../../src/fly/machines-client.ts';
import { createFlyEmulator, type FlyEmulator } from '../../src/local/fly-emulator/fly-emulator.ts';

const APP = 'vyx-app';

async function rejection(promise: Promise<unknown>): Promise<VyxError> {
  try {
    await promise;
  } catch (error) {
    if (isVyxError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

// Fly's machine leases through the client, against the emulator's: the envelope, 409 while held,
// the nonce that lets the holder (and only the holder) change the machine, and expiry.
describe('machine leases', () => {
  let emulator: FlyEmulator;
  let clock = Date.parse('2026-12-01T12:00:00Z');
  const fly = () => createFlyMachinesClient({ baseUrl: emulator.baseUrl, token: emulator.token });
  let id: string;
  beforeAll(async () => {
    emulator = await createFlyEmulator({ seed: 3, leaseOwner: 'ops@example.com', now: () => clock });
    [id] = emulator.bulkCreate({ app: APP, count: 1 }) as [string];
  });
  afterAll(async () => {
    await emulator?.close();
  });

  it('held: others are refused with who holds it; the holder changes the machine with its nonce', async () => {
    const a = fly();
    const b = fly();
    expect(await a.getLease(APP, id)).toBeUndefined();
    const lease = await a.acquireLease(APP, id, { ttlSeconds: 30, description: 'replica a restart' });
    expect(lease.nonce).toMatch(/^[0-9a-f]{12}$/);
    expect(lease.owner).toBe('ops@example.com');
    expect(lease.expiresAt).toBe(Math.floor((clock + 30_000) / 1000) * 1000);

    const held = await rejection(b.acquireLease(APP, id, { ttlSeconds: 30, description: 'replica b' }));
    expect(held.code).toBe('FLY_LEASE_HELD');
    expect(String(held.details?.holder)).toMatch(
      /^ops@example\.com \(replica a restart\) until 12:00:30 UTC$/,
    );

    // Without the nonce Fly refuses the change; with it, the change goes through.
    expect((await rejection(b.stop(APP, id))).code).toBe('FLY_CONFLICT');
    expect((await rejection(b.destroy(APP, id, { force: true }))).code).toBe('FLY_CONFLICT');
    await a.stop(APP, id, { leaseNonce: lease.nonce });
    // Only the holder may release it.
    expect((await rejection(b.releaseLease(APP, id, 'not-the-nonce'))).code).toBe('FLY_CONFLICT');
    await a.releaseLease(APP, id, lease.nonce);
    expect(await a.getLease(APP, id)).toBeUndefined();
    await b.start(APP, id);
  });

  it('a lease whose holder died expires after its TTL', async () => {
    const a = fly();
    await a.acquireLease(APP, id, { ttlSeconds: 5, description: 'crashed replica' });
    expect((await rejection(a.stop(APP, id))).code).toBe('FLY_CONFLICT');
    clock += 6_000;
    expect(await a.getLease(APP, id)).toBeUndefined();
    const next = await a.acquireLease(APP, id, { ttlSeconds: 5, description: 'next' });
    expect(next.description).toBe('next');
  });

  it('fly-go sends the TTL as a query parameter; a bad TTL is refused; a missing machine is 404', async () => {
    const url = `${emulator.baseUrl}/v1/apps/${APP}/machines/${id}/lease`;
    const auth = { authorization: `Bearer ${emulator.token}` };
    clock += 60_000;
    const viaQuery = await fetch(`${url}?ttl=7`, { method: 'POST', headers: auth });
    expect(viaQuery.status).toBe(201);
    const body = (await viaQuery.json()) as { status: string; data: { expires_at: number } };
    expect(body.status).toBe('success');
    expect(body.data.expires_at).toBe(Math.floor((clock + 7_000) / 1000));
    clock += 8_000;
    const bad = await fetch(url, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ttl: 'soon' }),
    });
    expect(bad.status).toBe(400);
    expect((await rejection(fly().getLease(APP, 'd8d8d8d8d8d8d8'))).code).toBe('FLY_NOT_FOUND');
    expect(
      (await rejection(fly().acquireLease(APP, 'd8d8d8d8d8d8d8', { ttlSeconds: 5, description: '' }))).code,
    ).toBe('FLY_NOT_FOUND');
  });
});
