-- vyxbot: a page's claim and its release read the rows they touch by key (issue #17). The claim's
-- UPDATE joined its page to cloud_machines by hashing the whole table (the planner guesses 250
-- rows from a CTE), and the release joined its ids with a nested loop (page × page comparisons):
-- at 10,000 stuck rows ~50 ms and ~35 ms a page of 500, most of Postgres's share of a tick.
-- The same rows, the same order, the same answers as 20261202100000 and 20261123053100.
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
declare
  ids text[];
begin
  -- Locked (skip locked) in the page's order; the ids then lead the update to each row by its key.
  select array_agg(machine_id) into ids from (
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
  ) c;
  if ids is null then
    return;
  end if;
  return query
  with u as (
    update public.cloud_machines m
    set lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_s)
    where m.machine_id = any (ids)
    returning m.*
  )
  select * from u order by u.status_changed_at, u.machine_id;
end
$$;

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
    where c.machine_id = any (p_machine_ids) and c.lease_owner = p_owner;
  end if;
  get diagnostics n = row_count;
  return n;
end
$$;

select public.secure_vyx_functions();
