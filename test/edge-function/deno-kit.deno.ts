// Shared by the edge function's Deno tests: the setup the vitest side gives in VYX_EDGE_TEST, a few
// asserts of their own (no remote module such as jsr:@std/assert, no node: types to fetch), the
// function called as the web UI calls it, and reads of what it made.
import { METADATA_USER_ID } from '../../src/contract/machine-metadata.ts';
import { createHandler } from '../../supabase/functions/provision-machine/handler.ts';

export interface Setup {
  env: Record<string, string>;
  fly: { url: string; token: string; app: string };
  /** Users by the test that uses them: a uuid and a session token signed with the twin's JWT secret. */
  users: Record<string, { id: string; jwt: string }>;
  /** A token signed with another secret. */
  forgedJwt: string;
  /** A validly signed token whose subject is not a user id (Supabase Auth answers 400). */
  nonUserJwt: string;
}

export const assert = {
  ok(value: unknown, what = 'expected a truthy value') {
    if (!value) throw new Error(what);
  },
  equal(actual: unknown, expected: unknown, what = '') {
    if (actual !== expected)
      throw new Error(`${what} expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  },
  deepEqual(actual: unknown, expected: unknown, what = '') {
    const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
    if (a !== e) throw new Error(`${what} expected ${e}, got ${a}`);
  },
  match(text: string, pattern: RegExp) {
    if (!pattern.test(text)) throw new Error(`expected ${JSON.stringify(text)} to match ${pattern}`);
  },
};

export const setup = JSON.parse(Deno.env.get('VYX_EDGE_TEST') ?? 'null') as Setup;
export const quiet = () => {};

export async function start(env: Record<string, string>, jwt?: string, body: unknown = {}) {
  const handler = createHandler({ env, log: quiet });
  const res = await handler(
    new Request('http://127.0.0.1/functions/v1/provision-machine', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(jwt ? { authorization: `Bearer ${jwt}` } : {}) },
      body: JSON.stringify(body),
    }),
  );
  return { status: res.status, body: await res.json() };
}

export async function rpc(fn: string, args: Record<string, unknown>) {
  const res = await fetch(`${setup.env.SUPABASE_URL}/rest/v1/rpc/${fn}`, {
    method: 'POST',
    headers: {
      apikey: setup.env.SUPABASE_SERVICE_ROLE_KEY,
      authorization: `Bearer ${setup.env.SUPABASE_SERVICE_ROLE_KEY}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(args),
  });
  assert.equal(res.status, 200, `${fn}: ${res.status}`);
  return await res.json();
}

export async function flyMachinesOf(userId: string) {
  const res = await fetch(
    `${setup.fly.url}/v1/apps/${setup.fly.app}/machines?include_deleted=true&metadata.${METADATA_USER_ID}=${userId}`,
    { headers: { authorization: `Bearer ${setup.fly.token}` } },
  );
  assert.equal(res.status, 200);
  return (await res.json()) as Array<{
    id: string;
    name: string;
    state: string;
    config: { env: Record<string, string>; metadata: Record<string, string> };
  }>;
}

export async function nothingCreatedFor(userId: string) {
  assert.deepEqual(await rpc('vyx_list_machines', { p_user_id: userId }), [], 'no row');
  assert.deepEqual(await flyMachinesOf(userId), [], 'no Fly machine');
}
