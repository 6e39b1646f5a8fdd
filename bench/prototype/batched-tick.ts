// A bench-only prototype of the change proposed for src/watchers/stuck-watcher.ts and the store:
// the same tick as StuckWatcher.tick() (claim, batched evidence, diagnose, record, orphans, release)
// but the diagnoses are recorded in chunks through one set-based SQL function call per chunk
// (`vyx_record_diagnoses`, created in the bench database only by RECORD_DIAGNOSES_SQL) instead of
// one `vyx_record_diagnosis` round trip per row. Same rows, events and results as per-row calls
// (bench/check-batched.ts compares them).
import { createClient } from '@supabase/supabase-js';
import { diagnose } from '../../src/diagnose/diagnose.ts';
import type { Diagnosis } from '../../src/diagnose/diagnosis.ts';
import { orphanMachine } from '../../src/diagnose/rules/orphan-machine.ts';
import type { FlyMachinesClient } from '../../src/fly/machines-client.ts';
import type { RegistryClient } from '../../src/fly/registry-client.ts';
import type { Logger } from '../../src/logger.ts';
import type { VyxStore } from '../../src/store/vyx-store.ts';
import { gatherEvidence } from '../../src/watchers/gather-evidence.ts';
import type { TickReport } from '../../src/watchers/stuck-watcher.ts';

/** The proposed SQL: one call records many diagnoses, each exactly as `vyx_record_diagnosis` does. */
export const RECORD_DIAGNOSES_SQL = `
create or replace function public.vyx_record_diagnoses(
  p_items jsonb,
  p_renotify_after_s int default 600
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  result jsonb;
  failed text[];
begin
  -- One statement for the whole batch: upsert the diagnoses (a new one is notified at once, a
  -- known one is reminded when its last notice is older than p_renotify_after_s and it is not
  -- silenced), append the outbox events, and write each row's diagnosis summary.
  with items as (
    select distinct on (it->>'machine_id', it->>'code')
      it->>'machine_id' as machine_id, it->>'code' as code, it->>'summary' as summary,
      coalesce(it->'evidence', '[]'::jsonb) as evidence, it->>'fix' as fix,
      it->>'certainty' as certainty, coalesce((it->>'mark_failed')::boolean, false) as mark_failed, ord
    from jsonb_array_elements(p_items) with ordinality as e(it, ord)
    order by it->>'machine_id', it->>'code', ord desc
  ), up as (
    insert into public.diagnoses as x
      (machine_id, code, summary, evidence, fix, certainty, notified_at, notify_count)
    select machine_id, code, summary, evidence, fix, certainty, now(), 1 from items order by ord
    on conflict (machine_id, code) do update
      set last_seen_at = now(), seen_count = x.seen_count + 1, summary = excluded.summary,
          fix = excluded.fix, certainty = excluded.certainty, resolved_at = null,
          notified_at = case
            when (x.notified_at is null or x.notified_at <= now() - make_interval(secs => p_renotify_after_s))
             and (x.silenced_until is null or x.silenced_until <= now()) then now()
            else x.notified_at end,
          notify_count = x.notify_count + case
            when (x.notified_at is null or x.notified_at <= now() - make_interval(secs => p_renotify_after_s))
             and (x.silenced_until is null or x.silenced_until <= now()) then 1
            else 0 end
    returning x.*, (x.xmax = 0) as is_new
  ), told as (
    select up.*, i.ord, i.mark_failed,
      case when up.is_new then 'diagnosis' when up.notified_at = now() then 'reminder' end as notice
    from up join items i using (machine_id, code)
  ), ev as (
    insert into public.machine_events (machine_id, kind, detail)
    select machine_id, notice, jsonb_build_object(
      'code', code, 'summary', summary, 'evidence', evidence, 'fix', fix,
      'certainty', certainty, 'seen_count', seen_count, 'notify_count', notify_count,
      'first_seen_at', first_seen_at, 'last_seen_at', last_seen_at)
    from told where notice is not null order by ord
  ), cm as (
    update public.cloud_machines m
    set diagnosis = jsonb_build_object('code', t.code, 'summary', t.summary, 'fix', t.fix,
                                       'certainty', t.certainty, 'at', t.last_seen_at),
        flagged_at = coalesce(m.flagged_at, now())
    from (select distinct on (machine_id) * from told order by machine_id, ord desc) t
    where m.machine_id = t.machine_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'machine_id', machine_id, 'code', code, 'notice', notice, 'mark_failed', mark_failed)
           order by ord), '[]'::jsonb)
  into result from told;

  -- Certain diagnoses fail their row if it is still starting (the status trigger appends the
  -- status event after the diagnosis event, as one call per row did).
  select array_agg(r->>'machine_id') into failed
  from jsonb_array_elements(result) r where (r->>'mark_failed')::boolean;
  if failed is not null then
    with f as (
      update public.cloud_machines c set status = 'failed', status_detail = i.code
      from (select distinct on (r->>'machine_id') r->>'machine_id' as machine_id, r->>'code' as code
            from jsonb_array_elements(result) r where (r->>'mark_failed')::boolean) i
      where c.machine_id = i.machine_id and c.status = 'starting'
      returning c.machine_id
    )
    select array_agg(machine_id) into failed from f;
  end if;
  return (
    select coalesce(jsonb_agg(r || jsonb_build_object('marked_failed',
             coalesce((r->>'machine_id') = any (failed), false)) order by o), '[]'::jsonb)
    from jsonb_array_elements(result) with ordinality as e(r, o));
end
$$;
revoke all on function public.vyx_record_diagnoses(jsonb, int) from public;
grant execute on function public.vyx_record_diagnoses(jsonb, int) to service_role;
`;

