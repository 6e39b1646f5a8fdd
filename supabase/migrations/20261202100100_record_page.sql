-- vyxbot: a page of the stuck watcher's diagnoses recorded and its leases given back in one call
-- (issue #17): one request less per page. At 10,000 rows the release's own request waited as long
-- as the claim's; the statement itself takes a few milliseconds.
create or replace function public.vyx_record_page(
  p_items jsonb,
  p_renotify_after_s int default 600,
  p_owner text default null,
  p_release_ids text[] default null
) returns jsonb
language plpgsql volatile set search_path = public as $$
declare
  result jsonb := public.vyx_record_diagnoses(p_items, p_renotify_after_s);
begin
  if p_owner is not null and p_release_ids is not null then
    perform public.vyx_release_leases(p_owner, p_release_ids);
  end if;
  return result;
end
$$;

select public.secure_vyx_functions();
