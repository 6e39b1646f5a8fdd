-- Slack deliveries already acted on (issues 11.4 and 13.5): a replayed signed request, a Slack
-- retry (X-Slack-Retry-Num), a Socket Mode redelivery or two identical button presses at once
-- are acted on once, across every replica. Keys: `sig:<x-slack-signature>` for exact replays,
-- `trigger:<trigger_id>` (or the event id) for what Slack keeps the same across deliveries.
-- Additive: new table, new function, and the audit's checks widened (no row changes).

create table if not exists public.slack_deliveries_seen (
  key text primary key,
  seen_at timestamptz not null default now()
);
create index if not exists slack_deliveries_seen_at_idx on public.slack_deliveries_seen (seen_at);

alter table public.slack_deliveries_seen enable row level security;
revoke all on public.slack_deliveries_seen from anon, authenticated;
grant select, insert, delete on public.slack_deliveries_seen to service_role;

-- True when none of the delivery's keys was seen within p_keep_s (then all are recorded); false
-- for a duplicate. Concurrent identical deliveries serialize on the primary key: exactly one wins.
-- p_keep_s must outlast Slack's 5-minute signature window, so a replay inside it is always caught.
create or replace function public.vyx_first_delivery(p_keys text[], p_keep_s int default 600)
returns boolean
language plpgsql volatile set search_path = public as $$
declare
  wanted int;
  inserted int;
begin
  if p_keys is null or cardinality(p_keys) = 0 then
    raise exception 'a delivery needs at least one key' using errcode = '22023';
  end if;
  if p_keep_s < 300 then
    raise exception 'keys must be kept at least 300 s (Slack''s replay window), not %', p_keep_s
      using errcode = '22023';
  end if;
  delete from public.slack_deliveries_seen where seen_at < now() - make_interval(secs => p_keep_s);
  select count(distinct k) into wanted from unnest(p_keys) k;
  insert into public.slack_deliveries_seen (key)
  select distinct k from unnest(p_keys) k
  on conflict (key) do nothing;
  get diagnostics inserted = row_count;
  return inserted = wanted;
end
$$;

-- The audit records duplicates as such, and requests refused before any handler ran.
alter table public.audit_log drop constraint if exists audit_log_outcome_check;
alter table public.audit_log add constraint audit_log_outcome_check
  check (outcome in ('ok', 'denied', 'invalid', 'error', 'duplicate'));
alter table public.audit_log drop constraint if exists audit_log_action_check;
alter table public.audit_log add constraint audit_log_action_check
  check (action in ('command', 'button', 'request'));

select public.secure_vyx_functions();
