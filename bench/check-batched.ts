// Checks the proposed set-based `vyx_record_diagnoses` against one `vyx_record_diagnosis` call per
// item on two copies of the same situations (new, repeated, due for a reminder, silenced, certain on
// a starting row, certain on a running row, an orphan key without a row): same rows, same events,
// same answers. `scripts/node bench/check-batched.ts`; exits 1 on a difference.
import { startSupabaseTwin } from '../src/local/supabase-twin.ts';
import { createTestDatabase } from '../test/helpers/test-postgres.ts';
import { RECORD_DIAGNOSES_SQL } from './prototype/batched-tick.ts';

const db = await createTestDatabase('vyx_bench_check');
const twin = await startSupabaseTwin({ dataDir: null, databaseUrl: db.url });
const q = (sql: string, params?: unknown[]) => twin.backend.query(sql, params);
let failures = 0;
try {
  await q(RECORD_DIAGNOSES_SQL);
  const item = (p: string, id: string, code: string, certainty = 'likely') => ({
    machine_id: id.startsWith('fly:') ? `fly:${p}${id.slice(4)}` : `${p}${id}`,
    code,
    summary: `s ${code}`,
    evidence: [{ fact: 'f', value: id, source: 'database', at: 'x' }],
    fix: 'fix',
    certainty,
    mark_failed: certainty === 'certain',
  });
  const situations = (p: string) => [
    item(p, 'm-new', 'RUNTIME_SILENT'),
    item(p, 'm-repeat', 'RUNTIME_SILENT'),
    item(p, 'm-due', 'RUNTIME_SILENT'),
    item(p, 'm-silenced', 'RUNTIME_SILENT'),
    item(p, 'm-fail', 'IMAGE_TAG_MISSING', 'certain'),
    item(p, 'm-running', 'ENV_MISMATCH', 'certain'),
    item(p, 'fly:orphan', 'ORPHAN_MACHINE', 'possible'),
  ];
  for (const p of ['a-', 'b-']) {
    for (const [id, status] of [
      ['m-new', 'starting'],
      ['m-repeat', 'starting'],
      ['m-due', 'starting'],
      ['m-silenced', 'starting'],
      ['m-fail', 'starting'],
      ['m-running', 'running'],
    ] as const) {
      await q(`insert into cloud_machines (machine_id, user_id, status) values ($1, $2, $3)`, [
        `${p}${id}`,
        `u-${p}${id}`,
        status,
      ]);
    }
    for (const id of ['m-repeat', 'm-due', 'm-silenced']) {
      await q(`select vyx_record_diagnosis($1, 'RUNTIME_SILENT', 'old', '[]', 'f', 'likely', false, 600)`, [
        `${p}${id}`,
      ]);
    }
    await q(`update diagnoses set notified_at = now() - interval '20 minutes' where machine_id in ($1, $2)`, [
      `${p}m-due`,
      `${p}m-silenced`,
    ]);
    await q(`update diagnoses set silenced_until = now() + interval '1 hour' where machine_id = $1`, [
      `${p}m-silenced`,
    ]);
  }
  // a-: one call per item, as the watcher does today; b-: one batched call.
  const perRow: unknown[] = [];
  for (const it of situations('a-')) {
    const { rows } = await q(`select vyx_record_diagnosis($1, $2, $3, $4, $5, $6, $7, 600) as r`, [
      it.machine_id,
      it.code,
      it.summary,
      JSON.stringify(it.evidence),
      it.fix,
      it.certainty,
      it.mark_failed,
    ]);
    const r = rows[0]!.r as { notice: string | null; marked_failed: boolean };
    perRow.push({
      machine_id: it.machine_id.replace('a-', ''),
      notice: r.notice,
      marked_failed: r.marked_failed,
    });
  }
  const { rows } = await q(`select vyx_record_diagnoses($1, 600) as r`, [JSON.stringify(situations('b-'))]);
  const batched = (rows[0]!.r as { machine_id: string; notice: string | null; marked_failed: boolean }[]).map(
    (r) => ({ machine_id: r.machine_id.replace('b-', ''), notice: r.notice, marked_failed: r.marked_failed }),
  );
  const strip = (p: string) => (x: unknown) =>
    JSON.stringify(x, (_k, v) =>
      typeof v === 'string' ? v.replace(p, '').replace(/\d{4}-\d\d-\d\dT[\d:.+Z-]+/g, 'T') : v,
    );
  const table = async (sql: string, p: string) =>
    (await q(sql, [`${p}%`, `fly:${p}%`])).rows.map(strip(p)).join('\n');
  const compare = async (what: string, sql: string) => {
    const a = await table(sql, 'a-');
    const b = await table(sql, 'b-');
    if (a !== b) {
      failures++;
      console.log(`DIFFERENT ${what}\n per-row:\n${a}\n batched:\n${b}`);
    } else console.log(`same ${what}`);
  };
  if (JSON.stringify(perRow) !== JSON.stringify(batched)) {
    failures++;
    console.log('DIFFERENT answers', perRow, batched);
  } else console.log('same answers', JSON.stringify(batched));
  await compare(
    'diagnoses',
    `select machine_id, code, summary, evidence, fix, certainty, seen_count, notify_count,
       notified_at is not null as notified, (notified_at > now() - interval '1 minute') as notified_now,
       resolved_at, silenced_until is not null as silenced
     from diagnoses where machine_id like $1 or machine_id like $2 order by machine_id, code`,
  );
  await compare(
    'events',
    `select machine_id, kind, old_status, new_status, detail - 'first_seen_at' - 'last_seen_at' as detail
     from machine_events where machine_id like $1 or machine_id like $2 order by machine_id, id`,
  );
  await compare(
    'rows',
    `select machine_id, status, status_detail, diagnosis - 'at' as diagnosis, flagged_at is not null as flagged
     from cloud_machines where machine_id like $1 or machine_id like $2 order by machine_id`,
  );
} finally {
  await twin.close();
  await db.drop();
}
console.log(failures === 0 ? 'batched = per-row' : `${failures} difference(s)`);
process.exit(failures === 0 ? 0 : 1);
