-- #18.3: an alert card resolves in place. Where each diagnosis's card was posted (channel + ts) is
-- remembered, so when the machine recovers or is destroyed — or Fly answers the watcher again — the
-- card itself is edited to "resolved" (by whom, after how long) instead of a new post. Additive:
-- nullable columns, one widened check, new functions.

alter table public.diagnoses add column if not exists alert_channel text;
alter table public.diagnoses add column if not exists alert_ts text;
alter table public.diagnoses add column if not exists resolved_by text;
-- When the card was edited to resolved (null: not yet, or seen again since: last_seen_at is later).
alter table public.diagnoses add column if not exists card_resolved_at timestamptz;

-- A `resolved` outbox event: a diagnosis with no row status to end it (WATCHER_BLIND) is over.
alter table public.machine_events drop constraint if exists machine_events_kind_check;
alter table public.machine_events add constraint machine_events_kind_check
  check (kind in ('status', 'diagnosis', 'reminder', 'warning', 'resolved'));

-- The echo remembers each posted diagnosis card: p_items is [{"machine_id", "code", "channel", "ts"}].
create or replace function public.vyx_remember_alerts(p_items jsonb) returns int
language plpgsql volatile set search_path = public as $$
declare
  n int;
begin
  update public.diagnoses d
  set alert_channel = a.channel, alert_ts = a.ts
  from jsonb_to_recordset(coalesce(p_items, '[]'::jsonb)) as a(machine_id text, code text, channel text, ts text)
  where d.machine_id = a.machine_id and d.code = a.code and a.channel is not null and a.ts is not null;
  get diagnostics n = row_count;
  return n;
end
$$;

-- The machines' alert cards (the newest per machine): where their follow-ups belong when the row
-- has no thread of its own.
create or replace function public.vyx_alert_cards(p_machine_ids text[])
returns table (machine_id text, channel text, ts text)
language sql stable set search_path = public as $$
  select distinct on (d.machine_id) d.machine_id, d.alert_channel, d.alert_ts
  from public.diagnoses d
  where d.machine_id = any (coalesce(p_machine_ids, '{}'::text[])) and d.alert_ts is not null
  order by d.machine_id, d.first_seen_at desc;
$$;

-- The machine's diagnoses are over: marks them resolved (by p_by) and answers the cards to edit,
-- each once across replicas (card_resolved_at is the claim). p_codes null: all of the machine's.
create or replace function public.vyx_resolve_alerts(
  p_machine_id text,
  p_by text,
  p_codes text[] default null
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  result jsonb;
begin
  with r as (
    update public.diagnoses d
    set resolved_at = coalesce(d.resolved_at, now()), resolved_by = left(p_by, 300),
        card_resolved_at = now()
    where d.machine_id = p_machine_id
      and (p_codes is null or d.code = any (p_codes))
      and (d.card_resolved_at is null or d.card_resolved_at < d.last_seen_at)
    returning d.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'machine_id', machine_id, 'code', code, 'summary', summary, 'fix', fix,
           'certainty', certainty, 'first_seen_at', first_seen_at, 'resolved_at', resolved_at,
           'resolved_by', resolved_by, 'alert_channel', alert_channel, 'alert_ts', alert_ts)
           order by first_seen_at), '[]'::jsonb)
  into result from r where alert_ts is not null;
  return result;
end
$$;

-- The watcher saw Fly again: a WATCHER_BLIND still open is resolved and the outbox told, once.
create or replace function public.vyx_resolve_watcher_blind(p_key text, p_by text) returns boolean
language plpgsql volatile set search_path = public as $$
begin
  update public.diagnoses set resolved_at = now()
  where machine_id = p_key and code = 'WATCHER_BLIND' and resolved_at is null;
  if not found then
    return false;
  end if;
  insert into public.machine_events (machine_id, kind, detail)
  values (p_key, 'resolved', jsonb_build_object('code', 'WATCHER_BLIND', 'by', left(p_by, 300)));
  return true;
end
$$;

select public.secure_vyx_functions();
