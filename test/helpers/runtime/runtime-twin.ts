import { randomBytes } from 'node:crypto';
import { openEmbeddedDatabase } from '../../../src/local/supabase-twin/embedded-database.ts';
import { applyMigrations } from '../../../src/local/supabase-twin/migrations.ts';
import { createPostgresBackend } from '../../../src/local/supabase-twin/postgres-backend.ts';
import type { SqlBackend } from '../../../src/local/supabase-twin/sql-backend.ts';
import {
  type SupabaseGateway,
  startSupabaseGateway,
} from '../../../src/local/supabase-twin/supabase-gateway.ts';
import { projectKeys } from '../../../src/store/supabase-jwt.ts';
import { createVyxStore, type VyxStore } from '../../../src/store/vyx-store.ts';
import { createTestDatabase } from '../../../testkit/test-postgres.ts';
import type { BackendKind } from '../../helpers/store-backends.ts';
import { uniqueUser } from './runtime-process.ts';

/** The local Supabase twin for runtime tests, with a gateway that can be taken down and brought back on the same port. */
export interface RuntimeTwin {
  url: string;
  serviceKey: string;
  backend: SqlBackend;
  /** A store on the gateway (the bot's view). */
  store: VyxStore;
  gatewayDown(): Promise<void>;
  gatewayUp(): Promise<void>;
  /** A fresh `starting` row, optionally attached to a Fly machine id. */
  newMachine(flyId?: string): Promise<string>;
  /** The project's JWT secret and anon key (machines' own tokens). */
  jwtSecret: string;
  anonKey: string;
  /** The row, read straight from the database (works while the gateway is down). */
  row(machineId: string): Promise<Record<string, unknown>>;
  /** The row's status events, in order, read straight from the database. */
  statusEvents(machineId: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startRuntimeTwin(kind: BackendKind): Promise<RuntimeTwin> {
  const db = kind === 'postgres' ? await createTestDatabase('vyx_rt') : undefined;
  let backend: SqlBackend;
  if (db) {
    backend = createPostgresBackend(db.url);
    await applyMigrations(backend);
  } else {
    backend = (await openEmbeddedDatabase({ dataDir: null })).backend;
  }
  const serviceKey = `vyx-local-${randomBytes(24).toString('hex')}`;
  const jwtSecret = randomBytes(32).toString('hex');
  const { anonKey } = projectKeys(jwtSecret);
  const keys = { jwtSecret, apiKeys: [anonKey], secretKeys: [serviceKey] };
  let gateway: SupabaseGateway | undefined = await startSupabaseGateway({ backend, keys, port: 0 });
  const port = gateway.port;
  const url = gateway.url;
  const store = createVyxStore({ url, serviceKey });
  return {
    url,
    serviceKey,
    jwtSecret,
    anonKey,
    backend,
    store,
    async gatewayDown() {
      await gateway?.close();
      gateway = undefined;
    },
    async gatewayUp() {
      gateway ??= await startSupabaseGateway({ backend, keys, port });
    },
    async newMachine(flyId) {
      const { machine } = await store.beginProvision({
        userId: uniqueUser(),
        flyApp: 'vyx-app',
        region: 'ams',
        image: 'registry.fly.io/vyx-app:git-0123abc',
      });
      if (flyId) await store.attachFlyMachine(machine.machine_id, flyId, 'vyx-app');
      return machine.machine_id;
    },
    async row(machineId) {
      const { rows } = await backend.query('select * from cloud_machines where machine_id = $1', [machineId]);
      if (!rows[0]) throw new Error(`no row ${machineId}`);
      return rows[0] as Record<string, unknown>;
    },
    async statusEvents(machineId) {
      const { rows } = await backend.query(
        `select new_status from machine_events where machine_id = $1 and kind = 'status' order by id`,
        [machineId],
      );
      return rows.map((r) => String((r as { new_status: unknown }).new_status));
    },
    async close() {
      await gateway?.close();
      await backend.close();
      await db?.drop();
    },
  };
}
