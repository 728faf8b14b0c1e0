-- Lenient parsers for staged text: each returns null for a value it cannot read instead of
-- raising, so an import can record the problem as a data issue and go on. Numbers and flags are
-- checked inline in the import statements (a regular expression is faster than a function
-- call per value); dates, times and lists need the server's own parser, wrapped here.
-- The server's special date inputs are not data: epoch, infinity and -infinity, and the words
-- that mean a day relative to the clock (now, today, tomorrow, yesterday, allballs) read as null.
-- Whether a date is plausible (from 2000-01-01 on, not in the future) is the importer's check,
-- against the same bounds as the tables' *_plausible constraints.
-- Reads nothing, writes nothing.

create function conductor.parse_timestamptz(p_value text)
returns timestamptz
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_value timestamptz;
begin
    if p_value is null or btrim(p_value) = ''
        or p_value ~* '(epoch|infinity|now|today|tomorrow|yesterday|allballs)' then
        return null;
    end if;
    v_value := p_value::timestamptz;
    return case when pg_catalog.isfinite(v_value) then v_value end;
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_timestamptz(text) is
'Timestamp from text, or null when it is not one (also for infinity, epoch and the words now, today, '
'tomorrow, yesterday and allballs, which are not data). A value without a zone is read in the session '
'TimeZone (the import functions set it to the store''s) and the session DateStyle (ISO, MDY).';

create function conductor.parse_date(p_value text)
returns date
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_value date;
begin
    if p_value is null or btrim(p_value) = ''
        or p_value ~* '(epoch|infinity|now|today|tomorrow|yesterday|allballs)' then
        return null;
    end if;
    v_value := p_value::date;
    return case when pg_catalog.isfinite(v_value) then v_value end;
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_date(text) is
'Calendar date from text (ISO or the session DateStyle, ISO, MDY during imports), or null when it is not one '
'(also for infinity, epoch and the words now, today, tomorrow, yesterday and allballs, which are not data).';

create function conductor.parse_text_list(p_value text)
returns text[]
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_value text := btrim(p_value);
    v_list text[];
begin
    if v_value is null or v_value = '' then
        return null;
    end if;
    if left(v_value, 1) = '[' then
        select pg_catalog.array_agg(btrim(e.item) order by e.ordinality)
        into v_list
        from pg_catalog.jsonb_array_elements_text(v_value::jsonb) with ordinality as e (item, ordinality);
    elsif left(v_value, 1) = '{' then
        v_list := v_value::text[];
    else
        select pg_catalog.array_agg(btrim(e.item) order by e.ordinality)
        into v_list
        from pg_catalog.regexp_split_to_table(v_value, '\s*[,;|]\s*') with ordinality as e (item, ordinality);
    end if;
    return pg_catalog.array_remove(v_list, '');
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_text_list(text) is
'List from text: a JSON array, a PostgreSQL array literal or items separated by , ; or |. '
'Null when the text is empty or malformed.';
