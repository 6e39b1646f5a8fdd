/**
 * What the local Supabase gateway and the migration runner need from a database: transactions of
 * parameterised SQL. Two implementations: embedded PGlite (one process) and any Postgres (pg pool).
 */
export interface SqlRows {
  rows: Record<string, unknown>[];
}

export interface SqlExecutor {
  query(sql: string, params?: unknown[]): Promise<SqlRows>;
  /** Runs several statements separated by semicolons, no parameters. */
  exec(sql: string): Promise<void>;
}

export interface SqlBackend {
  /** `pglite` or `postgres`, for people reading logs. */
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, options?: { readOnly?: boolean }): Promise<T>;
  query(sql: string, params?: unknown[]): Promise<SqlRows>;
  /** LISTEN on a channel; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
