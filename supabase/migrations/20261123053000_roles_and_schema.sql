-- vyxbot data model: cloud_machines (extended, additive), the machine_events outbox, Slack identities,
-- the audit log and diagnoses. Additive only (`if not exists`), so it applies to an existing vyx
-- database that already has the platform's minimal cloud_machines(machine_id, user_id, status, updated_at),
-- whether its user_id is text or uuid (every function converts to the column's own type).
-- On a large existing table, run the `create index concurrently` statements of docs/deploying.md
-- first: the `create index if not exists` below then finds them and does not block writers.
--
-- Error convention of every vyx_* function (the store maps these by SQLSTATE, PostgREST by HTTP):
--   P0001  no row matched (HTTP 400)        -> the store's NOT_FOUND; the message names the id
--   PT409  state conflict (HTTP 409)        -> CONFLICT
--   22023  invalid argument (HTTP 400)      -> INVALID
--   23505  unique violation (HTTP 409)      -> CONFLICT

-- Supabase's API roles exist on Supabase; on a plain Postgres or PGlite we create them.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- PostgREST's login role switches to a request's role only when it is a member of it.
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator nologin noinherit;
    grant anon, authenticated, service_role to authenticator;
  end if;
  -- vyxbot's machines: a JWT with role vyx_machine and a machine_id claim, which may only report
  -- its own status, heartbeat and read its own row (see vyx_machine_claim).
  if not exists (select 1 from pg_roles where rolname = 'vyx_machine') then
    create role vyx_machine nologin noinherit;
  end if;
exception when duplicate_object or unique_violation then
  -- Another session created them concurrently (roles are cluster-wide).
  null;
end
$$;
grant vyx_machine to authenticator;

-- ---------------------------------------------------------------------------------------------
-- cloud_machines
-- Created (and locked to the service role: RLS on, no policies, client grants revoked) only where
-- the platform has no such table. An existing table keeps its own RLS, policies and grants: turning
-- RLS on or revoking there would make the platform's own readers and writers fail.
do $$
begin
  if to_regclass('public.cloud_machines') is null then
    create table public.cloud_machines (
      machine_id text primary key,
      user_id text not null,
      status text not null default 'starting',
      updated_at timestamptz not null default now()
    );
    alter table public.cloud_machines enable row level security;
    revoke all on public.cloud_machines from anon, authenticated;
  end if;
end
$$;

alter table public.cloud_machines
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists status_changed_at timestamptz not null default now(),
  add column if not exists status_detail text,
  add column if not exists fly_app text,
  add column if not exists fly_machine_id text,
  add column if not exists region text,
  add column if not exists image text,
  add column if not exists last_heartbeat_at timestamptz,
  add column if not exists slack_team_id text,
  add column if not exists slack_channel text,
  add column if not exists slack_thread_ts text,
  add column if not exists requested_by text,
  add column if not exists diagnosis jsonb,
  add column if not exists flagged_at timestamptz,
  add column if not exists lease_owner text,
  add column if not exists lease_until timestamptz,
  -- Who wrote the current status (role, request method and path, database user): the evidence that
  -- names the writer of a status word outside the vocabulary.
  add column if not exists status_written_by jsonb;

-- Rows that predate vyxbot: their time in the current status is best told by updated_at. Only the
-- rows the watcher judges (not settled: starting, or a word outside the vocabulary) are rewritten:
-- rewriting every row held the table's lock for 5.9 s per 500,000 rows (measured); a settled row's
-- status_changed_at just starts at the install.
update public.cloud_machines set status_changed_at = updated_at
where updated_at is not null and status_changed_at > updated_at
  and status not in ('running', 'stopping', 'stopped', 'failed', 'destroyed');

-- Lease and diagnosis updates change no indexed column: room on the page keeps them HOT updates
-- (measured in bench/: leasing 10,000 rows went from ~0.4 s to ~0.07 s).
alter table public.cloud_machines set (fillfactor = 70);

-- The platform's table may lack a key on machine_id; the bot's functions need one.
create unique index if not exists cloud_machines_machine_id_key on public.cloud_machines (machine_id);
create unique index if not exists cloud_machines_fly_machine_id_key
  on public.cloud_machines (fly_machine_id) where fly_machine_id is not null;
create index if not exists cloud_machines_starting_idx
  on public.cloud_machines (status_changed_at) where status = 'starting';
create index if not exists cloud_machines_user_idx on public.cloud_machines (user_id);

-- No status CHECK and no one-active-per-user unique index: the platform's own writers (the web UI's
-- edge function, older runtimes) must never get an error from something vyxbot added. A status word
-- outside the vocabulary is stored as written and reported by the watcher (UNKNOWN_STATUS, naming
-- the word and its writer); vyx_begin_provision keeps one active machine per user for vyxbot's own
-- starts with a per-user advisory lock.
create index if not exists cloud_machines_unknown_status_idx on public.cloud_machines (status_changed_at)
  where status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed');

