import pg from 'pg';
import type { SqlBackend, SqlExecutor } from './sql-backend.ts';

/** A SqlBackend over a real Postgres (`DATABASE_URL`), with a small connection pool. */
export function createPostgresBackend(connectionString: string, options: { max?: number } = {}): SqlBackend {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle client that loses its server (database restarted) must not crash the process.
  pool.on('error', () => {});
  let listener: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const notifyAll = (channel: string, payload: string) => {
    for (const h of handlers.get(channel) ?? []) h(payload);
  };

  // The LISTEN connection comes back after an outage (a Postgres restart drops it): reconnected
  // with backoff, every channel listened again, and every listener woken once for what it missed.
  async function openListener(): Promise<void> {
    const client = new pg.Client({ connectionString });
    client.on('error', () => lost(client));
    client.on('end', () => lost(client));
    client.on('notification', (n) => notifyAll(n.channel, n.payload ?? ''));
    await client.connect();
    for (const channel of handlers.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    listener = client;
  }
  function lost(client: pg.Client): void {
    if (listener !== client || closed) return;
    listener = undefined;
    client.end().catch(() => {});
    reconnect(250);
  }
  function reconnect(delayMs: number): void {
    retry = setTimeout(() => {
      openListener().then(
        () => {
          retry = undefined;
          for (const channel of handlers.keys()) notifyAll(channel, '');
        },
        () => {
          if (!closed) reconnect(Math.min(delayMs * 2, 5_000));
        },
      );
    }, delayMs);
    retry.unref();
  }

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
      if (!listener && !retry) await openListener();
      let set = handlers.get(channel);
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
        await listener?.query(`listen ${pg.escapeIdentifier(channel)}`);
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
      };
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      await listener?.end().catch(() => {});
      await pool.end();
    },
  };
}
