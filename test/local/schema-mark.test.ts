import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isVyxError } from '../../src/errors/vyx-error.ts';
import { openEmbeddedDatabase } from '../../src/local/supabase-twin/embedded-database.ts';
import { MIGRATIONS_DIR } from '../../src/local/supabase-twin/migrations.ts';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';

const root = mkdtempSync(join(tmpdir(), 'vyx-schema-mark-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ADDED = '29991231000000_added_by_test.sql';
const ADDED_SQL = `create function public.vyx_test_added(n int) returns int language sql immutable as $$ select n * 2 $$;
grant execute on function public.vyx_test_added(int) to service_role;`;

/** Calls an SQL function through the twin's gateway, as the store does. */
async function rpc(
  twin: SupabaseTwin,
  fn: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${twin.url}/rest/v1/rpc/${fn}`, {
    method: 'POST',
    headers: {
      apikey: twin.serviceKey,
      authorization: `Bearer ${twin.serviceKey}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

// A warm start takes the migration check and the gateway's catalogue from the data directory's
// schema mark; any change to the migration files must still be applied, checked or refused.
describe("an embedded database's schema mark", () => {
  const migrations = join(root, 'migrations');
  cpSync(MIGRATIONS_DIR, migrations, { recursive: true });
  const dataDir = join(root, 'data');
  const open = () => openEmbeddedDatabase({ dataDir, migrationsDir: migrations, templateCache: null });
  const start = () => startSupabaseTwin({ dataDir, migrationsDir: migrations });

  it('is made once the gateway read its catalogue, and gives the next start that same catalogue', async () => {
    const first = await start();
    const fresh = await rpc(first, 'vyx_get_identity', { p_slack_team_id: 'T1', p_slack_user_id: 'U1' });
    await first.close();

    const db = await open();
    try {
      expect(db.migrations.applied).toEqual([]);
      expect(db.remember).toBeUndefined();
      // The catalogue the mark holds is what the gateway reads from this database.
      const { startSupabaseGateway } = await import('../../src/local/supabase-twin/supabase-gateway.ts');
      const reading = await startSupabaseGateway({ backend: db.backend, serviceKey: 'k' });
      expect(db.catalogue).toEqual(reading.catalogue());
      await reading.close();
    } finally {
      await db.close();
    }

    const warm = await start();
    try {
      expect(await rpc(warm, 'vyx_get_identity', { p_slack_team_id: 'T1', p_slack_user_id: 'U1' })).toEqual(
        fresh,
      );
    } finally {
      await warm.close();
    }
  });

  it('does not stop a migration added since from being applied, and its function from being called', async () => {
    writeFileSync(join(migrations, ADDED), ADDED_SQL);
    const twin = await start();
    try {
      expect(twin.migrations.applied).toEqual([ADDED]);
      expect(await rpc(twin, 'vyx_test_added', { n: 21 })).toEqual({ status: 200, body: 42 });
    } finally {
      await twin.close();
    }
    // Marked again with the new set: the next start knows the function without reading the catalogue.
    const again = await start();
    try {
      expect(again.migrations.applied).toEqual([]);
      expect(await rpc(again, 'vyx_test_added', { n: 2 })).toEqual({ status: 200, body: 4 });
    } finally {
      await again.close();
    }
  });

  it('does not hide a migration changed after it was applied', async () => {
    writeFileSync(join(migrations, ADDED), ADDED_SQL.replace('n * 2', 'n * 3'));
    const err = await open().catch((e: unknown) => e);
    expect(isVyxError(err, 'MIGRATION_CHANGED')).toBe(true);
    expect((err as Error).message).toBe(`${ADDED} changed after it was applied to this database`);
    // Still refused on the next start: the failed check left no mark behind.
    expect(isVyxError(await open().catch((e: unknown) => e), 'MIGRATION_CHANGED')).toBe(true);
    writeFileSync(join(migrations, ADDED), ADDED_SQL);
  });

  it('is ignored when damaged or made for other migrations', async () => {
    await (await start()).close(); // marked again (the refusal above took the mark away)
    const file = join(dataDir, 'pglite', 'vyx-schema.json');
    const good = readFileSync(file, 'utf8');
    for (const bad of [
      '{"format":1,',
      JSON.stringify({ ...JSON.parse(good), key: 'another-set' }),
      JSON.stringify({ ...JSON.parse(good), catalogue: { schemas: ['public'] } }),
    ]) {
      writeFileSync(file, bad);
      const db = await open();
      try {
        expect(db.catalogue).toBeUndefined();
        expect(db.remember).toBeTypeOf('function');
      } finally {
        await db.close();
      }
    }
  });
});