/**
 * The rest of the proposed SQL, for the stuck claim and its release:
 * - cloud_machines with fillfactor 70, so lease and diagnosis updates (no indexed column changes)
 *   are HOT updates on the same page instead of new index entries in all six indexes;
 * - the before-write trigger only where it does something: always on insert, on update only when
 *   the status changes (a WHEN clause: no PL/pgSQL call per leased row);
 * - the release joins unnest(ids) instead of `p_machine_ids is null or machine_id = any(…)`, which
 *   PL/pgSQL's generic plan evaluates row by row against the whole array.
 * (`vyx_release_leases_v2` here so the as-migrated `vyx_release_leases` stays for the current tick.)
 */
export const CLAIM_SQL = `
alter table public.cloud_machines set (fillfactor = 70);
vacuum full public.cloud_machines;
drop trigger if exists vyx_before_write on public.cloud_machines;
create trigger vyx_before_write before insert on public.cloud_machines
  for each row execute function public.vyx_cloud_machines_before_write();
drop trigger if exists vyx_before_write_status on public.cloud_machines;
create trigger vyx_before_write_status before update on public.cloud_machines
  for each row when (old.status is distinct from new.status)
  execute function public.vyx_cloud_machines_before_write();
`;
/** Back to the table and triggers as migrated (between the current and the proposed runs). */
export const CLAIM_SQL_REVERT = `
alter table public.cloud_machines reset (fillfactor);
vacuum full public.cloud_machines;
drop trigger if exists vyx_before_write_status on public.cloud_machines;
drop trigger if exists vyx_before_write on public.cloud_machines;
create trigger vyx_before_write before insert or update on public.cloud_machines
  for each row execute function public.vyx_cloud_machines_before_write();
`;
export const RELEASE_SQL = `
create or replace function public.vyx_release_leases_v2(
  p_owner text,
  p_machine_ids text[] default null
) returns int
language plpgsql volatile set search_path = public as $$
declare
  n int;
begin
  if p_machine_ids is null then
    update public.cloud_machines set lease_owner = null, lease_until = null where lease_owner = p_owner;
  else
    update public.cloud_machines c set lease_owner = null, lease_until = null
    from unnest(p_machine_ids) as u(id)
    where c.machine_id = u.id and c.lease_owner = p_owner;
  end if;
  get diagnostics n = row_count;
  return n;
end
$$;
revoke all on function public.vyx_release_leases_v2(text, text[]) from public;
grant execute on function public.vyx_release_leases_v2(text, text[]) to service_role;
`;

