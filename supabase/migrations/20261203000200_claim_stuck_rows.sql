-- vyxbot: a claimed page answers with the columns the watcher judges by, not whole rows (issue
-- #17). Half of each row (update and lease times, Slack routing, the last diagnosis summary) was
-- never read, yet made into JSON by Postgres, carried by the gateway and parsed by the bot: 6.6 MB
-- of a 10,000-row tick. The same claim (vyx_claim_stuck_page: same rows, leases and order); the
-- whole-row function stays for callers that want it.
create or replace function public.vyx_claim_stuck_rows(
  p_owner text,
  p_fly_app text,
  p_default_app text,
  p_older_than_s int default 60,
  p_lease_s int default 30,
  p_limit int default 1000,
  p_after_at timestamptz default null,
  p_after_id text default null,
  p_skip_provisioning boolean default false
) returns table (
  machine_id text,
  user_id text,
  status text,
  status_changed_at timestamptz,
  created_at timestamptz,
  fly_app text,
  fly_machine_id text,
  image text,
  last_heartbeat_at timestamptz,
  status_written_by jsonb
)
language sql volatile set search_path = public as $$
  select c.machine_id::text, c.user_id::text, c.status::text, c.status_changed_at, c.created_at,
         c.fly_app, c.fly_machine_id, c.image, c.last_heartbeat_at, c.status_written_by
  from public.vyx_claim_stuck_page(p_owner, p_fly_app, p_default_app, p_older_than_s, p_lease_s,
                                   p_limit, p_after_at, p_after_id, p_skip_provisioning)
       with ordinality as c
  order by c.ordinality
$$;

select public.secure_vyx_functions();
