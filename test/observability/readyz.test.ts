import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_ADMIN_URL } from '../../testkit/test-postgres.ts';
import { until } from '../../testkit/until.ts';
import { expectNoSecrets } from '../helpers/secrets.ts';
import { startTestBot, type TestBot } from '../helpers/test-bot.ts';

async function readyz(base: string) {
  const r = await fetch(`${base}/readyz`);
  return {
    status: r.status,
    body: (await r.json()) as {
      ready: boolean;
      checks: Record<string, string>;
      failed?: string[];
      notices?: Record<string, string>;
    },
  };
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// Readiness on the bot's own HTTP port (the same server as /slack/events), with a real Postgres
// that stops accepting connections and comes back.
describe('/healthz and /readyz', () => {
  let t: TestBot;
  beforeAll(async () => {
    t = await startTestBot();
  });
  afterAll(async () => {
    if (t) {
      await admin((c) => c.query(`alter database ${pg.escapeIdentifier(t.db.name)} allow_connections true`));
      await t.close();
      expectNoSecrets(t.logs.join('\n'), t.secrets());
    }
  });

  it('is ready with database, Fly and Slack all answering', async () => {
    const base = t.running.httpUrl!;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const r = await readyz(base);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ready: true, checks: { database: 'ok', fly: 'ok', slack: 'ok' } });
  });

  it('turns unready naming the database when it stops, and ready again when it returns', async () => {
    const base = t.running.httpUrl!;
    const name = pg.escapeIdentifier(t.db.name);
    await admin(async (c) => {
      await c.query(`alter database ${name} allow_connections false`);
      await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [t.db.name]);
    });

    const down = await until(async () => {
      const r = await readyz(base);
      return r.status === 503 ? r : undefined;
    }, 'readyz to turn 503');
    expect(down.body.ready).toBe(false);
    expect(down.body.failed).toEqual(['database']);
    expect(down.body.checks.database).toMatch(/^failed: /);
    expect(down.body.checks.fly).toBe('ok');
    expect(down.body.checks.slack).toBe('ok');
    // Liveness does not depend on the database: restarting the bot would not bring it back.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expectNoSecrets(JSON.stringify(down.body), t.secrets());

    await admin((c) => c.query(`alter database ${name} allow_connections true`));
    const up = await until(async () => {
      const r = await readyz(base);
      return r.status === 200 ? r : undefined;
    }, 'readyz to turn 200 again');
    expect(up.body).toEqual({ ready: true, checks: { database: 'ok', fly: 'ok', slack: 'ok' } });
  });

  it('names Fly when the Machines API stops answering', async () => {
    const base = t.running.httpUrl!;
    const emulator = t.running.stack.fly.emulator!;
    emulator.faults.addRule({
      route: 'GET /v1/apps/:app/machines',
      rate: 1,
      kinds: ['unavailable'],
      phase: 'before',
    });
    try {
      const r = await until(async () => {
        const x = await readyz(base);
        return x.status === 503 ? x : undefined;
      }, 'readyz to turn 503');
      expect(r.body.failed).toEqual(['fly']);
      expect(r.body.checks.database).toBe('ok');
    } finally {
      emulator.faults.clear();
    }
    expect((await readyz(base)).status).toBe(200);
  });

  it('says not ready while shutting down, before anything is closed', async () => {
    t.running.health.setDraining();
    const r = await readyz(t.running.httpUrl!);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ ready: false, shuttingDown: true });
  });
});

describe('/readyz without what machines need for their own credentials', () => {
  it('says machines get the service_role key, in /readyz and once in the start-up log', async () => {
    const t = await startTestBot({ SUPABASE_JWT_SECRET: '', SUPABASE_ANON_KEY: '' });
    try {
      const r = await readyz(t.running.httpUrl!);
      expect(r.status).toBe(200);
      expect(r.body.ready).toBe(true);
      expect(r.body.notices?.machine_credentials).toContain(
        'SUPABASE_JWT_SECRET and SUPABASE_ANON_KEY are not set',
      );
      await readyz(t.running.httpUrl!);
      expect(
        t.logs.filter((l) => l.includes('SUPABASE_JWT_SECRET and SUPABASE_ANON_KEY are not set')),
      ).toHaveLength(1);
    } finally {
      await t.close();
    }
  });
});
