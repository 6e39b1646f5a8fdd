import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectKeys, verifyJwt } from '../../store/supabase-jwt.ts';
import { type EmbeddedDatabase, openEmbeddedDatabase } from './embedded-database.ts';
import { applyMigrations, type MigrationResult } from './migrations.ts';
import type { WasmModule } from './pglite-wasm.ts';
import type { SqlBackend } from './sql-backend.ts';

export interface SupabaseTwinOptions {
  /** Where the embedded database and the generated key live; null keeps the database in memory. */
  dataDir: string | null;
  /** A real Postgres to serve instead of the embedded one. */
  databaseUrl?: string;
  /**
   * An extra key to accept as service_role (an opaque secret key, or a service_role JWT signed with
   * the twin's secret); the twin's own keys are JWTs signed with its JWT secret either way.
   */
  serviceKey?: string;
  /** The project's JWT secret; otherwise one generated once and kept in the data directory. */
  jwtSecret?: string;
  host?: string;
  port?: number;
  /** PGlite's WASM compiled already (see compilePgliteWasm). */
  wasmModule?: WasmModule;
  /** Default: the checkout's supabase/migrations. */
  migrationsDir?: string;
}

export interface SupabaseTwin {
  /** `SUPABASE_URL` for supabase-js. */
  url: string;
  /** The service_role key (the given `serviceKey`, else the twin's service_role JWT). */
  serviceKey: string;
  /** The anon key (a JWT with role anon). */
  anonKey: string;
  /** The JWT secret every key and machine token is signed with. */
  jwtSecret: string;
  /** `pglite (<path>)` or `postgres (<url without password>)`. */
  database: string;
  backend: SqlBackend;
  migrations: MigrationResult;
  close(): Promise<void>;
}

/** Reads the generated local JWT secret, or makes one and keeps it (mode 600) in the data directory. */
export function localJwtSecret(dataDir: string | null): string {
  const fresh = () => randomBytes(32).toString('hex');
  if (dataDir === null) return fresh();
  const dir = resolve(dataDir);
  const file = join(dir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const secret = fresh();
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparsable DATABASE_URL)';
  }
}

/**
 * The local twin of Supabase: a database (embedded PGlite by default, or the Postgres at
 * `databaseUrl`) with every migration applied, behind the PostgREST-compatible RPC gateway.
 */
export async function startSupabaseTwin(options: SupabaseTwinOptions): Promise<SupabaseTwin> {
  // Loaded while the database opens (node:http alone is ~40 ms in a fresh thread); pg only for Postgres.
  const gatewayModule = import('./supabase-gateway.ts');
  gatewayModule.catch(() => {}); // awaited below, unless the database fails first
  let backend: SqlBackend;
  let migrations: MigrationResult;
  let database: string;
  let embedded: EmbeddedDatabase | undefined;
  if (options.databaseUrl) {
    const { createPostgresBackend } = await import('./postgres-backend.ts');
    backend = createPostgresBackend(options.databaseUrl);
    try {
      migrations = await applyMigrations(backend, options.migrationsDir);
    } catch (err) {
      await backend.close();
      throw err;
    }
    database = `postgres (${redactUrl(options.databaseUrl)})`;
  } else {
    embedded = await openEmbeddedDatabase({
      dataDir: options.dataDir,
      ...(options.wasmModule ? { wasmModule: options.wasmModule } : {}),
      ...(options.migrationsDir ? { migrationsDir: options.migrationsDir } : {}),
    });
    backend = embedded.backend;
    migrations = embedded.migrations;
    database = `pglite (${embedded.location})`;
  }
  const jwtSecret = options.jwtSecret ?? localJwtSecret(options.dataDir);
  const own = projectKeys(jwtSecret);
  const given = options.serviceKey;
  const givenIsJwt = given !== undefined && verifyJwt(given, jwtSecret).ok;
  const serviceKey = given ?? own.serviceKey;
  try {
    const { startSupabaseGateway } = await gatewayModule;
    const gateway = await startSupabaseGateway({
      backend,
      keys: {
        jwtSecret,
        apiKeys: [own.anonKey, own.serviceKey, ...(givenIsJwt ? [given] : [])],
        secretKeys: given !== undefined && !givenIsJwt ? [given] : [],
      },
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      ...(embedded?.catalogue ? { catalogue: embedded.catalogue } : {}),
    });
    embedded?.remember?.(gateway.catalogue());
    performance.mark('vyx:gateway');
    return {
      url: gateway.url,
      serviceKey,
      anonKey: own.anonKey,
      jwtSecret,
      database,
      backend,
      migrations,
      async close() {
        await gateway.close();
        await backend.close();
      },
    };
  } catch (err) {
    await backend.close();
    throw err;
  }
}
