-- Poison deliveries: an outbox event Slack will never accept where it belongs (thread_not_found,
-- channel_not_found, not_in_channel, is_archived, …) is set aside — marked delivered, so it no
-- longer blocks its machine's queue or anyone waiting for the outbox to drain — with the reason,
-- where its fallback post went (slack_ts) and how many attempts it took, for an operator to read.
-- Additive: one nullable column, new functions.

alter table public.machine_events add column if not exists set_aside_reason text;

create index if not exists machine_events_set_aside_idx
  on public.machine_events (delivered_at desc) where set_aside_reason is not null;

-- p_items: [{"id": 1, "reason": "channel_not_found in C123; posted to the owner's DM", "slack_ts": "…"}]
create or replace function public.vyx_set_aside_events(p_owner text, p_items jsonb) returns int
language plpgsql volatile set search_path = public as $$
declare
  n int;
begin
  update public.machine_events e
  set delivered_at = now(), slack_ts = a.slack_ts, set_aside_reason = left(a.reason, 500),
      claimed_by = p_owner, claim_until = null
  from jsonb_to_recordset(coalesce(p_items, '[]'::jsonb)) as a(id bigint, reason text, slack_ts text)
  where e.id = a.id and e.delivered_at is null and a.reason is not null;
  get diagnostics n = row_count;
  return n;
end
$$;

-- What was set aside, newest first (operators: select * from vyx_set_aside_list(50)).
create or replace function public.vyx_set_aside_list(p_limit int default 50)
returns table (
  id bigint, machine_id text, kind text, attempts int, reason text, slack_ts text,
  created_at timestamptz, set_aside_at timestamptz
)
language sql stable set search_path = public as $$
  select e.id, e.machine_id, e.kind, e.attempts, e.set_aside_reason, e.slack_ts, e.created_at, e.delivered_at
  from public.machine_events e
  where e.set_aside_reason is not null
  order by e.delivered_at desc, e.id desc
  limit greatest(1, least(coalesce(p_limit, 50), 500));
$$;

-- Undelivered events of these machines only (the local shell waits for the work it started).
create or replace function public.vyx_pending_events_of(p_machine_ids text[]) returns int
language sql stable set search_path = public as $$
  select count(*)::int from public.machine_events
  where delivered_at is null and machine_id = any (coalesce(p_machine_ids, '{}'::text[]));
$$;

select public.secure_vyx_functions();
