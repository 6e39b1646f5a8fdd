import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SupabaseTwin, startSupabaseTwin } from '../../src/local/supabase-twin/supabase-twin.ts';
import { createVyxStore, type VyxStore } from '../../src/store/vyx-store.ts';
import { createTestDatabase, type TestDatabase } from '../../testkit/test-postgres.ts';

// Audit rows written together go in one call (vyx_record_audits); each keeps its own fields and id.
describe('audit rows in batches, on real Postgres', () => {
  let db: TestDatabase;
  let twin: SupabaseTwin;
  let store: VyxStore;
  beforeAll(async () => {
    db = await createTestDatabase('vyx_audit_batch');
    twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url });
    store = createVyxStore({ url: twin.url, serviceKey: twin.serviceKey });
  });
  afterAll(async () => {
    await twin?.close();
    await db?.drop();
  });

  it('twenty rows at once: twenty ids, in order, each row as it was given (control characters kept visible)', async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.recordAudit({
          action: 'command',
          name: 'help',
          outcome: i % 2 ? 'ok' : 'invalid',
          slackTeamId: 'T1',
          slackUserId: `U${i}`,
          args: i === 3 ? 'a\u0000b\u0007' : `arg ${i}`,
          ...(i === 5 ? { machineId: 'vyx-5', detail: 'why' } : {}),
        }),
      ),
    );
    expect(new Set(ids).size).toBe(20);
    const { rows } = await twin.backend.query(
      'select id, slack_user_id, outcome, args, machine_id, detail from audit_log where id = any($1::bigint[]) order by id',
      [ids],
    );
    const byUser = new Map(rows.map((r) => [r.slack_user_id as string, r]));
    ids.forEach((id, i) => {
      const r = byUser.get(`U${i}`)!;
      expect(Number(r.id)).toBe(id);
      expect(r.outcome).toBe(i % 2 ? 'ok' : 'invalid');
    });
    expect(byUser.get('U3')?.args).toBe('a\\u0000b\\u0007');
    expect([byUser.get('U5')?.machine_id, byUser.get('U5')?.detail]).toEqual(['vyx-5', 'why']);
    expect(byUser.get('U4')?.machine_id).toBeNull();
  });

  it('a row the table refuses fails its batch loudly; the one-row function of the previous release still writes', async () => {
    await expect(
      store.recordAudit({ action: 'command', name: 'x', outcome: 'bogus' as 'ok' }),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/^STORE_/),
    });
    const { rows } = await twin.backend.query(
      `select vyx_record_audit('button', 'vyx_destroy', 'ok', p_slack_user_id := 'U9') as id`,
    );
    const written = await twin.backend.query(
      'select action, name, slack_user_id from audit_log where id = $1',
      [rows[0]?.id],
    );
    expect(written.rows[0]).toEqual({ action: 'button', name: 'vyx_destroy', slack_user_id: 'U9' });
  });
});
