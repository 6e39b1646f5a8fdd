-- vyxbot: a page's record without a scan of the page per row (issue #17). vyx_record_items
-- (20261203000100) tested each row's lease with `machine_id = any (p_release_ids)` — the page's
-- 1,000 ids scanned per row and column once the plan went generic — and the failed rows' ids the
-- same way per item of its answer. Now the page's ids are a set (hash joins) and the failed rows a
-- jsonb object looked up by key. What is recorded is the same, row by row and event by event
-- (test/watchers/tick-sql-before-after.test.ts). The certain diagnoses still fail their rows in a
-- statement of their own: naming `status` in the page's update would run the status triggers for
-- every row of it.
create or replace function public.vyx_record_items(
  p_items jsonb,
  p_renotify_after_s int,
  p_owner text,
  p_release_ids text[]
) returns jsonb
language plpgsql volatile set search_path = public set work_mem = '64MB' as $$
declare
  result jsonb;
  fails jsonb;
  failed jsonb;
begin
  with items as (
    select distinct on (it->>'machine_id', it->>'code')
      it->>'machine_id' as machine_id, it->>'code' as code, it->>'summary' as summary,
      coalesce(it->'evidence', '[]'::jsonb) as evidence, it->>'fix' as fix,
      it->>'certainty' as certainty, coalesce((it->>'mark_failed')::boolean, false) as mark_failed, ord
    from jsonb_array_elements(p_items) with ordinality as e(it, ord)
    order by it->>'machine_id', it->>'code', ord desc
  ), released as (
    select distinct id from unnest(coalesce(p_release_ids, '{}')) as r(id) where p_owner is not null
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
  ), per_row as (
    -- A row's diagnosis is its last item's; it fails with the code of its last certain one.
    select t.machine_id,
           (array_agg(jsonb_build_object('code', t.code, 'summary', t.summary, 'fix', t.fix,
                                         'certainty', t.certainty, 'at', t.last_seen_at)
                      order by t.ord desc))[1] as diagnosis,
           (array_agg(t.code order by t.ord desc) filter (where t.mark_failed))[1] as failed_code,
           bool_or(r.id is not null) as release
    from told t left join released r on r.id = t.machine_id
    group by t.machine_id
  ), cm as (
    update public.cloud_machines m
    set diagnosis = p.diagnosis,
        flagged_at = coalesce(m.flagged_at, now()),
        lease_owner = case when p.release and m.lease_owner = p_owner then null else m.lease_owner end,
        lease_until = case when p.release and m.lease_owner = p_owner then null else m.lease_until end
    from per_row p
    where m.machine_id = p.machine_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'machine_id', machine_id, 'code', code, 'notice', notice, 'mark_failed', mark_failed,
           'marked_failed', false)
           order by ord), '[]'::jsonb),
         (select jsonb_object_agg(machine_id, failed_code) from per_row where failed_code is not null)
  into result, fails from told;

  -- Certain diagnoses fail their row if it is still starting (the status trigger appends the
  -- status event after the diagnosis event, as one call per row did).
  if fails is not null then
    -- vyxbot's own write, which may rightly match nothing (the row moved on): not a lost write.
    perform set_config('vyx.internal_write', 'on', true);
    with f as (
      update public.cloud_machines c set status = 'failed', status_detail = fails ->> c.machine_id
      from jsonb_object_keys(fails) as k(machine_id)
      where c.machine_id = k.machine_id and c.status = 'starting'
      returning c.machine_id
    )
    select jsonb_object_agg(machine_id, true) into failed from f;
    perform set_config('vyx.internal_write', 'off', true);
  end if;
  -- The named rows that got no diagnosis here (their lease is still this owner's): an index probe
  -- each. Not in the statement above: a CTE's row count is unknown to the planner, which joins
  -- against one with a nested loop, a scan of the page per id.
  if p_owner is not null and p_release_ids is not null then
    update public.cloud_machines c set lease_owner = null, lease_until = null
    where c.machine_id = any (p_release_ids) and c.lease_owner = p_owner;
  end if;
  if failed is null then
    return result;
  end if;
  -- The failed rows looked up by key (an object), not scanned for per item.
  return (
    select jsonb_agg(r || jsonb_build_object('marked_failed', failed ? (r->>'machine_id')) order by o)
    from jsonb_array_elements(result) with ordinality as e(r, o));
end
$$;

select public.secure_vyx_functions();
