-- vyxbot: the stuck watcher at thousands of rows, and fencing for the echo.
-- Measured in bench/ (npm run bench): recording diagnoses one call per row made a 10,000-row tick
-- take ~71 s; one set-based call per 1,000 rows was ~14× faster with identical results (checked row
-- by row against one call per item before adoption).

-- Lease and diagnosis updates change no indexed column: room on the page keeps them HOT updates.
alter table public.cloud_machines set (fillfactor = 70);

-- The before-write trigger only where it does something: on insert, and on an update that changes
-- the status (a WHEN clause, so leasing 10,000 rows calls no PL/pgSQL per row).
drop trigger if exists vyx_before_write on public.cloud_machines;
create trigger vyx_before_write before insert on public.cloud_machines
  for each row execute function public.vyx_cloud_machines_before_write();
drop trigger if exists vyx_before_write_status on public.cloud_machines;
create trigger vyx_before_write_status before update on public.cloud_machines
  for each row when (old.status is distinct from new.status)
  execute function public.vyx_cloud_machines_before_write();

-- Releasing named leases joins the ids instead of testing `= any(array)` row by row.
create or replace function public.vyx_release_leases(
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

-- Many diagnoses in one call, each exactly as vyx_record_diagnosis records one: p_items is
-- [{machine_id, code, summary, evidence, fix, certainty, mark_failed}, …]; returns, in order,
-- [{machine_id, code, notice, mark_failed, marked_failed}, …].
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

-- Fencing for the echo: before posting, a replica renews the claim of the events it is about to
-- post and gets back those still its own. An event whose lease ran out and that another replica
-- claimed is not posted twice.
create or replace function public.vyx_renew_events(
  p_owner text,
  p_ids bigint[],
  p_lease_s int default 30
) returns setof bigint
language sql volatile set search_path = public as $$
  update public.machine_events
  set claim_until = now() + make_interval(secs => p_lease_s)
  where id = any (p_ids) and claimed_by = p_owner and delivered_at is null
  returning id
$$;

select public.secure_vyx_functions();
