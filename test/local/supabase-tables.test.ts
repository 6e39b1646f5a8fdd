import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/store/supabase-jwt.ts';
import { BACKENDS, type StoreUnderTest, startStoreOn } from '../helpers/store-backends.ts';

// supabase-js `.from(table)` against the twin, with PostgREST's answers (postgrest Response.hs,
// RangeQuery.contentRangeH, UpdateSpec/DeleteSpec/InsertSpec) and Supabase's keys and roles.
const FIXTURE_SQL = `
  create table tb_things (id int primary key, owner uuid not null, name text, score int, tag text);
  grant select, insert, update, delete on tb_things to service_role;
  create table tb_notes (id serial primary key, sub text not null, body text);
  alter table tb_notes enable row level security;
  grant select, insert on tb_notes to authenticated;
  grant usage on sequence tb_notes_id_seq to authenticated;
  create policy tb_notes_own on tb_notes for all to authenticated
    using (sub = current_setting('request.jwt.claims', true)::json->>'sub')
    with check (sub = current_setting('request.jwt.claims', true)::json->>'sub');
  grant all on tb_notes to service_role;
  grant usage, select on sequence tb_notes_id_seq to service_role;
  create function tb_settings() returns jsonb language sql stable as $$
    select jsonb_build_object('role', current_user, 'method', current_setting('request.method', true),
      'path', current_setting('request.path', true),
      'claims', current_setting('request.jwt.claims', true)::jsonb,
      'apikey', current_setting('request.headers', true)::jsonb->>'apikey' is not null) $$;
  grant execute on function tb_settings() to anon, authenticated, service_role;
`;
const A = '63eea370-0000-4000-8000-000000000001';
const B = '63eea370-0000-4000-8000-000000000002';

