import { Worker } from 'node:worker_threads';
import type { SqlBackend, SqlExecutor, SqlRows } from './sql-backend.ts';
import type { SupabaseTwin, SupabaseTwinOptions } from './supabase-twin.ts';
import {
  fromWire,
  type ThreadCall,
  type ThreadMessage,
  type TwinThreadReady,
} from './twin-thread-protocol.ts';

/** A call without its id (each member of the union on its own). */
type Call = ThreadCall extends infer C ? (C extends { id: number } ? Omit<C, 'id'> : never) : never;

export interface TwinThread {
  /** Starts the twin (once) in the thread; rejects with its start-up error, code and fields kept. */
  start(options: SupabaseTwinOptions): Promise<SupabaseTwin>;
  /** Ends a thread whose twin was never started (the configuration wants none after all). */
  cancel(): Promise<void>;
}

/**
 * A thread for the Supabase twin (startSupabaseTwin), made before its options are known: it
 * compiles PGlite's WASM and loads the twin's modules at once, touching no data, so `npm start`
 * can make it before loading its own modules and configuration. PGlite's WASM, its file system
 * image and Postgres's start-up take most of a second of CPU, which a second core spends while
 * this one loads and assembles the bot; the gateway's request handling stays off the bot's thread
 * afterwards. The twin's `backend` runs its SQL in that thread.
 */
export function prepareSupabaseTwinThread(): TwinThread {
  const worker = new Worker(new URL('./twin-thread-worker.ts', import.meta.url));
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const listeners = new Map<number, (payload: string) => void>();
  let nextId = 1;
  let gone: Error | undefined;
  let starting: Promise<SupabaseTwin> | undefined;
  const exit = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      gone ??= new Error(`the Supabase twin's thread exited (code ${code})`);
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      resolve();
    });
  });
  worker.once('error', (err) => {
    gone = err;
  });
  worker.on('message', (m: ThreadMessage) => {
    if (m.op === 'notify') {
      listeners.get(m.listener)?.(m.payload);
      return;
    }
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(fromWire(m.error));
    else p?.resolve(m.value);
  });

  const call = <T>(message: Call): Promise<T> => {
    if (gone) return Promise.reject(gone);
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...message, id });
    });
  };

  const executor = (tx: number): SqlExecutor => ({
    query: async (sql, params) => ({
      rows: await call<SqlRows['rows']>({ op: 'tx-query', tx, sql, ...(params ? { params } : {}) }),
    }),
    exec: (sql) => call<void>({ op: 'tx-exec', tx, sql }),
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= call({ op: 'close' }).then(
      () => exit,
      async (err: unknown) => {
        await worker.terminate();
        throw err;
      },
    );
    return closing;
  };

  const backendOf = (kind: SqlBackend['kind']): SqlBackend => ({
    kind,
    query: async (sql, params) => ({
      rows: await call<SqlRows['rows']>({ op: 'query', sql, ...(params ? { params } : {}) }),
    }),
    async transaction(fn, { readOnly = false } = {}) {
      const tx = await call<number>({ op: 'begin', readOnly });
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(executor(tx));
      } catch (err) {
        await call({ op: 'end', tx, commit: false }).catch(() => {});
        throw err;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async listen(channel, onNotify) {
      const listener = await call<number>({ op: 'listen', channel });
      listeners.set(listener, onNotify);
      return async () => {
        listeners.delete(listener);
        await call({ op: 'unlisten', listener }).catch(() => {});
      };
    },
    close,
  });

  return {
    start(options) {
      starting ??= call<TwinThreadReady>({ op: 'start', options }).then(
        (t) => {
          // The thread's marks on this thread's clock, for VYX_STARTUP_MARKS.
          for (const mark of t.marks) {
            performance.mark(mark.name, { startTime: mark.at - performance.timeOrigin });
          }
          const backend = backendOf(t.kind);
          return {
            url: t.url,
            serviceKey: t.serviceKey,
            anonKey: t.anonKey,
            jwtSecret: t.jwtSecret,
            database: t.database,
            backend,
            migrations: t.migrations,
            close,
          };
        },
        async (err: unknown) => {
          await exit; // the thread closes itself after a failed start
          throw err;
        },
      );
      return starting;
    },
    async cancel() {
      if (starting) return;
      await worker.terminate();
    },
  };
}

/** The Supabase twin in a thread of its own (see prepareSupabaseTwinThread). */
export function startSupabaseTwinThread(options: SupabaseTwinOptions): Promise<SupabaseTwin> {
  return prepareSupabaseTwinThread().start(options);
}
