-- conductor.setting(key): one operating setting from conductor.settings, as jsonb.
-- Raises 22023 for an unknown key so a typo never reads as "no limit".
create function conductor.setting(p_key text)
returns jsonb
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_value jsonb;
begin
    select s.value into v_value from conductor.settings as s where s.key = p_key;
    if not found then
        raise exception 'unknown setting: %', p_key
            using errcode = '22023', hint = 'See conductor.settings for the known keys.';
    end if;
    return v_value;
end
$$;
comment on function conductor.setting(text) is
'Value of one setting from conductor.settings as jsonb; raises 22023 for an unknown key.';

-- Hot helpers are plpgsql, not SQL: a SQL function that pins search_path is never inlined
-- and its query is planned again in every statement that calls it; plpgsql keeps the plan.

-- conductor.store_time_zone(): the store's IANA time zone, used to define visit days.
create function conductor.store_time_zone()
returns text
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return (select s.value #>> '{}' from conductor.settings as s where s.key = 'store_time_zone');
end
$$;
comment on function conductor.store_time_zone() is 'The store''s IANA time zone (setting store_time_zone).';

-- conductor.store_today(): today's date at the store.
create function conductor.store_today()
returns date
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    return (pg_catalog.now() at time zone conductor.store_time_zone())::date;
end
$$;
comment on function conductor.store_today() is 'Today''s calendar date in the store''s time zone.';
