-- Trigger: keeps updated_at current on every row that actually changes. The triggers call it
-- only when the row changed and the statement did not set updated_at itself (their WHEN clause,
-- evaluated without a function call), so the package's bulk writers set updated_at = now() in the
-- statement and pay nothing per row.
create function conductor.tg_set_updated_at()
returns trigger
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end
$$;
comment on function conductor.tg_set_updated_at() is
'Trigger: sets updated_at to now(). Its triggers fire when a row changes and the statement left '
'updated_at as it was (an update that sets updated_at itself keeps that value).';
