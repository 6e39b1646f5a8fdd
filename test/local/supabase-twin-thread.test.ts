import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVyxError, VyxError } from '../../src/errors/vyx-error.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import {
  prepareSupabaseTwinThread,
  startSupabaseTwinThread,
} from '../../src/local/supabase-twin/supabase-twin-thread.ts';
import { fromWire, toWire } from '../../src/local/supabase-twin/twin-thread-protocol.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';

const root = mkdtempSync(join(tmpdir(), 'vyx-twin-thread-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What the store sees of a twin: a link, a provisioning begun, and the rows as SQL reads them. */
async function storeAnswers(twin: SupabaseTwin) {
  const store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
  const identity = await store.linkIdentity({
    slackTeamId: 'T0THREAD1',
    slackUserId: 'U0THREAD1',
    userId: 'user-thread',
    role: 'admin',
    linkedBy: 'test',
  });
  const again = await store.getIdentity('T0THREAD1', 'U0THREAD1');
  const unknown = await store.getIdentity('T0THREAD1', 'U0NOBODY1');
  const { rows } = await twin.backend.query(
    'select slack_team_id, slack_user_id, user_id, role from slack_identities order by slack_user_id',
  );
  const strip = <T extends object>(o: T) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => !/_at$|At$/.test(k)));
  return { identity: strip(identity), again: again && strip(again), unknown, rows };
}

describe('the Supabase twin in a thread of its own', () => {
  it('answers the store as the twin in this thread does, and runs SQL, transactions and LISTEN there', async () => {
    const here = await startSupabaseTwin({ dataDir: null });
    const thread = await startSupabaseTwinThread({ dataDir: join(root, 'a') });
    try {
      expect(thread.database).toBe(`pglite (${join(root, 'a', 'pglite')})`);
      expect(thread.backend.kind).toBe('pglite');
      expect(await storeAnswers(thread)).toEqual(await storeAnswers(here));

      // Committed when the function resolves; rolled back, with its own error, when it throws.
      await thread.backend.transaction(async (tx) => {
        await tx.exec(`create table thread_t (n int); insert into thread_t values (1)`);
        await tx.query('insert into thread_t values ($1)', [2]);
      });
      const boom = new Error('changed my mind');
      await expect(
        thread.backend.transaction(async (tx) => {
          await tx.query('insert into thread_t values (3)');
          throw boom;
        }),
      ).rejects.toBe(boom);
      // A failing statement: the database's error, and nothing of the transaction kept.
      await expect(
        thread.backend.transaction(async (tx) => {
          await tx.query('insert into thread_t values (4)');
          await tx.query('select * from no_such_table');
        }),
      ).rejects.toThrow(/no_such_table/);
      const read = await thread.backend.transaction((tx) => tx.query('select n from thread_t order by n'), {
        readOnly: true,
      });
      expect(read.rows).toEqual([{ n: 1 }, { n: 2 }]);
      await expect(
        thread.backend.transaction((tx) => tx.query('insert into thread_t values (5)'), { readOnly: true }),
      ).rejects.toThrow(/read-only/);

      const heard: string[] = [];
      const unlisten = await thread.backend.listen('thread_news', (p) => heard.push(p));
      await thread.backend.query(`select pg_notify('thread_news', 'one')`);
      await expect.poll(() => heard).toEqual(['one']);
      await unlisten();
      await thread.backend.query(`select pg_notify('thread_news', 'two')`);
      await thread.backend.query('select 1');
      expect(heard).toEqual(['one']);
    } finally {
      await thread.close();
      await here.close();
    }
    // Closed cleanly: calls are refused, the lock is gone and the data is there for the next start.
    await expect(thread.backend.query('select 1')).rejects.toThrow(/exited/);
    expect(existsSync(join(root, 'a', 'pglite.lock'))).toBe(false);
    const next = await startSupabaseTwinThread({ dataDir: join(root, 'a') });
    try {
      expect(next.migrations.applied).toEqual([]);
      const { rows } = await next.backend.query('select count(*)::int as n from thread_t');
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      await next.close();
    }
  });

  it('fails to start with the error the twin threw: its code, message and fields', async () => {
    // Another live process holds the directory's lock.
    const dir = join(root, 'b');
    mkdirSync(dir);
    writeFileSync(join(dir, 'pglite.lock'), String(process.ppid));
    const locked = await startSupabaseTwinThread({ dataDir: dir }).catch((e: unknown) => e);
    expect(isVyxError(locked, 'LOCAL_DB_LOCKED')).toBe(true);
    expect((locked as VyxError).toLine()).toBe(
      `LOCAL_DB_LOCKED: the embedded database ${join(dir, 'pglite')} is already open in process ${process.ppid} — Stop that process (kill ${process.ppid}) or give this one its own directory with VYX_DATA_DIR.`,
    );

    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (busy.address() as { port: number }).port;
      const taken = await startSupabaseTwinThread({ dataDir: join(root, 'c'), port }).catch(
        (e: unknown) => e,
      );
      expect((taken as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      expect((taken as { port?: number }).port).toBe(port);
      // The database it had opened is closed again: the next start takes it.
      const after = await startSupabaseTwinThread({ dataDir: join(root, 'c') });
      await after.close();
    } finally {
      busy.close();
    }
  });

  it('is prepared before it knows what to open, and cancelled without touching anything', async () => {
    const unused = prepareSupabaseTwinThread();
    await unused.cancel();
    expect(readdirSync(root).sort()).toEqual(['a', 'b', 'c']);

    const prepared = prepareSupabaseTwinThread();
    const twin = await prepared.start({ dataDir: join(root, 'd') });
    try {
      // Started: cancelling is no longer its business (the twin's close is).
      await prepared.cancel();
      expect((await twin.backend.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await twin.close();
    }
  });
});

describe('errors crossing the thread', () => {
  it('keep a VyxError whole, and an errno error its code and fields, with their causes', () => {
    const errno = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
      errno: -111,
      syscall: 'connect',
      port: 1,
    });
    const vyx = new VyxError('MIGRATION_CHANGED', 'x.sql changed after it was applied', {
      suggestion: 'Delete it.',
      details: { file: 'x.sql' },
      cause: errno,
    });
    const back = fromWire(structuredClone(toWire(vyx)));
    expect(isVyxError(back, 'MIGRATION_CHANGED')).toBe(true);
    expect((back as VyxError).toLine()).toBe(vyx.toLine());
    expect((back as VyxError).details).toEqual({ file: 'x.sql' });
    const cause = back.cause as NodeJS.ErrnoException & { port: number };
    expect([cause.message, cause.code, cause.errno, cause.syscall, cause.port]).toEqual([
      errno.message,
      'ECONNREFUSED',
      -111,
      'connect',
      1,
    ]);

    const many = fromWire(structuredClone(toWire(new AggregateError([errno], 'all failed')))) as Error & {
      errors: NodeJS.ErrnoException[];
    };
    expect(many.message).toBe('all failed');
    expect(many.errors.map((e) => e.code)).toEqual(['ECONNREFUSED']);
    expect(fromWire(toWire('a string')).message).toBe('a string');
  });
});
