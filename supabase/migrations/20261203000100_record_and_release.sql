-- vyxbot: a page's diagnoses and its leases in one write per row (issue #17). The tick wrote each
-- recorded row three times (lease, diagnosis, release); now the diagnosis update gives its lease
-- back too, and the release that follows finds only the page's rows that got no diagnosis. Each
-- chunk of a page releases the rows it records (vyx_record_page), so every recorded row is written
-- twice. What is recorded is unchanged: vyx_record_diagnoses is vyx_record_items without a release.
create or replace function public.vyx_record_items(
  p_items jsonb,
  p_renotify_after_s int,
  p_owner text,
  p_release_ids text[]
) returns jsonb
language plpgsql volatile set search_path = public set work_mem = '64MB' as $$
declare
  result jsonb;
  failed text[];
begin
  -- As 20261123053100's vyx_record_diagnoses; the row update also gives back the lease this owner
  -- holds on a row named in p_release_ids.
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
        flagged_at = coalesce(m.flagged_at, now()),
        lease_owner = case when m.lease_owner = p_owner and m.machine_id = any (p_release_ids)
                           then null else m.lease_owner end,
        lease_until = case when m.lease_owner = p_owner and m.machine_id = any (p_release_ids)
                           then null else m.lease_until end
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
    -- vyxbot's own write, which may rightly match nothing (the row moved on): not a lost write.
    perform set_config('vyx.internal_write', 'on', true);
    with f as (
      update public.cloud_machines c set status = 'failed', status_detail = i.code
      from (select distinct on (r->>'machine_id') r->>'machine_id' as machine_id, r->>'code' as code
            from jsonb_array_elements(result) r where (r->>'mark_failed')::boolean) i
      where c.machine_id = i.machine_id and c.status = 'starting'
      returning c.machine_id
    )
    select array_agg(machine_id) into failed from f;
    perform set_config('vyx.internal_write', 'off', true);
  end if;
  -- The named rows that got no diagnosis here (their lease is still this owner's).
  if p_owner is not null and p_release_ids is not null then
    update public.cloud_machines c set lease_owner = null, lease_until = null
    where c.machine_id = any (p_release_ids) and c.lease_owner = p_owner;
  end if;
  return (
    select coalesce(jsonb_agg(r || jsonb_build_object('marked_failed',
             coalesce((r->>'machine_id') = any (failed), false)) order by o), '[]'::jsonb)
    from jsonb_array_elements(result) with ordinality as e(r, o));
end
$$;

create or replace function public.vyx_record_diagnoses(
  p_items jsonb,
  p_renotify_after_s int default 600
) returns jsonb
language sql volatile set search_path = public as $$
  select public.vyx_record_items(p_items, p_renotify_after_s, null, null)
$$;

-- The leases of p_release_ids given back, those of rows recorded here in the same write.
create or replace function public.vyx_record_page(
  p_items jsonb,
  p_renotify_after_s int default 600,
  p_owner text default null,
  p_release_ids text[] default null
) returns jsonb
language sql volatile set search_path = public as $$
  select public.vyx_record_items(p_items, p_renotify_after_s, p_owner, p_release_ids)
$$;

select public.secure_vyx_functions();
