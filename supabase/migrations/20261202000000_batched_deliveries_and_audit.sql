-- Issue #17.1: the acks' follow-ups in fewer round trips. Under load, the bot checks many Slack
-- deliveries for duplicates and writes many audit rows at once; these take a batch in one call.
-- Additive: two new functions; vyx_first_delivery and vyx_record_audit stay as they were.

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

select public.secure_vyx_functions();
