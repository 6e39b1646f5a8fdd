// The Supabase twin's thread (see supabase-twin-thread.ts). Before it knows what to open it compiles
// PGlite's WASM and loads the twin's modules; then it starts the twin, reports it, and runs the
// parent's SQL calls on its backend until told to close.
import { parentPort } from 'node:worker_threads';
import { compilePgliteWasm } from './pglite-wasm.ts';
import type { SqlExecutor } from './sql-backend.ts';
import type { SupabaseTwin } from './supabase-twin.ts';
import { type ThreadCall, type ThreadMessage, type TwinThreadReady, toWire } from './twin-thread-protocol.ts';

const port = parentPort!;
const post = (message: ThreadMessage) => port.postMessage(message);

// Both started at once: the compilation runs on V8's background threads while the modules load.
const wasm = compilePgliteWasm();
const twinModule = import('./supabase-twin.ts');
// Awaited at `start`; a thread never started must not die of an unhandled rejection meanwhile.
wasm.catch(() => {});
twinModule.catch(() => {});

/** The `vyx:` marks of this thread, on the epoch clock (each thread has its own time origin). */
function marks(): { name: string; at: number }[] {
  return performance
    .getEntriesByType('mark')
    .filter((m) => m.name.startsWith('vyx:'))
    .map((m) => ({ name: m.name, at: performance.timeOrigin + m.startTime }));
}

/** A transaction the parent holds open: its executor, and how to end it. */
interface OpenTransaction {
  tx: SqlExecutor;
  end(commit: boolean): void;
  ended: Promise<unknown>;
}

/** Rolls a transaction back without an error of its own (the parent's error is the one that counts). */
const ROLLBACK = Symbol('rollback');

let twin: SupabaseTwin | undefined;
const transactions = new Map<number, OpenTransaction>();
const listeners = new Map<number, () => Promise<void>>();

function started(): SupabaseTwin {
  if (!twin) throw new Error('the Supabase twin has not started');
  return twin;
}

function open(tx: number): OpenTransaction {
  const t = transactions.get(tx);
  if (!t) throw new Error(`transaction ${tx} is not open`);
  return t;
}

async function answer(call: ThreadCall): Promise<unknown> {
  switch (call.op) {
    case 'start': {
      if (twin) throw new Error('the Supabase twin has started already');
      const { startSupabaseTwin } = await twinModule;
      twin = await startSupabaseTwin({ ...call.options, wasmModule: await wasm });
      return {
        url: twin.url,
        serviceKey: twin.serviceKey,
        anonKey: twin.anonKey,
        jwtSecret: twin.jwtSecret,
        database: twin.database,
        kind: twin.backend.kind,
        migrations: twin.migrations,
        marks: marks(),
      } satisfies TwinThreadReady;
    }
    case 'query':
      return (await started().backend.query(call.sql, call.params)).rows;
    case 'begin': {
      const { backend } = started();
      // The transaction stays open (holding PGlite's one connection) until the parent ends it.
      return await new Promise<number>((resolve, reject) => {
        let end!: (commit: boolean) => void;
        const decided = new Promise<boolean>((r) => {
          end = r;
        });
        const ended = backend
          .transaction(
            async (tx) => {
              transactions.set(call.id, { tx, end, ended });
              resolve(call.id);
              if (!(await decided)) throw ROLLBACK;
            },
            { readOnly: call.readOnly },
          )
          .catch((err: unknown) => {
            if (err !== ROLLBACK) throw err;
          })
          .finally(() => transactions.delete(call.id));
        ended.catch(reject); // failed before it began
      });
    }
    case 'tx-query':
      return (await open(call.tx).tx.query(call.sql, call.params)).rows;
    case 'tx-exec':
      await open(call.tx).tx.exec(call.sql);
      return undefined;
    case 'end': {
      const t = open(call.tx);
      t.end(call.commit);
      await t.ended;
      return undefined;
    }
    case 'listen': {
      const unsubscribe = await started().backend.listen(call.channel, (payload) =>
        post({ op: 'notify', listener: call.id, payload }),
      );
      listeners.set(call.id, unsubscribe);
      return call.id;
    }
    case 'unlisten': {
      const unsubscribe = listeners.get(call.listener);
      listeners.delete(call.listener);
      await unsubscribe?.();
      return undefined;
    }
    case 'close':
      for (const t of transactions.values()) t.end(false);
      await twin?.close();
      return undefined;
  }
}

port.on('message', (call: ThreadCall) => {
  answer(call).then(
    (value) => {
      post({ op: 'answer', id: call.id, value });
      if (call.op === 'close') port.close();
    },
    (err: unknown) => {
      post({ op: 'answer', id: call.id, error: toWire(err) });
      // A twin that failed to start has nothing left to serve.
      if (call.op === 'start') port.close();
    },
  );
});
