-- vyxbot: triggers and the SQL functions that own every state change and claim. Each PostgREST
-- request is one transaction, so every claim happens inside one function call.
-- Error convention: see 20261123053000_roles_and_schema.sql.

-- ---------------------------------------------------------------------------------------------
-- Triggers: keep status_changed_at true and append an outbox event on every status change, whoever
-- wrote it (the bot, the runtime, or the web UI's edge function with a plain UPDATE).
-- Who is writing, as PostgREST tells it (the request's role, method, path and JWT subject) or, for a
-- direct connection, the database user and application: evidence for a status nobody expected.
create or replace function public.vyx_writer() returns jsonb
language plpgsql stable set search_path = public as $$
declare
  -- The request's role: SET ROLE's value (PostgREST switches with it; SECURITY DEFINER does not
  -- change it), else the session's user for a direct connection.
  who jsonb := jsonb_strip_nulls(jsonb_build_object(
    'role', coalesce(nullif(current_setting('role', true), 'none'), session_user::text),
    'method', nullif(current_setting('request.method', true), ''),
    'path', nullif(current_setting('request.path', true), ''),
    'db_user', session_user::text,
    'application', nullif(current_setting('application_name', true), '')));
  claims jsonb;
begin
  begin
    claims := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  exception when others then
    -- Whatever a writer left in that setting, its write must not fail because of it.
    return who;
  end;
  return who || jsonb_strip_nulls(jsonb_build_object('sub', claims ->> 'sub', 'machine_id', claims ->> 'machine_id'));
end
$$;

create or replace function public.vyx_cloud_machines_before_write() returns trigger
language plpgsql set search_path = public as $$
begin
  if tg_op = 'INSERT' then
    new.status_changed_at := now();
    new.status_written_by := public.vyx_writer();
  elsif new.status is distinct from old.status then
    new.status_changed_at := now();
    new.updated_at := now();
    new.status_written_by := public.vyx_writer();
    -- A flagged machine that comes up is no longer flagged; the event below says it was resolved.
    if new.status = 'running' and old.flagged_at is not null then
      new.flagged_at := null;
    end if;
  end if;
  return new;
end
$$;

create or replace function public.vyx_cloud_machines_status_event() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  resolved_code text;
begin
  if tg_op = 'UPDATE' and new.status is not distinct from old.status then
    return null;
  end if;
  if tg_op = 'UPDATE' and new.status = 'running' and old.flagged_at is not null then
    resolved_code := old.diagnosis ->> 'code';
    update public.diagnoses set resolved_at = now()
    where machine_id = new.machine_id and resolved_at is null;
  end if;
  insert into public.machine_events (machine_id, kind, old_status, new_status, detail)
  values (
    new.machine_id, 'status',
    case when tg_op = 'UPDATE' then old.status end,
    new.status,
    jsonb_strip_nulls(jsonb_build_object('detail', new.status_detail, 'resolved_code', resolved_code))
  );
  return null;
end
$$;

-- On insert, and on an update that changes the status (a WHEN clause: leasing 10,000 rows calls no
-- PL/pgSQL per row).
drop trigger if exists vyx_before_write on public.cloud_machines;
create trigger vyx_before_write before insert on public.cloud_machines
  for each row execute function public.vyx_cloud_machines_before_write();
drop trigger if exists vyx_before_write_status on public.cloud_machines;
create trigger vyx_before_write_status before update on public.cloud_machines
  for each row when (old.status is distinct from new.status)
  execute function public.vyx_cloud_machines_before_write();

drop trigger if exists vyx_status_event on public.cloud_machines;
create trigger vyx_status_event after insert or update of status on public.cloud_machines
  for each row execute function public.vyx_cloud_machines_status_event();

-- Wake the echo watcher early (LISTEN); polling stays the guarantee.
create or replace function public.vyx_machine_events_notify() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  perform pg_notify('vyx_machine_events', new.machine_id);
  return null;
end
$$;

drop trigger if exists vyx_notify on public.machine_events;
create trigger vyx_notify after insert on public.machine_events
  for each row execute function public.vyx_machine_events_notify();

-- ---------------------------------------------------------------------------------------------
-- Helpers
create or replace function public.vyx_raise_not_found(p_machine_id text) returns void
language plpgsql set search_path = public as $$
begin
  raise exception 'no cloud_machines row has machine_id %', coalesce(quote_literal(p_machine_id), 'NULL')
    using errcode = 'P0001',
          detail = format('machine_id=%s', p_machine_id),
          hint = 'Check the MACHINE_ID the machine was started with: it must equal cloud_machines.machine_id.';
end
$$;

-- A user id in the canonical text form of cloud_machines.user_id's own type (text or uuid on the
-- platform's table): what every function compares and inserts. A value the column cannot hold is
-- 22023 naming the type, never a failed insert.
create or replace function public.vyx_user_key(p_user_id text) returns text
language plpgsql stable set search_path = public as $$
begin
  if coalesce(btrim(p_user_id), '') = '' then
    raise exception 'user_id is required' using errcode = '22023';
  end if;
  return (jsonb_populate_record(null::public.cloud_machines,
                                jsonb_build_object('user_id', btrim(p_user_id)))).user_id::text;
exception when invalid_text_representation or datatype_mismatch then
  raise exception 'user_id % is not a valid %', quote_literal(p_user_id),
    format_type((select atttypid from pg_attribute
                 where attrelid = 'public.cloud_machines'::regclass and attname = 'user_id'), null)
    using errcode = '22023',
          hint = 'cloud_machines.user_id has this type on this database; link the Slack user to such an id.';
end
$$;

-- The machine a request speaks for: null when the caller is not a machine (the bot's service_role,
-- a direct connection); the token's machine_id claim when it runs as vyx_machine. A machine token
-- without the claim, or whose machine is destroyed, is refused (42501: PostgREST's 403).
-- SET ROLE's value names the request's role even inside SECURITY DEFINER functions.
create or replace function public.vyx_machine_claim() returns text
language plpgsql stable set search_path = public as $$
declare
  claimed text;
begin
  if coalesce(nullif(current_setting('role', true), 'none'), session_user::text) <> 'vyx_machine' then
    return null;
  end if;
  claimed := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'machine_id';
  if claimed is null then
    raise exception 'this machine credential names no machine' using errcode = '42501';
  end if;
  if exists (select 1 from public.cloud_machines where machine_id = claimed and status = 'destroyed') then
    raise exception 'machine % is destroyed: its credential no longer works', claimed
      using errcode = '42501', hint = 'Stop this machine.';
  end if;
  return claimed;
end
$$;

-- A machine may act on its own row only.
create or replace function public.vyx_machine_guard(p_machine_id text) returns void
language plpgsql stable set search_path = public as $$
declare
  claimed text := public.vyx_machine_claim();
begin
  if claimed is not null and p_machine_id is distinct from claimed then
    raise exception 'the credential of machine % may not act on machine %', claimed, coalesce(p_machine_id, 'NULL')
      using errcode = '42501', hint = 'A machine may only report, heartbeat and read its own row.';
  end if;
end
$$;

create or replace function public.vyx_check_status(p_status text) returns void
language plpgsql immutable set search_path = public as $$
begin
  if p_status is null or p_status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed') then
    raise exception 'unknown status %', coalesce(quote_literal(p_status), 'NULL')
      using errcode = '22023',
            hint = 'Use one of starting, running, stopping, stopped, failed, destroyed.';
  end if;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Provisioning

-- Begin a provision. Idempotent: when the user already has an active machine, that one is returned
-- with created=false and nothing is inserted. Concurrent starts for one user are serialised by a
-- per-user advisory lock (not a unique index: an index would make the platform's own writers fail).
-- The row is built with jsonb_populate_record, so each value takes its column's own type (user_id
-- text or uuid).
create or replace function public.vyx_begin_provision(
  p_user_id text,
  p_fly_app text,
  p_region text,
  p_image text,
  p_slack_team_id text default null,
  p_slack_channel text default null,
  p_requested_by text default null,
  p_machine_id text default null
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  r public.cloud_machines;
  uid text := public.vyx_user_key(p_user_id);
begin
  perform pg_advisory_xact_lock(hashtext('vyx_begin_provision'), hashtext(uid));
  select * into r from public.cloud_machines
  where user_id::text = uid and status in ('starting', 'running', 'stopping') limit 1;
  if found then
    return jsonb_build_object('created', false, 'machine', to_jsonb(r));
  end if;
  r := jsonb_populate_record(null::public.cloud_machines, jsonb_build_object(
    'machine_id', coalesce(p_machine_id, 'vyx-' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 8)),
    'user_id', uid, 'status', 'starting', 'fly_app', p_fly_app, 'region', p_region, 'image', p_image,
    'slack_team_id', p_slack_team_id, 'slack_channel', p_slack_channel, 'requested_by', p_requested_by));
  insert into public.cloud_machines
    (machine_id, user_id, status, fly_app, region, image, slack_team_id, slack_channel, requested_by)
  values (r.machine_id, r.user_id, r.status, r.fly_app, r.region, r.image, r.slack_team_id,
          r.slack_channel, r.requested_by)
  returning * into r;
  return jsonb_build_object('created', true, 'machine', to_jsonb(r));
end
$$;

-- Record the Fly machine id (and app) behind a row. A row already bound to another Fly machine is a
-- conflict, never silently rebound.
create or replace function public.vyx_attach_fly_machine(
  p_machine_id text,
  p_fly_machine_id text,
  p_fly_app text default null
) returns public.cloud_machines
language plpgsql volatile set search_path = public as $$
declare
  r public.cloud_machines;
begin
  select * into r from public.cloud_machines where machine_id = p_machine_id for update;
  if not found then
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  if r.fly_machine_id is not null and r.fly_machine_id <> p_fly_machine_id then
    raise exception 'machine % is already bound to Fly machine %', p_machine_id, r.fly_machine_id
      using errcode = 'PT409', hint = 'Start a new machine instead of rebinding this row.';
  end if;
  update public.cloud_machines
  set fly_machine_id = p_fly_machine_id, fly_app = coalesce(p_fly_app, fly_app), updated_at = now()
  where machine_id = p_machine_id
  returning * into r;
  return r;
end
$$;

-- Remember the Slack thread where the machine was requested.
create or replace function public.vyx_set_slack_thread(
  p_machine_id text,
  p_slack_channel text,
  p_slack_thread_ts text
) returns public.cloud_machines
language plpgsql volatile set search_path = public as $$
declare
  r public.cloud_machines;
begin
  update public.cloud_machines
  set slack_channel = p_slack_channel, slack_thread_ts = p_slack_thread_ts, updated_at = now()
  where machine_id = p_machine_id
  returning * into r;
  if not found then
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  return r;
end
$$;

-- Report a status. No matching row raises P0001 naming the id: never a silent 0-row update.
-- The same status again changes nothing (no event). A destroyed machine stays destroyed.
-- p_fly_machine_id is the reporter's own FLY_MACHINE_ID: recorded on a row that has none (the bot
-- never saw Fly's answer, or the platform's edge function never stored it), never over another id
-- and never when another row already holds it — so a row is linked to its machine by the machine.
create or replace function public.vyx_report_status(
  p_machine_id text,
  p_status text,
  p_detail text default null,
  p_fly_machine_id text default null
) returns public.cloud_machines
language plpgsql volatile security definer set search_path = public as $$
declare
  r public.cloud_machines;
  link_fly boolean;
begin
  perform public.vyx_machine_guard(p_machine_id);
  perform public.vyx_check_status(p_status);
  select * into r from public.cloud_machines where machine_id = p_machine_id for update;
  if not found then
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  if r.status = 'destroyed' and p_status <> 'destroyed' then
    raise exception 'machine % is destroyed; status % was not recorded', p_machine_id, p_status
      using errcode = 'PT409', hint = 'Start a new machine with /vyx start.';
  end if;
  link_fly := nullif(btrim(p_fly_machine_id), '') is not null and r.fly_machine_id is null
    and not exists (select 1 from public.cloud_machines o
                    where o.fly_machine_id = p_fly_machine_id and o.machine_id <> p_machine_id);
  if r.status = p_status and r.status_detail is not distinct from p_detail and not link_fly then
    return r;
  end if;
  update public.cloud_machines
  set status = p_status,
      status_detail = p_detail,
      fly_machine_id = case when link_fly then p_fly_machine_id else fly_machine_id end,
      updated_at = now(),
      last_heartbeat_at = case when p_status = 'running' then now() else last_heartbeat_at end
  where machine_id = p_machine_id
  returning * into r;
  return r;
end
$$;

create or replace function public.vyx_heartbeat(p_machine_id text) returns timestamptz
language plpgsql volatile security definer set search_path = public as $$
declare
  r public.cloud_machines;
begin
  perform public.vyx_machine_guard(p_machine_id);
  update public.cloud_machines set last_heartbeat_at = now()
  where machine_id = p_machine_id and status <> 'destroyed'
  returning * into r;
  if not found then
    if exists (select 1 from public.cloud_machines where machine_id = p_machine_id) then
      raise exception 'machine % is destroyed; heartbeat not recorded', p_machine_id
        using errcode = 'PT409', hint = 'Stop this machine: its row is destroyed.';
    end if;
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  return r.last_heartbeat_at;
end
$$;

-- A warning from the runtime (e.g. it came up by its Fly id because MACHINE_ID was missing).
create or replace function public.vyx_record_warning(
  p_machine_id text,
  p_code text,
  p_detail jsonb default '{}'::jsonb
) returns bigint
language plpgsql volatile security definer set search_path = public as $$
declare
  event_id bigint;
begin
  perform public.vyx_machine_guard(p_machine_id);
  if not exists (select 1 from public.cloud_machines where machine_id = p_machine_id) then
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  insert into public.machine_events (machine_id, kind, detail)
  values (p_machine_id, 'warning', coalesce(p_detail, '{}'::jsonb) || jsonb_build_object('code', p_code))
  returning id into event_id;
  return event_id;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The stuck-machine watcher

-- Claim rows stuck in `starting` — or holding a status word outside the vocabulary, which some other
-- writer put there — for longer than p_older_than_s, with a lease, in one statement: concurrent
-- claimers (any number of replicas) never receive the same row.
create or replace function public.vyx_claim_stuck(
  p_owner text,
  p_older_than_s int default 60,
  p_lease_s int default 30,
  p_limit int default 1000
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
    order by status_changed_at
    limit p_limit
    for update skip locked
  )
  update public.cloud_machines m
  set lease_owner = p_owner, lease_until = now() + make_interval(secs => p_lease_s)
  from c
  where m.machine_id = c.machine_id
  returning m.*;
end
$$;

-- Give leases back (end of a tick, or shutdown) so another replica can take the rows at once.
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
    from unnest(p_machine_ids) as u(id)
    where c.machine_id = u.id and c.lease_owner = p_owner;
  end if;
  get diagnostics n = row_count;
  return n;
end
$$;

-- Record diagnoses, deduplicated per (machine, code). A new diagnosis appends a `diagnosis` event to
-- the outbox; one seen again after p_renotify_after_s since its last notice appends a `reminder`
-- (not while silenced). A certain one (mark_failed) turns a row still `starting` into `failed`.
-- machine_id may name no row (an orphan Fly machine is keyed `fly:<id>`). One set-based call for
-- many: one call per row made a 10,000-row watcher tick ~14× slower (bench/).
create or replace function public.vyx_record_diagnoses(
  p_items jsonb,
  p_renotify_after_s int default 600
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  result jsonb;
  failed text[];
begin
  -- One statement for the whole batch: upsert the diagnoses (a new one is notified at once, a
  -- known one is reminded when its last notice is older than p_renotify_after_s and it is not
  -- silenced), append the outbox events, and write each row's diagnosis summary.
  with items as (
    select distinct on (it->>'machine_id', it->>'code')
      it->>'machine_id' as machine_id, it->>'code' as code, it->>'summary' as summary,
      coalesce(it->'evidence', '[]'::jsonb) as evidence, it->>'fix' as fix,
      it->>'certainty' as certainty, coalesce((it->>'mark_failed')::boolean, false) as mark_failed, ord
    from jsonb_array_elements(p_items) with ordinality as e(it, ord)
    order by it->>'machine_id', it->>'code', ord desc
  ), up as (
    insert into public.diagnoses as x
      (machine_id, code, summary, evidence, fix, certainty, notified_at, notify_count)
    select machine_id, code, summary, evidence, fix, certainty, now(), 1 from items order by ord
    on conflict (machine_id, code) do update
      set last_seen_at = now(), seen_count = x.seen_count + 1, summary = excluded.summary,
          fix = excluded.fix, certainty = excluded.certainty, resolved_at = null,
          notified_at = case
            when (x.notified_at is null or x.notified_at <= now() - make_interval(secs => p_renotify_after_s))
             and (x.silenced_until is null or x.silenced_until <= now()) then now()
            else x.notified_at end,
          notify_count = x.notify_count + case
            when (x.notified_at is null or x.notified_at <= now() - make_interval(secs => p_renotify_after_s))
             and (x.silenced_until is null or x.silenced_until <= now()) then 1
            else 0 end
    returning x.*, (x.xmax = 0) as is_new
  ), told as (
    select up.*, i.ord, i.mark_failed,
      case when up.is_new then 'diagnosis' when up.notified_at = now() then 'reminder' end as notice
    from up join items i using (machine_id, code)
  ), ev as (
    insert into public.machine_events (machine_id, kind, detail)
    select machine_id, notice, jsonb_build_object(
      'code', code, 'summary', summary, 'evidence', evidence, 'fix', fix,
      'certainty', certainty, 'seen_count', seen_count, 'notify_count', notify_count,
      'first_seen_at', first_seen_at, 'last_seen_at', last_seen_at)
    from told where notice is not null order by ord
  ), cm as (
    update public.cloud_machines m
    set diagnosis = jsonb_build_object('code', t.code, 'summary', t.summary, 'fix', t.fix,
                                       'certainty', t.certainty, 'at', t.last_seen_at),
        flagged_at = coalesce(m.flagged_at, now())
    from (select distinct on (machine_id) * from told order by machine_id, ord desc) t
    where m.machine_id = t.machine_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'machine_id', machine_id, 'code', code, 'notice', notice, 'mark_failed', mark_failed)
           order by ord), '[]'::jsonb)
  into result from told;

  -- Certain diagnoses fail their row if it is still starting (the status trigger appends the
  -- status event after the diagnosis event, as one call per row did).
  select array_agg(r->>'machine_id') into failed
  from jsonb_array_elements(result) r where (r->>'mark_failed')::boolean;
  if failed is not null then
    -- vyxbot's own write, which may rightly match nothing (the row moved on): not a lost write.
    perform set_config('vyx.internal_write', 'on', true);
    with f as (
      update public.cloud_machines c set status = 'failed', status_detail = i.code
      from (select distinct on (r->>'machine_id') r->>'machine_id' as machine_id, r->>'code' as code
            from jsonb_array_elements(result) r where (r->>'mark_failed')::boolean) i
      where c.machine_id = i.machine_id and c.status = 'starting'
      returning c.machine_id
    )
    select array_agg(machine_id) into failed from f;
    perform set_config('vyx.internal_write', 'off', true);
  end if;
  return (
    select coalesce(jsonb_agg(r || jsonb_build_object('marked_failed',
             coalesce((r->>'machine_id') = any (failed), false)) order by o), '[]'::jsonb)
    from jsonb_array_elements(result) with ordinality as e(r, o));
end
$$;

-- One diagnosis: the same recording, answering with the diagnosis row.
create or replace function public.vyx_record_diagnosis(
  p_machine_id text,
  p_code text,
  p_summary text,
  p_evidence jsonb,
  p_fix text,
  p_certainty text,
  p_mark_failed boolean default false,
  p_renotify_after_s int default 600
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  r jsonb;
  d public.diagnoses;
begin
  r := public.vyx_record_diagnoses(
    jsonb_build_array(jsonb_build_object(
      'machine_id', p_machine_id, 'code', p_code, 'summary', p_summary, 'evidence', p_evidence,
      'fix', p_fix, 'certainty', p_certainty, 'mark_failed', p_mark_failed)),
    p_renotify_after_s) -> 0;
  select * into d from public.diagnoses where machine_id = p_machine_id and code = p_code;
  return jsonb_build_object('diagnosis', to_jsonb(d), 'notice', r -> 'notice',
                            'marked_failed', (r ->> 'marked_failed')::boolean);
end
$$;

-- ---------------------------------------------------------------------------------------------
-- The outbox (echo watcher)

-- Claim undelivered events with a lease. Only the head of each machine's queue is locked, and the
-- rest of that machine's queue comes with it, so a thread's events stay in order and no two
-- claimers hold events of the same machine.
create or replace function public.vyx_claim_events(
  p_owner text,
  p_limit int default 100,
  p_lease_s int default 30
) returns table (
  id bigint,
  machine_id text,
  kind text,
  old_status text,
  new_status text,
  detail jsonb,
  created_at timestamptz,
  attempts int,
  slack_team_id text,
  slack_channel text,
  slack_thread_ts text,
  user_id text,
  status text,
  fly_app text,
  fly_machine_id text
)
language plpgsql volatile set search_path = public as $$
#variable_conflict use_column
declare
  heads text[];
begin
  select array_agg(h.machine_id) into heads
  from (
    select e.machine_id
    from public.machine_events e
    where e.delivered_at is null
      and (e.claim_until is null or e.claim_until < now())
      and not exists (
        select 1 from public.machine_events p
        where p.machine_id = e.machine_id and p.delivered_at is null and p.id < e.id)
    order by e.id
    limit p_limit
    for update of e skip locked
  ) h;
  if heads is null then
    return;
  end if;
  return query
  with u as (
    update public.machine_events e
    set claimed_by = p_owner, claim_until = now() + make_interval(secs => p_lease_s), attempts = e.attempts + 1
    where e.machine_id = any (heads) and e.delivered_at is null
    returning e.*
  )
  select u.id, u.machine_id, u.kind, u.old_status, u.new_status, u.detail, u.created_at, u.attempts,
         m.slack_team_id, m.slack_channel, m.slack_thread_ts, m.user_id::text, m.status, m.fly_app, m.fly_machine_id
  from u left join public.cloud_machines m on m.machine_id = u.machine_id
  order by u.id;
end
$$;

-- Acknowledge delivered events: p_acks is [{"id": 1, "slack_ts": "1700000000.000100"}, …].
-- Returns how many were newly marked delivered.
create or replace function public.vyx_ack_events(p_owner text, p_acks jsonb) returns int
language plpgsql volatile set search_path = public as $$
declare
  n int;
begin
  update public.machine_events e
  set delivered_at = now(), slack_ts = a.slack_ts, claimed_by = p_owner, claim_until = null
  from jsonb_to_recordset(coalesce(p_acks, '[]'::jsonb)) as a(id bigint, slack_ts text)
  where e.id = a.id and e.delivered_at is null;
  get diagnostics n = row_count;
  return n;
end
$$;

-- Give claimed events back undelivered (a failed post, or shutdown); retry after p_retry_after_s.
create or replace function public.vyx_release_events(
  p_owner text,
  p_ids bigint[] default null,
  p_retry_after_s int default 0
) returns int
language plpgsql volatile set search_path = public as $$
declare
  n int;
begin
  update public.machine_events
  set claim_until = case when p_retry_after_s > 0 then now() + make_interval(secs => p_retry_after_s) end,
      claimed_by = case when p_retry_after_s > 0 then claimed_by end
  where claimed_by = p_owner and delivered_at is null and (p_ids is null or id = any (p_ids));
  get diagnostics n = row_count;
  return n;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Look-ups (STABLE: PostgREST runs them read-only, and GET may call them)

create or replace function public.vyx_get_machine(p_machine_id text) returns public.cloud_machines
language plpgsql stable set search_path = public as $$
declare
  r public.cloud_machines;
begin
  select * into r from public.cloud_machines where machine_id = p_machine_id;
  if not found then
    perform public.vyx_raise_not_found(p_machine_id);
  end if;
  return r;
end
$$;

-- 0 or 1 rows, by vyx id or by Fly id (the runtime's fallback when MACHINE_ID is missing). A
-- machine finds only its own row.
create or replace function public.vyx_find_machine(
  p_machine_id text default null,
  p_fly_machine_id text default null
) returns setof public.cloud_machines
language sql stable security definer set search_path = public as $$
  select * from public.cloud_machines
  where (p_machine_id is not null or p_fly_machine_id is not null)
    and (p_machine_id is null or machine_id = p_machine_id)
    and (p_fly_machine_id is null or fly_machine_id = p_fly_machine_id)
    and machine_id = coalesce(public.vyx_machine_claim(), machine_id)
  limit 1
$$;

create or replace function public.vyx_get_active_machine(p_user_id text) returns setof public.cloud_machines
language sql stable set search_path = public as $$
  select * from public.cloud_machines
  where user_id::text = public.vyx_user_key(p_user_id) and status in ('starting', 'running', 'stopping')
  limit 1
$$;

create or replace function public.vyx_list_machines(
  p_user_id text default null,
  p_active_only boolean default false,
  p_limit int default 50
) returns setof public.cloud_machines
language sql stable set search_path = public as $$
  select * from public.cloud_machines
  where (p_user_id is null or user_id::text = public.vyx_user_key(p_user_id))
    and (not p_active_only or status in ('starting', 'running', 'stopping'))
  order by created_at desc, machine_id
  limit greatest(1, least(coalesce(p_limit, 50), 1000))
$$;

create or replace function public.vyx_machine_events(p_machine_id text, p_limit int default 50)
returns setof public.machine_events
language sql stable set search_path = public as $$
  select * from public.machine_events where machine_id = p_machine_id order by id limit p_limit
$$;

-- ---------------------------------------------------------------------------------------------
-- Identities and audit

create or replace function public.vyx_link_identity(
  p_slack_team_id text,
  p_slack_user_id text,
  p_user_id text,
  p_role text default 'member',
  p_linked_by text default null
) returns public.slack_identities
language plpgsql volatile set search_path = public as $$
declare
  r public.slack_identities;
begin
  if coalesce(btrim(p_user_id), '') = '' then
    raise exception 'user_id is required' using errcode = '22023';
  end if;
  if p_role not in ('member', 'admin') then
    raise exception 'unknown role %', quote_literal(p_role)
      using errcode = '22023', hint = 'Use member or admin.';
  end if;
  insert into public.slack_identities as s (slack_team_id, slack_user_id, user_id, role, linked_by)
  values (p_slack_team_id, p_slack_user_id, p_user_id, p_role, p_linked_by)
  on conflict (slack_team_id, slack_user_id) do update
    set user_id = excluded.user_id, role = excluded.role, linked_by = excluded.linked_by, updated_at = now()
  returning * into r;
  return r;
end
$$;

create or replace function public.vyx_get_identity(p_slack_team_id text, p_slack_user_id text)
returns setof public.slack_identities
language sql stable set search_path = public as $$
  select * from public.slack_identities
  where slack_team_id = p_slack_team_id and slack_user_id = p_slack_user_id
$$;

create or replace function public.vyx_record_audit(
  p_action text,
  p_name text,
  p_outcome text,
  p_slack_team_id text default null,
  p_slack_user_id text default null,
  p_user_id text default null,
  p_args text default null,
  p_machine_id text default null,
  p_detail text default null,
  p_request_id text default null
) returns bigint
language sql volatile set search_path = public as $$
  insert into public.audit_log
    (action, name, outcome, slack_team_id, slack_user_id, user_id, args, machine_id, detail, request_id)
  values
    (p_action, p_name, p_outcome, p_slack_team_id, p_slack_user_id, p_user_id, p_args, p_machine_id, p_detail, p_request_id)
  returning id
$$;

-- ---------------------------------------------------------------------------------------------
-- Only the service role may call these (Supabase grants EXECUTE on new public functions to anon and
-- authenticated by default). Every later migration that adds functions calls this again.
create or replace function public.secure_vyx_functions() returns void
language plpgsql set search_path = public as $$
declare
  f record;
begin
  for f in
    select p.oid::regprocedure as sig from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname like 'vyx\_%'
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f.sig);
    execute format('grant execute on function %s to service_role', f.sig);
  end loop;
  -- Called by the status trigger as whoever writes cloud_machines (the platform's writers too): it
  -- must stay callable by every role, or their writes would fail. It only reads settings.
  grant execute on function public.vyx_writer() to public;
  -- What a machine's own credential may call; each checks the token's machine_id claim.
  grant execute on function public.vyx_report_status(text, text, text, text), public.vyx_heartbeat(text),
    public.vyx_record_warning(text, text, jsonb), public.vyx_find_machine(text, text) to vyx_machine;
end
$$;
revoke all on function public.secure_vyx_functions() from public, anon, authenticated, service_role;
select public.secure_vyx_functions();
