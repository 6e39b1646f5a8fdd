import pg from 'pg';
import type { SqlBackend, SqlExecutor } from './sql-backend.ts';

/** A SqlBackend over a real Postgres (`DATABASE_URL`), with a small connection pool. */
export function createPostgresBackend(connectionString: string, options: { max?: number } = {}): SqlBackend {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server (database restarted) must not crash the process.
  pool.on('error', () => {});
  let listener: pg.Client | undefined;
  const handlers = new Map<string, Set<(payload: string) => void>>();

  const executor = (client: pg.PoolClient | pg.Pool): SqlExecutor => ({
    async query(sql, params) {
      const r = await client.query(sql, params as unknown[] | undefined);
      return { rows: r.rows };
    },
    async exec(sql) {
      await client.query(sql);
    },
  });

  return {
    kind: 'postgres',
    async transaction(fn, { readOnly = false } = {}) {
      const client = await pool.connect();
      try {
        await client.query(readOnly ? 'begin read only' : 'begin');
        const result = await fn(executor(client));
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    query: (sql, params) => executor(pool).query(sql, params),
    async listen(channel, onNotify) {
      if (!listener) {
        listener = new pg.Client({ connectionString });
        listener.on('error', () => {});
        listener.on('notification', (n) => {
          for (const h of handlers.get(n.channel) ?? []) h(n.payload ?? '');
        });
        await listener.connect();
      }
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await listener.query(`listen ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
      };
    },
    async close() {
      await listener?.end().catch(() => {});
      await pool.end();
    },
  };
}
