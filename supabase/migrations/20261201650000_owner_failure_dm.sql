-- #16.4: when a machine fails, its owner gets one direct message per failure (besides the thread or
-- alert channel), unless they turned it off (`/vyx notify off`). A failure is one status event
-- `… -> failed`; its notice is claimed here before the message is sent, so replicas and redelivered
-- events never send it twice. Additive: one column with a default, one table, new functions.

alter table public.slack_identities add column if not exists failure_dm boolean not null default true;

create table if not exists public.owner_notices (
  event_id bigint primary key,
  machine_id text not null,
  slack_user_id text not null,
  sent_at timestamptz not null default now()
);
alter table public.owner_notices enable row level security;
grant select, insert, delete on public.owner_notices to service_role;

-- The owner's Slack id when this call claims the notice for this failure event; null when the event
-- is no failure, the owner is unknown or turned DMs off, or the notice was claimed already.
create or replace function public.vyx_claim_owner_notice(p_event_id bigint) returns text
language plpgsql volatile set search_path = public as $$
declare
  v_machine text;
  v_owner text;
begin
  select e.machine_id into v_machine from public.machine_events e
  where e.id = p_event_id and e.kind = 'status' and e.new_status = 'failed';
  if v_machine is null then
    return null;
  end if;
  -- Who asked for it in Slack; else (a row the web UI made) the Slack user linked to its owner.
  select coalesce(m.requested_by,
           (select s.slack_user_id from public.slack_identities s
            where s.user_id = m.user_id::text order by s.created_at limit 1))
    into v_owner
  from public.cloud_machines m where m.machine_id = v_machine;
  if v_owner is null
     or exists (select 1 from public.slack_identities s where s.slack_user_id = v_owner and not s.failure_dm) then
    return null;
  end if;
  insert into public.owner_notices (event_id, machine_id, slack_user_id)
  values (p_event_id, v_machine, v_owner)
  on conflict (event_id) do nothing;
  if not found then
    return null;
  end if;
  return v_owner;
end
$$;

-- A notice whose message Slack refused: unclaimed so a later delivery of the event may send it.
create or replace function public.vyx_release_owner_notice(p_event_id bigint) returns void
language sql volatile set search_path = public as $$
  delete from public.owner_notices where event_id = p_event_id;
$$;

-- `/vyx notify on|off`: false when the Slack user is not linked.
create or replace function public.vyx_set_failure_dm(p_slack_team_id text, p_slack_user_id text, p_on boolean)
returns boolean
language plpgsql volatile set search_path = public as $$
begin
  update public.slack_identities set failure_dm = coalesce(p_on, true), updated_at = now()
  where slack_team_id = p_slack_team_id and slack_user_id = p_slack_user_id;
  return found;
end
$$;

select public.secure_vyx_functions();
