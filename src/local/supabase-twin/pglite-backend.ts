import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { SqlBackend, SqlExecutor } from './sql-backend.ts';

/**
 * A SqlBackend over embedded PGlite. PGlite runs one transaction at a time inside this process, so
 * transactions are serialised; that is its nature, not a bug (see the reference notes).
 */
export function createPgliteBackend(db: PGlite, onClose: () => Promise<void> = () => db.close()): SqlBackend {
  const executor = (q: PGlite | Transaction): SqlExecutor => ({
    async query(sql, params) {
      const r = await q.query<Record<string, unknown>>(sql, params as unknown[] | undefined);
      return { rows: r.rows };
    },
    async exec(sql) {
      await q.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    transaction(fn, { readOnly = false } = {}) {
      return db.transaction(async (tx) => {
        if (readOnly) await tx.query('set transaction read only');
        return fn(executor(tx));
      });
    },
    query: (sql, params) => executor(db).query(sql, params),
    async listen(channel, onNotify) {
      const unsubscribe = await db.listen(channel, onNotify);
      return () => unsubscribe();
    },
    close: onClose,
  };
}
