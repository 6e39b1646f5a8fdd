-- vyxbot: what the stuck watcher and the cards need beyond the first migrations.

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

-- Fencing for the echo: before posting, a replica renews the claim of the events it is about to
-- post and gets back those still its own. An event whose lease ran out and that another replica
-- claimed is not posted twice.
create or replace function public.vyx_renew_events(
  p_owner text,
  p_ids bigint[],
  p_lease_s int default 30
) returns setof bigint
language sql volatile set search_path = public as $$
  update public.machine_events
  set claim_until = now() + make_interval(secs => p_lease_s)
  where id = any (p_ids) and claimed_by = p_owner and delivered_at is null
  returning id
$$;

select public.secure_vyx_functions();
