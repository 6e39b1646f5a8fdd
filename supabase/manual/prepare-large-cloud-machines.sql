-- Run BEFORE `supabase db push` when public.cloud_machines is large (say ≥ 100,000 rows), one
-- statement at a time outside a transaction (psql runs a file that way; CREATE INDEX CONCURRENTLY
-- refuses to run inside one). It adds vyxbot's columns (instant: no table rewrite) and builds its
-- indexes without blocking the platform's writers. The migration then finds them all and only
-- backfills status_changed_at of the rows not settled (starting, or a word outside the vocabulary).
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f supabase/manual/prepare-large-cloud-machines.sql
-- Not in supabase/migrations/: the CLI would run it inside a transaction.
set lock_timeout = '5s';
alter table public.cloud_machines
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists status_changed_at timestamptz not null default now(),
  add column if not exists fly_app text,
  add column if not exists fly_machine_id text;
create unique index concurrently if not exists cloud_machines_machine_id_key
  on public.cloud_machines (machine_id);
create unique index concurrently if not exists cloud_machines_fly_machine_id_key
  on public.cloud_machines (fly_machine_id) where fly_machine_id is not null;
create index concurrently if not exists cloud_machines_starting_idx
  on public.cloud_machines (status_changed_at) where status = 'starting';
create index concurrently if not exists cloud_machines_user_idx on public.cloud_machines (user_id);
create index concurrently if not exists cloud_machines_unknown_status_idx
  on public.cloud_machines (status_changed_at)
  where status not in ('starting', 'running', 'stopping', 'stopped', 'failed', 'destroyed');
create index concurrently if not exists cloud_machines_starting_app_idx
  on public.cloud_machines (fly_app, status_changed_at) where status = 'starting';
