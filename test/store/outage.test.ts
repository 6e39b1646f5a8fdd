import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { storeErrorFrom } from '../../src/store/store-error.ts';
import { createVyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';

/** A TCP path to the real Postgres that the test can cut (every connection dropped) and restore. */
async function cuttablePath(target: { host: string; port: number }) {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = async () => {
    server = createServer((client) => {
      const upstream = connect(target);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', () => r()));
    port = (server!.address() as { port: number }).port;
  };
  await open();
  return {
    port: () => port,
    /** Postgres goes away: connections dropped, new ones refused. */
    async cut() {
      await new Promise<void>((r) => {
        server!.close(() => r());
        for (const s of sockets) s.destroy();
      });
    },
    /** Postgres is back on the same address. */
    restore: open,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => (server?.listening ? server.close(() => r()) : r()));
    },
  };
}

describe('a database outage', () => {
  let db: TestDatabase;
  let path: Awaited<ReturnType<typeof cuttablePath>>;
  let twin: SupabaseTwin;

  beforeAll(async () => {
    db = await createTestDatabase('vyx_outage');
    const url = new URL(db.url);
    path = await cuttablePath({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(path.port());
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: url.toString(), serviceKey: 'outage-key' });
  }, 60_000);
  afterAll(async () => {
    await twin?.close();
    await path?.close();
    await db?.drop();
  });

  it('is answered within 2 s, in vyxbot’s words (never PostgREST’s), and coded STORE_UNAVAILABLE', async () => {
    const store = createVyxStore({ url: twin.url, serviceKey: 'outage-key' });
    expect(await store.getIdentity('T1', 'U1')).toBe(null);
    await path.cut();
    try {
      for (const call of [() => store.getIdentity('T1', 'U1'), () => store.listMachines({ limit: 5 })]) {
        const t0 = Date.now();
        const err = await call().then(
          () => undefined,
          (e: unknown) => e as { code: string; message: string },
        );
        expect(Date.now() - t0).toBeLessThan(2_000);
        expect(err?.code).toBe('STORE_UNAVAILABLE');
        expect(err?.message).toMatch(/^the database is not answering right now \(vyx_/);
        expect(err?.message).not.toMatch(/db-uri|PostgREST|PGRST/);
      }
    } finally {
      await path.restore();
    }
    await until(async () => (await store.getIdentity('T1', 'U1').catch(() => 'down')) === null, 'back');
  });

  it("Postgres's shutting-down and starting-up errors (57P01–57P03) and lost connections are STORE_UNAVAILABLE", () => {
    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300']) {
      expect(
        storeErrorFrom('vyx_get_identity', 500, { code, message: 'the database system is shutting down' })
          .code,
      ).toBe('STORE_UNAVAILABLE');
    }
    expect(storeErrorFrom('vyx_get_identity', 400, { code: '22023', message: 'bad' }).code).toBe(
      'STORE_INVALID',
    );
  });

  it('the LISTEN connection comes back after Postgres does, and notifications flow again', async () => {
    const heard: string[] = [];
    const stop = await twin.backend.listen('vyx_outage_test', (p) => heard.push(p));
    await twin.backend.query(`select pg_notify('vyx_outage_test', 'before')`);
    await until(() => heard.includes('before'), 'the first notification');
    await path.cut();
    await path.restore();
    // Woken once on reconnection (it may have missed something), then live again.
    await until(() => heard.includes(''), 'the wake-up after reconnecting');
    await until(async () => {
      await twin.backend.query(`select pg_notify('vyx_outage_test', 'after')`);
      return heard.includes('after');
    }, 'a notification after the outage');
    await stop();
  });
});