describe.each(BACKENDS)('Supabase twin table endpoints on %s', (kind) => {
  let s: StoreUnderTest;
  let sb: SupabaseClient;
  const client = (key: string, bearer?: string) =>
    createClient(s.twin.url, key, {
      auth: { persistSession: false, autoRefreshToken: false },
      ...(bearer ? { global: { headers: { Authorization: `Bearer ${bearer}` } } } : {}),
    });
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${s.twin.url}/rest/v1/${path}`, {
      ...init,
      headers: {
        apikey: s.twin.serviceKey,
        'content-type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    });

  beforeAll(async () => {
    s = await startStoreOn(kind);
    await s.twin.backend.transaction((tx) => tx.exec(FIXTURE_SQL));
    sb = client(s.twin.serviceKey);
    const { error, status } = await sb.from('tb_things').insert([
      { id: 1, owner: A, name: 'one', score: 10, tag: 'x' },
      { id: 2, owner: A, name: 'two', score: 20, tag: null },
      { id: 3, owner: B, name: 'three', score: 30, tag: 'y' },
    ]);
    expect(error).toBeNull();
    expect(status).toBe(201);
  });
  afterAll(async () => {
    await s?.close();
  });

  it('selects with eq, neq, in, is, gt, lt (a uuid column compares as uuid), order and count=exact', async () => {
    const ids = async (q: PromiseLike<{ data: { id: number }[] | null; error: unknown }>) => {
      const { data, error } = await q;
      expect(error).toBeNull();
      return data!.map((r) => r.id);
    };
    expect(await ids(sb.from('tb_things').select('id').eq('owner', A).order('id'))).toEqual([1, 2]);
    expect(await ids(sb.from('tb_things').select('id').neq('owner', A))).toEqual([3]);
    expect(await ids(sb.from('tb_things').select('id').in('name', ['one', 'three']).order('id'))).toEqual([
      1, 3,
    ]);
    expect(await ids(sb.from('tb_things').select('id').is('tag', null))).toEqual([2]);
    expect(await ids(sb.from('tb_things').select('id').gt('score', 10).lt('score', 30))).toEqual([2]);
    expect(await ids(sb.from('tb_things').select('id').order('score', { ascending: false }))).toEqual([
      3, 2, 1,
    ]);

    const counted = await sb.from('tb_things').select('id, name', { count: 'exact' }).eq('owner', A).limit(1);
    expect(counted.count).toBe(2);
    expect(counted.status).toBe(206);
    expect(counted.data).toEqual([{ id: 1, name: 'one' }]);
    const r = await raw(`tb_things?select=id&owner=eq.${A}`, { headers: { prefer: 'count=exact' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-range')).toBe('0-1/2');
    const none = await raw('tb_things?select=id&id=eq.99', { headers: { prefer: 'count=exact' } });
    expect(none.headers.get('content-range')).toBe('*/0');
    expect(await none.json()).toEqual([]);

    const bad = await sb.from('tb_things').select('id').eq('nope', 1);
    expect(bad.status).toBe(400);
    expect(bad.error?.code).toBe('42703');
  });

  it('.single() gives the object for one row and 406 PGRST116 for none', async () => {
    const one = await sb.from('tb_things').select('name').eq('id', 1).single();
    expect(one.data).toEqual({ name: 'one' });
    const none = await sb.from('tb_things').select('name').eq('id', 99).single();
    expect(none.status).toBe(406);
    expect(none.error).toMatchObject({ code: 'PGRST116', details: 'The result contains 0 rows' });
  });

  it('an update that matches nothing is success with no rows: 204, data null, count 0 when asked', async () => {
    const plain = await sb.from('tb_things').update({ name: 'zzz' }).eq('id', 99);
    expect(plain).toMatchObject({ status: 204, data: null, error: null, count: null });
    const r = await raw('tb_things?id=eq.99', { method: 'PATCH', body: '{"name":"zzz"}' });
    expect(r.status).toBe(204);
    expect(r.headers.get('content-range')).toBe('*/*');
    const selected = await sb.from('tb_things').update({ name: 'zzz' }).eq('id', 99).select();
    expect(selected).toMatchObject({ status: 200, data: [], error: null });
    const counted = await sb.from('tb_things').update({ name: 'zzz' }, { count: 'exact' }).eq('id', 99);
    expect(counted).toMatchObject({ status: 204, count: 0, error: null });
    const single = await sb.from('tb_things').update({ name: 'zzz' }).eq('id', 99).select().single();
    expect(single.status).toBe(406);
    expect(single.error?.code).toBe('PGRST116');
  });

  it('updates with return=minimal and representation; .single() on two rows is 406 and changes nothing', async () => {
    const r = await raw(`tb_things?owner=eq.${A}`, { method: 'PATCH', body: '{"tag":"t"}' });
    expect(r.status).toBe(204);
    expect(r.headers.get('content-range')).toBe('0-1/*');
    const rep = await sb.from('tb_things').update({ score: 11 }).eq('id', 1).select('id, score');
    expect(rep).toMatchObject({ status: 200, data: [{ id: 1, score: 11 }] });
    const two = await sb.from('tb_things').update({ name: 'both' }).eq('owner', A).select().single();
    expect(two.status).toBe(406);
    expect(two.error?.details).toBe('The result contains 2 rows');
    const { data } = await sb.from('tb_things').select('name').eq('owner', A).order('id');
    expect(data).toEqual([{ name: 'one' }, { name: 'two' }]); // rolled back
  });

  it('inserts (minimal and representation), refuses a duplicate with 409 23505, upserts 201/200, deletes', async () => {
    const minimal = await raw('tb_things', { method: 'POST', body: JSON.stringify({ id: 10, owner: B }) });
    expect(minimal.status).toBe(201);
    expect(await minimal.text()).toBe('');
    expect(minimal.headers.get('content-range')).toBe('*/*');
    const rep = await sb
      .from('tb_things')
      .insert({ id: 11, owner: B, name: 'eleven' })
      .select('id, name')
      .single();
    expect(rep).toMatchObject({ status: 201, data: { id: 11, name: 'eleven' } });
    const dup = await sb.from('tb_things').insert({ id: 11, owner: B });
    expect(dup.status).toBe(409);
    expect(dup.error?.code).toBe('23505');
    const unknown = await sb.from('tb_things').insert({ id: 12, owner: B, nope: 1 });
    expect(unknown.status).toBe(400);
    expect(unknown.error?.code).toBe('PGRST204');

    const updated = await sb.from('tb_things').upsert({ id: 11, owner: B, name: 'ELEVEN' }).select('name');
    expect(updated).toMatchObject({ status: 200, data: [{ name: 'ELEVEN' }] });
    const inserted = await sb.from('tb_things').upsert({ id: 12, owner: B, name: 'twelve' }).select('name');
    expect(inserted).toMatchObject({ status: 201, data: [{ name: 'twelve' }] });
    const ignored = await sb
      .from('tb_things')
      .upsert({ id: 12, owner: B, name: 'no' }, { ignoreDuplicates: true })
      .select('name');
    expect(ignored.data).toEqual([]);

    const del = await sb.from('tb_things').delete({ count: 'exact' }).in('id', [10, 11, 12]);
    expect(del).toMatchObject({ status: 204, count: 3, error: null });
    const again = await sb.from('tb_things').delete().eq('id', 10).select();
    expect(again).toMatchObject({ status: 200, data: [] });
  });

  it('the anon key runs as anon under Postgres grants; a signed user token runs under RLS with its claims', async () => {
    const anon = client(s.twin.anonKey);
    const denied = await anon.from('cloud_machines').select('*');
    expect(denied.status).toBe(401);
    expect(denied.error?.code).toBe('42501');
    const write = await anon.from('cloud_machines').update({ status: 'running' }).eq('machine_id', 'x');
    expect(write.status).toBe(401);
    expect((await sb.from('cloud_machines').select('machine_id').limit(1)).error).toBeNull();

    const token = (sub: string) =>
      signJwt({ role: 'authenticated', sub, exp: Math.floor(Date.now() / 1000) + 600 }, s.twin.jwtSecret);
    const alice = client(s.twin.anonKey, token('alice'));
    const bob = client(s.twin.anonKey, token('bob'));
    expect((await alice.from('tb_notes').insert({ sub: 'alice', body: 'a' })).status).toBe(201);
    const forged = await bob.from('tb_notes').insert({ sub: 'alice', body: 'b' });
    expect(forged.status).toBe(403);
    expect(forged.error?.code).toBe('42501');
    expect((await bob.from('tb_notes').select('body')).data).toEqual([]);
    expect((await alice.from('tb_notes').select('body')).data).toEqual([{ body: 'a' }]);

    const settings = await alice.rpc('tb_settings');
    expect(settings.data).toMatchObject({
      role: 'authenticated',
      method: 'POST',
      path: '/rest/v1/rpc/tb_settings',
      claims: { role: 'authenticated', sub: 'alice' },
      apikey: true,
    });
  });

  it('refuses unknown apikeys, forged, expired and alg:none tokens with 401 and runs nothing', async () => {
    const unknown = await client('not-a-key').from('tb_things').select('id');
    expect(unknown.status).toBe(401);
    const forgedSecret = signJwt({ role: 'service_role' }, 'not-the-secret');
    const forged = await client(s.twin.anonKey, forgedSecret).from('tb_things').select('id');
    expect(forged).toMatchObject({ status: 401, error: { code: 'PGRST301' } });
    const expired = signJwt(
      { role: 'service_role', exp: Math.floor(Date.now() / 1000) - 3600 },
      s.twin.jwtSecret,
    );
    const old = await client(s.twin.anonKey, expired).from('tb_things').delete().eq('id', 1);
    expect(old).toMatchObject({ status: 401, error: { code: 'PGRST303' } });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"service_role"}').toString('base64url')}.`;
    expect((await client(s.twin.anonKey, none).from('tb_things').select('id')).status).toBe(401);
    expect((await sb.from('tb_things').select('id', { count: 'exact' })).count).toBe(3);
  });
});
