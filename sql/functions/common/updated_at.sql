-- Trigger: keeps updated_at current on every row that actually changes.
create function conductor.tg_set_updated_at()
returns trigger
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if new is distinct from old then
        new.updated_at := now();
    end if;
    return new;
end
$$;
comment on function conductor.tg_set_updated_at() is 'Trigger: sets updated_at to now() when a row changes.';
