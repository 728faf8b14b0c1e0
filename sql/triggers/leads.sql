-- Lead linking both ways and the lead history (functions in sql/functions/leads/linking.sql).
-- On leads: _200 links each row after _100 normalized its phone and before _900 stamps
-- updated_at; _800 records the events of the whole statement. On customers: _600 runs after the
-- metric triggers (_500); per statement on insert, so bulk imports stay set-based, and per row on
-- update when the phone changed. A moved last visit (which decides, among customers sharing a
-- phone, whose lead it is) is relinked by the functions that write last_visited
-- (conductor.refresh_customers, conductor.apply_appended_sales), once per statement.
create trigger _200_link_customer before insert or update on public.leads
for each row execute function conductor.tg_leads__link_customer();

create trigger _800_record_events_on_insert after insert on public.leads
referencing new table as new_rows
for each statement execute function conductor.tg_leads__record_events();
create trigger _800_record_events_on_update after update on public.leads
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_leads__record_events();

create trigger _600_link_leads_on_insert after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__link_leads();
create trigger _600_link_leads_on_update after update on public.customers
for each row when (old.phone is distinct from new.phone)
execute function conductor.tg_customers__link_leads();

-- Leads stored before this install (or while the triggers were absent) are brought up to date;
-- rows already linked correctly are not written, so installing again changes nothing.
do $backfill$
begin
    perform conductor.link_leads(null);
end
$backfill$;
