-- vyxbot: each provisioning's progress, so a crash or a lost Fly answer never leaves a row
-- `starting` or a machine without a row. The provisioner records its create key and each step under
-- a lease; whoever finds a provisioning unfinished with its lease run out (the watcher's next tick,
-- or the same replica after a restart) resolves it: the machine found and linked, or the row failed
-- with a diagnosis. Additive: a table of its own, nothing changes on cloud_machines.

create table if not exists public.vyx_provisionings (
  -- No foreign key: the platform's own cloud_machines may lack the unique key one needs.
  machine_id text primary key,
  -- Written into the Fly machine's metadata (vyx_create_key) before the create call, so the
  -- machine can be found even when Fly's answer is lost.
  create_key text not null,
  step text not null check (step in ('row', 'creating', 'created', 'waiting', 'done', 'failed')),
  fly_app text,
  fly_machine_id text,
  owner text,
  lease_until timestamptz,
  -- How many times a recovery took it over (a provisioning that keeps failing to resolve is visible).
  takeovers int not null default 0,
  detail text,
  started_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists vyx_provisionings_unfinished_idx
  on public.vyx_provisionings (lease_until) where step not in ('done', 'failed');

alter table public.vyx_provisionings enable row level security;
revoke all on public.vyx_provisionings from anon, authenticated;
grant select, insert, update, delete on public.vyx_provisionings to service_role;

-- Begin a tracked provisioning: the row (vyx_begin_provision, unchanged) and its progress record in
-- one transaction, so no row of the bot's exists without its create key.
create or replace function public.vyx_begin_tracked_provision(
  p_user_id text,
  p_fly_app text,
  p_region text,
  p_image text,
  p_create_key text,
  p_owner text,
  p_lease_s int,
  p_slack_team_id text default null,
  p_slack_channel text default null,
  p_requested_by text default null
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  res jsonb;
begin
  if coalesce(btrim(p_create_key), '') = '' or coalesce(btrim(p_owner), '') = '' then
    raise exception 'create_key and owner are required' using errcode = '22023';
  end if;
  res := public.vyx_begin_provision(
    p_user_id => p_user_id, p_fly_app => p_fly_app, p_region => p_region, p_image => p_image,
    p_slack_team_id => p_slack_team_id, p_slack_channel => p_slack_channel,
    p_requested_by => p_requested_by);
  if (res ->> 'created')::boolean then
    insert into public.vyx_provisionings (machine_id, create_key, step, fly_app, owner, lease_until)
    values (res -> 'machine' ->> 'machine_id', p_create_key, 'row', p_fly_app, p_owner,
            now() + make_interval(secs => p_lease_s));
  end if;
  return res;
end
$$;

-- Record a step. Fenced: false (nothing written) when the provisioning is no longer this owner's —
-- a recovery took it over after the lease ran out — so the provisioner stops instead of racing it.
-- `done` and `failed` end it (owner and lease cleared); p_lease_s 0 hands it over to recovery now.
create or replace function public.vyx_provision_step(
  p_machine_id text,
  p_owner text,
  p_step text,
  p_lease_s int default 180,
  p_fly_machine_id text default null,
  p_detail text default null
) returns boolean
language plpgsql volatile set search_path = public as $$
declare
  finished boolean := p_step in ('done', 'failed');
begin
  if p_step not in ('row', 'creating', 'created', 'waiting', 'done', 'failed') then
    raise exception 'unknown provisioning step %', p_step using errcode = '22023';
  end if;
  update public.vyx_provisionings
  set step = p_step,
      fly_machine_id = coalesce(p_fly_machine_id, fly_machine_id),
      detail = coalesce(p_detail, detail),
      owner = case when finished then null else owner end,
      lease_until = case when finished then null else now() + make_interval(secs => p_lease_s) end,
      updated_at = now()
  where machine_id = p_machine_id and owner = p_owner and step not in ('done', 'failed');
  return found;
end
$$;

-- Claim unfinished provisionings whose lease ran out (or, after a restart, those held under this
-- replica's own name: its previous process is gone). Each comes with its row. SKIP LOCKED: replicas
-- never resolve the same one twice.
create or replace function public.vyx_claim_provisionings(
  p_owner text,
  p_lease_s int default 60,
  p_reclaim_own boolean default false,
  p_limit int default 100
) returns setof jsonb
language plpgsql volatile set search_path = public as $$
begin
  return query
  with due as (
    select p.machine_id from public.vyx_provisionings p
    join public.cloud_machines m on m.machine_id = p.machine_id
    where p.step not in ('done', 'failed')
      and (p.lease_until is null or p.lease_until < now() or (p_reclaim_own and p.owner = p_owner))
    order by p.started_at
    limit p_limit
    for update of p skip locked
  ), claimed as (
    update public.vyx_provisionings p
    set owner = p_owner, lease_until = now() + make_interval(secs => p_lease_s),
        takeovers = p.takeovers + 1, updated_at = now()
    from due where p.machine_id = due.machine_id
    returning p.*
  )
  select to_jsonb(c) || jsonb_build_object('row', to_jsonb(m))
  from claimed c join public.cloud_machines m on m.machine_id = c.machine_id;
end
$$;

-- The progress record of one provisioning (destroy looks up the create key), or nothing.
create or replace function public.vyx_get_provisioning(p_machine_id text) returns setof public.vyx_provisionings
language sql stable set search_path = public as $$
  select * from public.vyx_provisionings where machine_id = p_machine_id
$$;

-- Which of these rows a live provisioning is still working on (the watcher leaves them to it).
create or replace function public.vyx_provisioning_in_progress(p_machine_ids text[]) returns setof text
language sql stable set search_path = public as $$
  select machine_id from public.vyx_provisionings
  where machine_id = any (p_machine_ids) and step not in ('done', 'failed') and lease_until >= now()
$$;

select public.secure_vyx_functions();