-- ---------------------------------------------------------------------------------------------
-- machine_events: the outbox. A trigger appends a row on every status change, whoever wrote it;
-- the bot appends diagnoses and the runtime warnings. The echo watcher claims and acknowledges.
create table if not exists public.machine_events (
  id bigserial primary key,
  machine_id text not null,
  kind text not null check (kind in ('status', 'diagnosis', 'reminder', 'warning')),
  old_status text,
  new_status text,
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  claimed_by text,
  claim_until timestamptz,
  attempts int not null default 0,
  delivered_at timestamptz,
  slack_ts text
);
create index if not exists machine_events_pending_idx
  on public.machine_events (machine_id, id) where delivered_at is null;

-- ---------------------------------------------------------------------------------------------
-- slack_identities: Slack user -> vyx user and role. No row, no access (deny by default).
create table if not exists public.slack_identities (
  slack_team_id text not null,
  slack_user_id text not null,
  user_id text not null,
  role text not null default 'member' check (role in ('member', 'admin')),
  linked_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (slack_team_id, slack_user_id)
);

-- ---------------------------------------------------------------------------------------------
-- audit_log: who ran which command or pressed which button, when, with what result.
create table if not exists public.audit_log (
  id bigserial primary key,
  at timestamptz not null default now(),
  slack_team_id text,
  slack_user_id text,
  user_id text,
  action text not null check (action in ('command', 'button')),
  name text not null,
  args text,
  machine_id text,
  outcome text not null check (outcome in ('ok', 'denied', 'invalid', 'error')),
  detail text,
  request_id text
);
create index if not exists audit_log_at_idx on public.audit_log (at);

-- ---------------------------------------------------------------------------------------------
-- diagnoses: one row per (machine, code) — dedup lives here, never in message text.
create table if not exists public.diagnoses (
  machine_id text not null,
  code text not null,
  summary text not null,
  evidence jsonb not null default '[]'::jsonb,
  fix text not null,
  certainty text not null check (certainty in ('certain', 'likely', 'possible')),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  seen_count int not null default 1,
  notified_at timestamptz,
  notify_count int not null default 0,
  resolved_at timestamptz,
  silenced_until timestamptz,
  primary key (machine_id, code)
);

-- ---------------------------------------------------------------------------------------------
-- Only the service key may touch vyxbot's own tables: RLS on with no policies (clients see nothing),
-- client grants revoked; service_role bypasses RLS. (cloud_machines: see its creation above.)
alter table public.machine_events enable row level security;
alter table public.slack_identities enable row level security;
alter table public.audit_log enable row level security;
alter table public.diagnoses enable row level security;

revoke all on public.machine_events, public.slack_identities,
  public.audit_log, public.diagnoses from anon, authenticated;
grant select, insert, update, delete on public.cloud_machines, public.machine_events,
  public.slack_identities, public.audit_log, public.diagnoses to service_role;
grant usage, select on sequence public.machine_events_id_seq, public.audit_log_id_seq to service_role;
grant usage on schema public to anon, authenticated, service_role, vyx_machine;
