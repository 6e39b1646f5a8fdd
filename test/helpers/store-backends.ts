import pg from 'pg';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase } from '../../testkit/test-postgres.ts';
import { pushPlatformThenVyxbot } from './supabase-cli.ts';

export type BackendKind = 'pglite' | 'postgres';
export const BACKENDS: BackendKind[] = ['pglite', 'postgres'];

/** The platform's own cloud_machines before vyxbot, as the incidents show it (Supabase auth ids: uuid). */
export const PLATFORM_TABLE_SQL = (userIdType: 'text' | 'uuid') => `
  create table public.cloud_machines (
    machine_id text primary key,
    user_id ${userIdType} not null,
    status text not null default 'starting',
    updated_at timestamptz not null default now()
  );`;

/**
 * Where the store contract runs: the twin over PGlite and over Postgres with vyxbot's own table, and
 * over Postgres where the platform's table already existed with `user_id uuid`.
 */
export const STORE_VARIANTS = [
  { name: 'pglite, user_id text', kind: 'pglite', userIdType: 'text' },
  { name: 'postgres, user_id text', kind: 'postgres', userIdType: 'text' },
  { name: 'postgres, existing table with user_id uuid', kind: 'postgres', userIdType: 'uuid' },
  {
    name: 'postgres, pushed with the Supabase CLI beside the platform’s own migration',
    kind: 'postgres',
    userIdType: 'cli',
  },
] as const;

export interface StoreUnderTest {
  twin: SupabaseTwin;
  store: VyxStore;
  close(): Promise<void>;
}

/**
 * The local Supabase twin (gateway over PGlite in memory, or over a fresh real Postgres database) and
 * a store on it. `userIdType: 'uuid'` (Postgres only) first creates the platform's table with a uuid
 * user_id, as on the real vyx database, and then applies the migrations over it.
 */
export async function startStoreOn(
  kind: BackendKind,
  options: { userIdType?: 'text' | 'uuid' | 'cli' } = {},
): Promise<StoreUnderTest> {
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  // The platform's migration and then vyxbot's, both by the real Supabase CLI (user_id uuid).
  if (options.userIdType === 'cli') await pushPlatformThenVyxbot(db!.url);
  if (options.userIdType === 'uuid') {
    if (!db) throw new Error('the uuid platform table is set up on Postgres only');
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(PLATFORM_TABLE_SQL('uuid'));
    await c.end();
  }
  const twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db?.url });
  const store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
  return {
    twin,
    store,
    async close() {
      await twin.close();
      await db?.drop();
    },
  };
}
