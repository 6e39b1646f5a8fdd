// CPU time of processes, from /proc: this process's children, and a database's Postgres backends.
import { readFileSync } from 'node:fs';
import type pg from 'pg';

const TICK_MS = 1000 / 100; // USER_HZ

/** utime + stime (and, with `withChildren`, the waited-for children's) of a /proc stat file, ms. */
export function statMs(path: string, withChildren: boolean): number {
  const f = readFileSync(path, 'utf8');
  const t = f
    .slice(f.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 15)
    .map(Number); // utime stime cutime cstime
  return (t[0]! + t[1]! + (withChildren ? t[2]! + t[3]! : 0)) * TICK_MS;
}

/** CPU of this process's waited-for children, ms. */
export function childrenMs(): number {
  return statMs('/proc/self/stat', true) - statMs('/proc/self/stat', false);
}

/**
 * The CPU of this database's backends (other benchmarks share the server), read from a connection
 * of its own: asked through the twin's pool, the backend answering would leave itself out, and a
 * pool backend missing from one reading counted its whole life in the next (1-2.5 s of noise).
 */
export async function postgresMs(watcher: pg.Client): Promise<number> {
  const { rows } = await watcher.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
  );
  let ms = 0;
  for (const { pid } of rows) {
    try {
      ms += statMs(`/proc/${String(pid)}/stat`, false);
    } catch {
      // gone meanwhile
    }
  }
  return ms;
}
