import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase } from './test-postgres.ts';

export type BackendKind = 'pglite' | 'postgres';
export const BACKENDS: BackendKind[] = ['pglite', 'postgres'];

export interface StoreUnderTest {
  twin: SupabaseTwin;
  store: VyxStore;
  close(): Promise<void>;
}

/** The local Supabase twin (gateway over PGlite in memory, or over a fresh real Postgres database) and a store on it. */
export async function startStoreOn(kind: BackendKind): Promise<StoreUnderTest> {
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
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
