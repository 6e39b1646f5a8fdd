-- Issue #17.1: the acks' follow-ups in fewer round trips. Under load, the bot checks many Slack
-- deliveries for duplicates and writes many audit rows at once; these take a batch in one call.
-- Additive: two new functions; vyx_first_delivery and vyx_record_audit stay (a replica of the
-- previous release calls them during a rolling deploy) as one-item calls of the new ones.

-- One answer per delivery, in order, exactly as calling vyx_first_delivery for each in turn: a
-- delivery whose keys repeat an earlier one's in the same batch is a duplicate.
create or replace function public.vyx_first_deliveries(p_key_sets jsonb, p_keep_s int default 600)
returns boolean[]
language plpgsql volatile set search_path = public as $$
declare
  key_set jsonb;
  keys text[];
  inserted int;
  answers boolean[] := '{}'::boolean[];
begin
  if p_key_sets is null or jsonb_typeof(p_key_sets) <> 'array' then
    raise exception 'deliveries must be a JSON array of key arrays' using errcode = '22023';
  end if;
  if p_keep_s < 300 then
    raise exception 'keys must be kept at least 300 s (Slack''s replay window), not %', p_keep_s
      using errcode = '22023';
  end if;
  delete from public.slack_deliveries_seen where seen_at < now() - make_interval(secs => p_keep_s);
  for key_set in select t.v from jsonb_array_elements(p_key_sets) with ordinality t(v, i) order by t.i loop
    if jsonb_typeof(key_set) <> 'array' or jsonb_array_length(key_set) = 0 then
      raise exception 'a delivery needs at least one key' using errcode = '22023';
    end if;
    select array_agg(distinct k) into keys from jsonb_array_elements_text(key_set) k;
    insert into public.slack_deliveries_seen (key) select unnest(keys) on conflict (key) do nothing;
    get diagnostics inserted = row_count;
    answers := answers || (inserted = cardinality(keys));
  end loop;
  return answers;
end
$$;

-- The audit rows' ids, in order. Each row's fields are vyx_record_audit's parameters without `p_`.
create or replace function public.vyx_record_audits(p_rows jsonb) returns bigint[]
language plpgsql volatile set search_path = public as $$
declare
  r jsonb;
  new_id bigint;
  ids bigint[] := '{}'::bigint[];
begin
  if p_rows is null or jsonb_typeof(p_rows) <> 'array' then
    raise exception 'audit rows must be a JSON array' using errcode = '22023';
  end if;
  for r in select t.v from jsonb_array_elements(p_rows) with ordinality t(v, i) order by t.i loop
    insert into public.audit_log
      (action, name, outcome, slack_team_id, slack_user_id, user_id, args, machine_id, detail, request_id)
    values
      (r->>'action', r->>'name', r->>'outcome', r->>'slack_team_id', r->>'slack_user_id', r->>'user_id',
       r->>'args', r->>'machine_id', r->>'detail', r->>'request_id')
    returning id into new_id;
    ids := ids || new_id;
  end loop;
  return ids;
end
$$;

create or replace function public.vyx_first_delivery(p_keys text[], p_keep_s int default 600)
returns boolean
language sql volatile set search_path = public as $$
  select (public.vyx_first_deliveries(jsonb_build_array(to_jsonb(coalesce(p_keys, '{}'::text[]))), p_keep_s))[1]
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
  select (public.vyx_record_audits(jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
    'action', p_action, 'name', p_name, 'outcome', p_outcome, 'slack_team_id', p_slack_team_id,
    'slack_user_id', p_slack_user_id, 'user_id', p_user_id, 'args', p_args, 'machine_id', p_machine_id,
    'detail', p_detail, 'request_id', p_request_id)))))[1]
$$;

select public.secure_vyx_functions();
