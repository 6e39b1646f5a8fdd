-- vyxbot: what the stuck watcher and the cards need beyond the first migrations.

alter table public.diagnoses add column if not exists silenced_until timestamptz;

-- Which of these Fly machine ids some row points at (one call for a whole app's list: the orphan
-- check must not ask once per machine).
create or replace function public.vyx_known_fly_ids(p_fly_machine_ids text[]) returns setof text
language sql stable set search_path = public as $$
  select fly_machine_id from public.cloud_machines where fly_machine_id = any (p_fly_machine_ids)
$$;

-- How many outbox events are not delivered yet (idle checks, the outbox-lag metric).
create or replace function public.vyx_pending_events() returns jsonb
language sql stable set search_path = public as $$
  select jsonb_build_object(
    'count', count(*),
    'oldest_at', min(created_at))
  from public.machine_events where delivered_at is null
$$;

-- Silence a diagnosis's reminders (the Silence button) until a time.
create or replace function public.vyx_silence_diagnosis(
  p_machine_id text,
  p_code text,
  p_until timestamptz
) returns public.diagnoses
language plpgsql volatile set search_path = public as $$
declare
  d public.diagnoses;
begin
  update public.diagnoses set silenced_until = p_until
  where machine_id = p_machine_id and code = p_code
  returning * into d;
  if not found then
    raise exception 'no diagnosis % for machine %', p_code, p_machine_id
      using errcode = 'P0001', hint = 'It may have been resolved already.';
  end if;
  return d;
end
$$;

-- Reminders respect silencing; everything else as before.
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
  d public.diagnoses;
  is_new boolean;
  notice text;
  marked boolean := false;
  n int;
begin
  insert into public.diagnoses as x (machine_id, code, summary, evidence, fix, certainty)
  values (p_machine_id, p_code, p_summary, coalesce(p_evidence, '[]'::jsonb), p_fix, p_certainty)
  on conflict (machine_id, code) do update
    -- Evidence stays as first seen: a destroyed machine vanishes, its first evidence does not.
    set last_seen_at = now(), seen_count = x.seen_count + 1, summary = excluded.summary,
        fix = excluded.fix, certainty = excluded.certainty, resolved_at = null
  returning (x.xmax = 0) into is_new;
  select * into d from public.diagnoses where machine_id = p_machine_id and code = p_code;

  if is_new then
    notice := 'diagnosis';
  elsif (d.notified_at is null or d.notified_at <= now() - make_interval(secs => p_renotify_after_s))
        and (d.silenced_until is null or d.silenced_until <= now()) then
    notice := 'reminder';
  end if;

  if notice is not null then
    update public.diagnoses set notified_at = now(), notify_count = notify_count + 1
    where machine_id = p_machine_id and code = p_code
    returning * into d;
    insert into public.machine_events (machine_id, kind, detail)
    values (p_machine_id, notice, jsonb_build_object(
      'code', d.code, 'summary', d.summary, 'evidence', d.evidence, 'fix', d.fix,
      'certainty', d.certainty, 'seen_count', d.seen_count, 'notify_count', d.notify_count,
      'first_seen_at', d.first_seen_at, 'last_seen_at', d.last_seen_at));
  end if;

  update public.cloud_machines
  set diagnosis = jsonb_build_object('code', d.code, 'summary', d.summary, 'fix', d.fix,
                                     'certainty', d.certainty, 'at', d.last_seen_at),
      flagged_at = coalesce(flagged_at, now())
  where machine_id = p_machine_id;

  if p_mark_failed then
    update public.cloud_machines set status = 'failed', status_detail = p_code
    where machine_id = p_machine_id and status = 'starting';
    get diagnostics n = row_count;
    marked := n > 0;
  end if;

  return jsonb_build_object('diagnosis', to_jsonb(d), 'notice', notice, 'marked_failed', marked);
end
$$;

do $$
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
end
$$;