export const RECORD_CHUNK = 1000;

export async function batchedTick(o: {
  store: VyxStore;
  fly: Pick<FlyMachinesClient, 'list' | 'listSecretNames'>;
  registry: Pick<RegistryClient, 'checkImage'>;
  logger: Logger;
  owner: string;
  defaultApp: string;
  stuckAfterS: number;
  supabaseUrl: string;
  serviceKey: string;
}): Promise<TickReport & { phases: Record<string, number> }> {
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string) => {
    const t = performance.now();
    phases[name] = Math.round((phases[name] ?? 0) + t - mark);
    mark = t;
  };
  const sb = createClient(o.supabaseUrl, o.serviceKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
  const now = new Date();
  const rows = await o.store.claimStuck({
    owner: o.owner,
    olderThanS: o.stuckAfterS,
    leaseS: 60,
    limit: 10_000,
  });
  lap('claim');
  const report: TickReport = { claimed: rows.length, diagnosed: [], orphans: 0, flyRequests: 0, blind: [] };
  const item = (machineId: string, d: Diagnosis) => ({
    machine_id: machineId,
    code: d.code,
    summary: d.summary,
    evidence: d.evidence,
    fix: d.fix,
    certainty: d.certainty,
    mark_failed: d.certainty === 'certain',
  });
  async function recordAll(items: ReturnType<typeof item>[]) {
    const out: { machine_id: string; notice: 'diagnosis' | 'reminder' | null; marked_failed: boolean }[] = [];
    for (let i = 0; i < items.length; i += RECORD_CHUNK) {
      const { data, error } = await sb.rpc('vyx_record_diagnoses', {
        p_items: items.slice(i, i + RECORD_CHUNK),
        p_renotify_after_s: 600,
      });
      if (error) throw new Error(`vyx_record_diagnoses: ${error.message}`);
      out.push(...(data as typeof out));
    }
    return out;
  }
  try {
    const apps = new Set(rows.map((r) => r.fly_app ?? o.defaultApp));
    apps.add(o.defaultApp);
    const gathered = await gatherEvidence(rows, o, { now, stuckAfterS: o.stuckAfterS, apps: [...apps] });
    report.flyRequests = gathered.requests.list + gathered.requests.secrets;
    report.blind = [...gathered.failedApps.keys()];
    lap('gather');
    const items: ReturnType<typeof item>[] = [];
    for (const input of gathered.inputs) {
      const app = input.row.fly_app ?? o.defaultApp;
      if (gathered.failedApps.has(app)) continue;
      const d = diagnose(input);
      if (d.code === 'UNKNOWN' && ['created', 'starting'].includes(input.machine?.state ?? '')) continue;
      items.push(item(input.row.machine_id, d));
    }
    lap('diagnose');
    const recorded = await recordAll(items);
    lap('record');
    recorded.forEach((r, i) => {
      report.diagnosed.push({
        machineId: r.machine_id,
        code: items[i]!.code,
        notice: r.notice,
        markedFailed: r.marked_failed,
      });
    });
    const orphans: ReturnType<typeof item>[] = [];
    for (const [app, machines] of gathered.machinesByApp) {
      const candidates = machines.filter(
        (m) =>
          m.state !== 'destroyed' &&
          Date.parse(m.created_at ?? '') <= now.getTime() - o.stuckAfterS * 1000 &&
          orphanMachine({ machine: m, app, now }) !== null,
      );
      if (candidates.length === 0) continue;
      const known = new Set(await o.store.knownFlyIds(candidates.map((m) => m.id)));
      for (const m of candidates) {
        if (!known.has(m.id)) orphans.push(item(`fly:${m.id}`, orphanMachine({ machine: m, app, now })!));
      }
    }
    await recordAll(orphans);
    report.orphans = orphans.length;
    lap('orphans');
  } finally {
    await sb
      .rpc('vyx_release_leases_v2', { p_owner: o.owner, p_machine_ids: rows.map((r) => r.machine_id) })
      .then(() => {});
    lap('release');
  }
  return { ...report, phases };
}
