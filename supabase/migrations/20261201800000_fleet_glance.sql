-- #18.1: an admin's App Home shows the fleet at a glance: machines starting, stuck (starting past
-- the stuck bound, or flagged by a watcher), failed, orphans (Fly machines no row claims, recorded as
-- ORPHAN_MACHINE diagnoses on `fly:<id>`) and silenced diagnoses. Each group is counted in full and
-- its oldest few are listed, so the view stays within Block Kit's limits however big the fleet is.
-- Read-only; works with user_id text or uuid (compared and returned as text).
create or replace function public.vyx_fleet_glance(
  p_stuck_after_s int default 60,
  p_per_group int default 5
) returns jsonb
language sql stable set search_path = public as $$
  with tagged as (
    select m.machine_id, m.user_id::text as user_id, m.status_changed_at as since,
           case
             when m.status = 'starting'
                  and (m.flagged_at is not null
                       or m.status_changed_at < now() - make_interval(secs => greatest(p_stuck_after_s, 1)))
               then 'stuck'
             when m.status = 'starting' then 'starting'
             when m.status = 'failed' then 'failed'
           end as grp,
           coalesce(m.diagnosis ->> 'code', m.status_detail, '') as detail
    from public.cloud_machines m
    where m.status in ('starting', 'failed')
    union all
    select d.machine_id, '' as user_id, d.first_seen_at as since, 'orphans' as grp, d.summary as detail
    from public.diagnoses d
    where d.code = 'ORPHAN_MACHINE' and d.resolved_at is null
    union all
    select d.machine_id, coalesce(m.user_id::text, '') as user_id, d.silenced_until as since,
           'silenced' as grp, d.code as detail
    from public.diagnoses d
    left join public.cloud_machines m on m.machine_id = d.machine_id
    where d.silenced_until > now() and d.resolved_at is null
  ),
  ranked as (
    select t.*,
           row_number() over (partition by t.grp order by t.since, t.machine_id) as rn,
           count(*) over (partition by t.grp) as n
    from tagged t
  )
  select coalesce(
    jsonb_object_agg(g.grp, jsonb_build_object('count', g.n, 'oldest', g.oldest)),
    '{}'::jsonb)
  from (
    select r.grp, max(r.n) as n,
           jsonb_agg(
             jsonb_build_object('machine_id', r.machine_id, 'user_id', r.user_id,
                                'since', r.since, 'detail', left(r.detail, 200))
             order by r.since, r.machine_id
           ) filter (where r.rn <= greatest(1, least(coalesce(p_per_group, 5), 20))) as oldest
    from ranked r
    group by r.grp
  ) g
$$;

revoke all on function public.vyx_fleet_glance(int, int) from public, anon, authenticated;
grant execute on function public.vyx_fleet_glance(int, int) to service_role;
