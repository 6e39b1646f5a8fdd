-- vyxbot: a stuck page is found through its app (issue #17). vyx_claim_stuck_page read every stuck
-- row of every app to pick one app's page: ~150 ms a page at 100,000 rows, 100 pages a tick. Only
-- `starting` rows are indexed (few, outside an incident); on a large table, build the index first
-- with supabase/manual/prepare-large-cloud-machines.sql (CONCURRENTLY).
create index if not exists cloud_machines_starting_app_idx
  on public.cloud_machines (fly_app, status_changed_at) where status = 'starting';

-- As in 20261201700000, the same rows in the same order; the row filter is spelled as a union of
-- cases (starting in the app; starting with no app, for the default app; a word outside the
-- vocabulary) so the planner can read each case from its own partial index.
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
    where ((status = 'starting' and fly_app = p_fly_app)
           or (status = 'starting' and fly_app is null and p_fly_app = p_default_app)
           or (status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed')
               and (fly_app = p_fly_app or (fly_app is null and p_fly_app = p_default_app))))
      and status_changed_at <= now() - make_interval(secs => p_older_than_s)
      and (lease_until is null or lease_until < now())
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

select public.secure_vyx_functions();
