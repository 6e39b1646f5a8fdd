import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpStatusForSqlState } from '../../src/local/supabase-twin/postgrest-errors.ts';
import { BACKENDS, type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// Conformance with PostgREST's documented answers (functions.rst, errors.rst, Error.hs, RpcSpec.hs).
interface ErrorBody {
  code: string;
  message: string;
  details: string | null;
  hint: string | null;
}
const errorOf = async (r: Response) => (await r.json()) as ErrorBody;

const FIXTURE_SQL = `
  create table gw_things (id int primary key, name text);
  grant all on gw_things to service_role;
  create function gw_add(a int, b int) returns int language sql immutable as $$ select a + b $$;
  create function gw_things_named(prefix text default 't') returns setof gw_things language sql stable as
    $$ select id, prefix || name from gw_things order by id $$;
  create function gw_table(n int) returns table (i int, sq int) language sql immutable as
    $$ select i, i * i from generate_series(1, n) i $$;
  create function gw_one(id int) returns gw_things language sql stable as $$ select id, 'one' $$;
  create function gw_void(id int, name text) returns void language sql volatile as
    $$ insert into gw_things values (id, name) $$;
  create function gw_raise(what text) returns int language plpgsql as
    $$ begin raise exception 'nothing matched %', what using hint = 'check it'; end $$;
  create function gw_teapot() returns int language plpgsql as
    $$ begin raise sqlstate 'PT418' using message = 'short and stout'; end $$;
  create function gw_echo_json(jsonb) returns jsonb language sql immutable as $$ select $1 $$;
  create function gw_arrays(ids int[], tags text[]) returns int language sql immutable as
    $$ select coalesce(array_length(ids, 1), 0) + coalesce(array_length(tags, 1), 0) $$;
  create function gw_whoami() returns text language sql stable as $$ select current_user::text $$;
`;

describe.each(BACKENDS)('local Supabase gateway on %s', (kind) => {
  let s: StoreUnderTest;
  let rpc: (fn: string, body?: unknown, init?: RequestInit & { key?: string | null }) => Promise<Response>;

  beforeAll(async () => {
    s = await startStoreOn(kind);
    await s.twin.backend.transaction((tx) => tx.exec(FIXTURE_SQL));
    rpc = (fn, body, init = {}) => {
      const key = init.key === undefined ? s.twin.serviceKey : init.key;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (key !== null) {
        headers.apikey = key;
        headers.authorization = `Bearer ${key}`;
      }
      return fetch(`${s.twin.url}/rest/v1/rpc/${fn}`, {
        method: 'POST',
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        ...init,
      });
    };
  });
  afterAll(async () => {
    await s?.close();
  });

  it('binds JSON keys to named arguments in any order and returns a scalar bare', async () => {
    const r = await rpc('gw_add', { b: 2, a: 40 });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(await r.json()).toBe(42);
  });

  it('returns a set as an array of objects, RETURNS TABLE too, and a composite as an object', async () => {
    expect((await rpc('gw_void', { id: 1, name: 'a' })).status).toBe(204);
    expect((await rpc('gw_void', { id: 2, name: 'b' })).status).toBe(204);
    const set = await rpc('gw_things_named', { prefix: 'x-' });
    expect(await set.json()).toEqual([
      { id: 1, name: 'x-a' },
      { id: 2, name: 'x-b' },
    ]);
    expect(await (await rpc('gw_things_named', {})).json()).toEqual([
      { id: 1, name: 'ta' },
      { id: 2, name: 'tb' },
    ]);
    expect(await (await rpc('gw_table', { n: 3 })).json()).toEqual([
      { i: 1, sq: 1 },
      { i: 2, sq: 4 },
      { i: 3, sq: 9 },
    ]);
    expect(await (await rpc('gw_table', { n: 0 })).json()).toEqual([]);
    expect(await (await rpc('gw_one', { id: 7 })).json()).toEqual({ id: 7, name: 'one' });
  });

  it('answers void with 204 and no body', async () => {
    const r = await rpc('gw_void', { id: 3, name: 'c' });
    expect(r.status).toBe(204);
    expect(await r.text()).toBe('');
    expect(r.headers.get('content-type')).toBeNull();
  });

  it('maps P0001 to 400 with PostgREST’s error body', async () => {
    const r = await rpc('gw_raise', { what: 'vyx-1' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      code: 'P0001',
      message: 'nothing matched vyx-1',
      details: null,
      hint: 'check it',
    });
  });

  it('maps a unique violation (23505) to 409', async () => {
    const r = await rpc('gw_void', { id: 1, name: 'dup' });
    expect(r.status).toBe(409);
    const body = await errorOf(r);
    expect(body.code).toBe('23505');
    expect(body.details).toContain('(id)=(1)');
  });

  it('maps PTnnn to status nnn', async () => {
    const r = await rpc('gw_teapot', {});
    expect(r.status).toBe(418);
    expect((await errorOf(r)).code).toBe('PT418');
  });

  it('answers a missing function, or unknown or missing arguments, with 404 PGRST202', async () => {
    for (const [fn, body] of [
      ['gw_nope', { a: 1 }],
      ['gw_add', { a: 1 }],
      ['gw_add', { a: 1, b: 2, c: 3 }],
    ] as const) {
      const r = await rpc(fn, body);
      expect(r.status).toBe(404);
      const err = await errorOf(r);
      expect(err.code).toBe('PGRST202');
      expect(err.message).toContain(`public.${fn}`);
    }
  });

  it('finds a function created after start without a schema reload', async () => {
    await s.twin.backend.query(`create function gw_late() returns text language sql as $$ select 'late' $$`);
    expect(await (await rpc('gw_late', {})).json()).toBe('late');
  });

  it('refuses a wrong or missing key with 401 and runs nothing', async () => {
    const wrong = await rpc('gw_void', { id: 99, name: 'x' }, { key: 'nope' });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).message).toBe('Invalid API key');
    const none = await rpc('gw_void', { id: 99, name: 'x' }, { key: null });
    expect(none.status).toBe(401);
    const { rows } = await s.twin.backend.query('select count(*)::int as n from gw_things where id = 99');
    expect(rows[0]?.n).toBe(0);
  });

  it('runs requests as service_role', async () => {
    expect(await (await rpc('gw_whoami', {})).json()).toBe('service_role');
  });

  it('passes a whole body to a single unnamed jsonb parameter, and JSON arrays to SQL arrays', async () => {
    expect(await (await rpc('gw_echo_json', { any: ['thing', 1] })).json()).toEqual({ any: ['thing', 1] });
    expect(await (await rpc('gw_arrays', { ids: [1, 2, 3], tags: ['a'] })).json()).toBe(4);
  });

  it('serves GET for read-only functions and refuses writes over GET with 405', async () => {
    const ok = await fetch(`${s.twin.url}/rest/v1/rpc/gw_add?a=1&b=2`, {
      headers: { apikey: s.twin.serviceKey },
    });
    expect(await ok.json()).toBe(3);
    const arrays = await fetch(`${s.twin.url}/rest/v1/rpc/gw_arrays?ids=%7B1%2C2%7D&tags=%7Ba%7D`, {
      headers: { apikey: s.twin.serviceKey },
    });
    expect(await arrays.json()).toBe(3);
    const write = await fetch(`${s.twin.url}/rest/v1/rpc/gw_void?id=50&name=w`, {
      headers: { apikey: s.twin.serviceKey },
    });
    expect(write.status).toBe(405);
    expect((await errorOf(write)).code).toBe('25006');
  });

  it('answers bad JSON with 400 PGRST102, other verbs with 405, unknown tables and paths with 404', async () => {
    const bad = await rpc('gw_add', '{not json');
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe('PGRST102');
    const put = await rpc('gw_add', { a: 1, b: 1 }, { method: 'PUT' });
    expect(put.status).toBe(405);
    const table = await fetch(`${s.twin.url}/rest/v1/no_such_table`, {
      headers: { apikey: s.twin.serviceKey },
    });
    expect(table.status).toBe(404);
    expect((await errorOf(table)).code).toBe('PGRST205');
    const path = await fetch(`${s.twin.url}/rest/v1/cloud_machines/extra`, {
      headers: { apikey: s.twin.serviceKey },
    });
    expect(path.status).toBe(404);
    expect((await errorOf(path)).code).toBe('PGRST125');
  });

  it('refuses a schema that is not exposed with 406', async () => {
    const r = await rpc(
      'gw_add',
      { a: 1, b: 1 },
      { headers: { apikey: s.twin.serviceKey, 'content-profile': 'private' } },
    );
    expect(r.status).toBe(406);
    expect((await errorOf(r)).code).toBe('PGRST106');
  });
});

describe('SQLSTATE → HTTP map', () => {
  it('follows PostgREST’s Error.hs', () => {
    const cases: [string, number][] = [
      ['P0001', 400],
      ['P0002', 500],
      ['23505', 409],
      ['23503', 409],
      ['23502', 400],
      ['22023', 400],
      ['42883', 404],
      ['42P01', 404],
      ['42501', 403],
      ['25006', 405],
      ['08006', 503],
      ['53300', 503],
      ['53400', 500],
      ['57P01', 503],
      ['40001', 500],
      ['XX000', 500],
      ['PT409', 409],
      ['21000', 500],
    ];
    for (const [code, status] of cases) expect([code, httpStatusForSqlState(code)]).toEqual([code, status]);
    expect(httpStatusForSqlState('42501', false)).toBe(401);
  });
});
