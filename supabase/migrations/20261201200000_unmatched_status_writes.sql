-- vyxbot: status writes that match no row. The incident's runtime updated cloud_machines by a
-- machine_id no row had: PostgREST answered 204 and nobody knew. A statement-level trigger fires
-- even when a statement touches no row; it records who wrote (PostgREST's request settings: role,
-- method, path, JWT subject) so the watcher can show it as evidence.

create table if not exists public.vyx_unmatched_writes (
  id bigserial primary key,
  at timestamptz not null default now(),
  writer jsonb not null,
  query text
);
create index if not exists vyx_unmatched_writes_at_idx on public.vyx_unmatched_writes (at);
alter table public.vyx_unmatched_writes enable row level security;
revoke all on public.vyx_unmatched_writes from anon, authenticated;
grant select, insert, delete on public.vyx_unmatched_writes to service_role;
grant usage, select on sequence public.vyx_unmatched_writes_id_seq to service_role;

-- Counts the rows each UPDATE … SET status … actually touched (transaction-local setting). Row-level
-- AFTER triggers fire before the statement-level one below.
create or replace function public.vyx_count_status_rows() returns trigger
language plpgsql set search_path = public as $$
begin
  perform set_config('vyx.status_rows',
    (coalesce(nullif(current_setting('vyx.status_rows', true), ''), '0')::int + 1)::text, true);
  return null;
end
$$;

-- At the end of every UPDATE that sets status: none touched → record it (not vyxbot's own writes,
-- which may rightly match nothing). SECURITY DEFINER: any writer may lack rights on the log table;
-- vyx_writer() still names the writer (SET ROLE's value is not changed by SECURITY DEFINER).
create or replace function public.vyx_status_statement_done() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  n int := coalesce(nullif(current_setting('vyx.status_rows', true), ''), '0')::int;
begin
  perform set_config('vyx.status_rows', '0', true);
  if n = 0 and coalesce(current_setting('vyx.internal_write', true), '') <> 'on' then
    insert into public.vyx_unmatched_writes (writer, query)
    values (public.vyx_writer(), left(current_query(), 1000));
    delete from public.vyx_unmatched_writes where at < now() - interval '14 days';
  end if;
  return null;
end
$$;

drop trigger if exists vyx_count_status_rows on public.cloud_machines;
create trigger vyx_count_status_rows after update of status on public.cloud_machines
  for each row execute function public.vyx_count_status_rows();
drop trigger if exists vyx_status_statement_done on public.cloud_machines;
create trigger vyx_status_statement_done after update of status on public.cloud_machines
  for each statement execute function public.vyx_status_statement_done();

-- The unmatched status writes since a time, newest first (at most p_limit).
create or replace function public.vyx_unmatched_status_writes(
  p_since timestamptz,
  p_limit int default 1000
) returns table (at timestamptz, role text, method text, path text, sub text, machine_id text, db_user text)
language sql stable set search_path = public as $$
  select w.at, w.writer ->> 'role', w.writer ->> 'method', w.writer ->> 'path', w.writer ->> 'sub',
         w.writer ->> 'machine_id', w.writer ->> 'db_user'
  from public.vyx_unmatched_writes w
  where w.at >= p_since
  order by w.at desc
  limit greatest(1, least(coalesce(p_limit, 1000), 10000))
$$;

select public.secure_vyx_functions();
