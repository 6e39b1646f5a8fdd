import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openEmbeddedDatabase } from './embedded-database.ts';
import { applyMigrations, type MigrationResult } from './migrations.ts';
import { createPostgresBackend } from './postgres-backend.ts';
import type { SqlBackend } from './sql-backend.ts';
import { startSupabaseGateway } from './supabase-gateway.ts';

export interface SupabaseTwinOptions {
  /** Where the embedded database and the generated key live; null keeps the database in memory. */
  dataDir: string | null;
  /** A real Postgres to serve instead of the embedded one. */
  databaseUrl?: string;
  /** The key to accept; otherwise one generated once and kept in the data directory. */
  serviceKey?: string;
  host?: string;
  port?: number;
}

export interface SupabaseTwin {
  /** `SUPABASE_URL` for supabase-js. */
  url: string;
  serviceKey: string;
  /** `pglite (<path>)` or `postgres (<url without password>)`. */
  database: string;
  backend: SqlBackend;
  migrations: MigrationResult;
  requests(): number;
  close(): Promise<void>;
}

/** Reads the generated local key, or makes one and keeps it (mode 600) in the data directory. */
export function localServiceKey(dataDir: string | null): string {
  if (dataDir === null) return `vyx-local-${randomBytes(24).toString('hex')}`;
  const dir = resolve(dataDir);
  const file = join(dir, 'service-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true });
  const key = `vyx-local-${randomBytes(24).toString('hex')}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
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
  let backend: SqlBackend;
  let migrations: MigrationResult;
  let database: string;
  if (options.databaseUrl) {
    backend = createPostgresBackend(options.databaseUrl);
    try {
      migrations = await applyMigrations(backend);
    } catch (err) {
      await backend.close();
      throw err;
    }
    database = `postgres (${redactUrl(options.databaseUrl)})`;
  } else {
    const embedded = await openEmbeddedDatabase({ dataDir: options.dataDir });
    backend = embedded.backend;
    migrations = embedded.migrations;
    database = `pglite (${embedded.location})`;
  }
  const serviceKey = options.serviceKey ?? localServiceKey(options.dataDir);
  try {
    const gateway = await startSupabaseGateway({
      backend,
      serviceKey,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
    });
    return {
      url: gateway.url,
      serviceKey,
      database,
      backend,
      migrations,
      requests: gateway.requests,
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
