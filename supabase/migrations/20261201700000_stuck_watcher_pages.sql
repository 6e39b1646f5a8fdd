-- vyxbot: the stuck watcher works one Fly app at a time and claims that app's stuck rows in
-- bounded pages (memory flat in the number of rows; issue #17). Rows naming no app belong to the
-- watcher's default app.

-- The apps that have claimable stuck rows, with how many and since when (the oldest row's
-- status_changed_at: the tick's one read of unmatched status writes starts there).
create or replace function public.vyx_stuck_apps(
  p_default_app text,
  p_older_than_s int default 60
) returns table (fly_app text, stuck bigint, oldest timestamptz)
language sql stable set search_path = public as $$
  select coalesce(m.fly_app, p_default_app), count(*), min(m.status_changed_at)
  from public.cloud_machines m
  where (m.status = 'starting'
         or m.status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed'))
    and m.status_changed_at <= now() - make_interval(secs => p_older_than_s)
    and (m.lease_until is null or m.lease_until < now())
  group by 1
  order by 1
$$;

-- One page of one app's stuck rows, claimed with a lease exactly as vyx_claim_stuck claims (skip
-- locked: concurrent claimers never receive the same row), in (status_changed_at, machine_id)
-- order after the page before (p_after_at, p_after_id): a row whose lease the tick gave back
-- after its page is not claimed again by the same tick. The page comes back in that order. With
-- p_skip_provisioning, rows a live provisioning is still working on (vyx_provisioning_in_progress)
-- are left to it, unclaimed: one call per page instead of two.
create or replace function public.vyx_claim_stuck_page(
  p_owner text,
  p_fly_app text,
  p_default_app text,
  p_older_than_s int default 60,
  p_lease_s int default 30,
  p_limit int default 1000,
  p_after_at timestamptz default null,
  p_after_id text default null,
  p_skip_provisioning boolean default false
) returns setof public.cloud_machines
language plpgsql volatile set search_path = public as $$
begin
  return query
  with c as (
    select machine_id from public.cloud_machines
    where (status = 'starting'
           or status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed'))
      and status_changed_at <= now() - make_interval(secs => p_older_than_s)
      and (lease_until is null or lease_until < now())
      and (fly_app = p_fly_app or (fly_app is null and p_fly_app = p_default_app))
      and (p_after_at is null or (status_changed_at, machine_id) > (p_after_at, p_after_id))
      and not (p_skip_provisioning and exists (
        select 1 from public.vyx_provisionings p
        where p.machine_id = cloud_machines.machine_id and p.step not in ('done', 'failed')
          and p.lease_until >= now()))
    order by status_changed_at, machine_id
    limit p_limit
    for update skip locked
  ), u as (
    update public.cloud_machines m
    set lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_s)
    from c
    where m.machine_id = c.machine_id
    returning m.*
  )
  select * from u order by u.status_changed_at, u.machine_id;
end
$$;

-- A tick's page of diagnoses is sorted three times (dedup, insert order, one summary per row); at
-- Postgres's default 4 MB of work memory those sorts went to disk for a few thousand diagnoses.
alter function public.vyx_record_diagnoses(jsonb, int) set work_mem = '64MB';

select public.secure_vyx_functions();
