import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { signJwt } from '../../src/store/supabase-jwt.ts';

// The twin's Supabase Auth `GET /auth/v1/user`, which the edge function asks who is calling:
// GoTrue's statuses and error shapes, so the function is tried against what it will meet.
describe('the Supabase twin’s /auth/v1/user', () => {
  let twin: SupabaseTwin;
  beforeAll(async () => {
    twin = await startSupabaseTwin({ dataDir: null });
  });
  afterAll(async () => {
    await twin?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const userJwt = (claims: Record<string, unknown>, secret = twin.jwtSecret) =>
    signJwt(
      { role: 'authenticated', aud: 'authenticated', iat: now(), exp: now() + 3600, ...claims },
      secret,
    );
  async function getUser(headers: Record<string, string>, method = 'GET') {
    const res = await fetch(`${twin.url}/auth/v1/user`, { method, headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('answers the signed-in user for a valid session token', async () => {
    const id = randomUUID();
    const res = await getUser({
      apikey: twin.anonKey,
      authorization: `Bearer ${userJwt({ sub: id, email: 'ada@example.com' })}`,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id,
      aud: 'authenticated',
      role: 'authenticated',
      email: 'ada@example.com',
    });
  });

  it('wants the project’s apikey first, as the API gateway does', async () => {
    const token = `Bearer ${userJwt({ sub: randomUUID() })}`;
    expect(await getUser({ authorization: token })).toEqual({
      status: 401,
      body: { message: 'No API key found in request' },
    });
    expect((await getUser({ apikey: 'not-a-key', authorization: token })).status).toBe(401);
  });

  it('refuses a missing, forged, expired or subject-less token in GoTrue’s words', async () => {
    expect(await getUser({ apikey: twin.anonKey })).toEqual({
      status: 401,
      body: { code: 401, error_code: 'no_authorization', msg: 'This endpoint requires a Bearer token' },
    });
    const forged = await getUser({
      apikey: twin.anonKey,
      authorization: `Bearer ${userJwt({ sub: randomUUID() }, randomBytes(32).toString('hex'))}`,
    });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ code: 403, error_code: 'bad_jwt' });
    const expired = await getUser({
      apikey: twin.anonKey,
      authorization: `Bearer ${userJwt({ sub: randomUUID(), iat: now() - 7200, exp: now() - 3600 })}`,
    });
    expect(expired.status).toBe(403);
    expect(String(expired.body.msg)).toMatch(/token is expired/);
    // The anon key is a valid JWT but names no user.
    const anon = await getUser({ apikey: twin.anonKey, authorization: `Bearer ${twin.anonKey}` });
    expect(anon).toEqual({
      status: 403,
      body: { code: 403, error_code: 'bad_jwt', msg: 'invalid claim: missing sub claim' },
    });
    const notUuid = await getUser({
      apikey: twin.anonKey,
      authorization: `Bearer ${userJwt({ sub: 'vyx-admin' })}`,
    });
    expect(notUuid.status).toBe(400);
  });
});
