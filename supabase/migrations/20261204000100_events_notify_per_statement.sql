-- vyxbot: one wake-up per write of outbox events, not one per event (issue #17). The echo watcher
-- only wakes on the notification (polling stays the guarantee; it never reads the payload), yet a
-- 10,000-row tick paid a plpgsql call and a pg_notify per event: half the cost of inserting them.
-- The payload is still a machine the write concerns (the lowest id), for anyone listening by hand.
create or replace function public.vyx_machine_events_notify_statement() returns trigger
language plpgsql security definer set search_path = public as $$
declare
  first_machine text;
begin
  select min(machine_id) into first_machine from new_events;
  if first_machine is not null then
    perform pg_notify('vyx_machine_events', first_machine);
  end if;
  return null;
end
$$;

drop trigger if exists vyx_notify on public.machine_events;
create trigger vyx_notify after insert on public.machine_events
  referencing new table as new_events
  for each statement execute function public.vyx_machine_events_notify_statement();

drop function if exists public.vyx_machine_events_notify();

select public.secure_vyx_functions();
