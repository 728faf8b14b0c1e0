-- The Blaze sync cursor: public.blaze_sync_next(entity, backfill_from) tells a workflow which
-- window and page of a partner endpoint to fetch next; conductor.blaze_advance_cursor moves the
-- cursor on after public.blaze_sync_page applied that page. Blaze allows at most a 7-day range
-- per request and 100 rows per page. Transactions are filtered by calendar day (MM/dd/yyyy, the
-- store's days in store_time_zone); members and products by epoch milliseconds. Consecutive
-- windows overlap (by a day for transactions, 10 minutes otherwise), so a record changed at a
-- window's edge is read again; applying it twice changes nothing. Once a window reaches now the
-- cursor is caught up and keeps re-reading that recent stretch.
-- Reads and writes conductor.blaze_sync_cursors; reads conductor.settings.

create function conductor.blaze_window(p_entity text, p_window_start timestamptz, p_time_zone text)
returns jsonb
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_today date := (pg_catalog.now() at time zone p_time_zone)::date;
    v_start_day date;
    v_end_day date;
    v_end timestamptz;
begin
    if p_entity = 'transactions' then
        v_start_day := (p_window_start at time zone p_time_zone)::date;
        v_end_day := least(v_start_day + 6, greatest(v_today, v_start_day));
        v_end := (v_end_day + 1)::timestamp at time zone p_time_zone;
        return pg_catalog.jsonb_build_object(
            'startDate', pg_catalog.to_char(v_start_day, 'MM/DD/YYYY'),
            'endDate', pg_catalog.to_char(v_end_day, 'MM/DD/YYYY'),
            'window_end', v_end
        );
    end if;
    v_end := least(p_window_start + interval '7 days', greatest(pg_catalog.now(), p_window_start));
    return pg_catalog.jsonb_build_object(
        'startDate', (extract(epoch from p_window_start) * 1000)::bigint,
        'endDate', (extract(epoch from v_end) * 1000)::bigint,
        'window_end', v_end
    );
end
$$;
comment on function conductor.blaze_window(text, timestamptz, text) is
'The Blaze request window that starts at p_window_start: startDate and endDate as the endpoint takes them '
'(MM/DD/YYYY store days for transactions, epoch ms otherwise; at most 7 days, not past now) and window_end.';

create function public.blaze_sync_next(entity text, backfill_from date default null)
returns jsonb
volatile
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_entity text := blaze_sync_next.entity;
    v_from date := blaze_sync_next.backfill_from;
    v_tz text := conductor.store_time_zone();
    v_today date := (pg_catalog.now() at time zone conductor.store_time_zone())::date;
    v_cursor conductor.blaze_sync_cursors;
    v_window jsonb;
begin
    if v_entity is null or v_entity not in ('members', 'products', 'transactions') then
        raise exception 'entity is not valid: % (members, products or transactions)',
            conductor.error_excerpt(v_entity)
            using errcode = '22023';
    end if;
    if v_from is not null and (v_from < '2000-01-01'::date or v_from > v_today) then
        raise exception 'backfill_from is out of range: must be between 2000-01-01 and %, got %', v_today, v_from
            using errcode = '22023';
    end if;
    -- A new cursor starts with yesterday: history before it is a backfill's job.
    insert into conductor.blaze_sync_cursors (entity, window_start)
    values (v_entity, (v_today - 1)::timestamp at time zone v_tz)
    on conflict (entity) do nothing;
    if v_from is not null then
        update conductor.blaze_sync_cursors set
            window_start = v_from::timestamp at time zone v_tz, skip = 0, caught_up = false, updated_at = pg_catalog.now()
        where entity = v_entity;
    end if;
    select * into v_cursor from conductor.blaze_sync_cursors as c where c.entity = v_entity;
    v_window := conductor.blaze_window(v_entity, v_cursor.window_start, v_tz);
    return pg_catalog.jsonb_build_object(
        'entity', v_entity,
        'path', '/api/v1/partner/' || v_entity,
        'query', pg_catalog.jsonb_build_object(
            'startDate', v_window -> 'startDate', 'endDate', v_window -> 'endDate',
            'skip', v_cursor.skip, 'limit', 100
        ),
        'caught_up', v_cursor.caught_up,
        'sync_cursor', pg_catalog.jsonb_build_object(
            'entity', v_entity,
            'window_start', v_cursor.window_start,
            'window_end', v_window -> 'window_end',
            'skip', v_cursor.skip
        )
    );
end
$$;
comment on function public.blaze_sync_next(text, date) is
'The next Blaze request of one entity''s sync: {entity, path, query: {startDate, endDate, skip, limit}, '
'caught_up, sync_cursor}; pass sync_cursor to blaze_sync_page with the page. backfill_from rewinds the '
'cursor to that store day (a backfill is the same loop from there).';

create function conductor.blaze_advance_cursor(p_entity text, p_cursor jsonb, p_rows integer)
returns boolean
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_start timestamptz;
    v_end timestamptz;
    v_skip integer;
begin
    begin
        v_start := (p_cursor ->> 'window_start')::timestamptz;
        v_end := (p_cursor ->> 'window_end')::timestamptz;
        v_skip := (p_cursor ->> 'skip')::integer;
    exception
        when data_exception then
            raise exception 'sync_cursor is not valid: pass the sync_cursor blaze_sync_next returned for %, got %',
                p_entity, conductor.error_excerpt(p_cursor::text)
                using errcode = '22023';
    end;
    if v_end is null or v_end <= v_start then
        raise exception 'sync_cursor is not valid: pass the sync_cursor blaze_sync_next returned for %, got %',
            p_entity, conductor.error_excerpt(p_cursor::text)
            using errcode = '22023';
    end if;
    -- Only the page the cursor stands at moves it; a repeated or late page leaves it alone.
    if p_rows >= 100 then
        update conductor.blaze_sync_cursors as c set
            skip = c.skip + p_rows, pages_applied = c.pages_applied + 1, last_page_at = pg_catalog.now(),
            updated_at = pg_catalog.now()
        where c.entity = p_entity and c.window_start = v_start and c.skip = v_skip;
    else
        update conductor.blaze_sync_cursors as c set
            window_start = case
                when p_entity = 'transactions' then v_end - interval '1 day'
                else greatest(v_start, v_end - interval '10 minutes')
            end,
            skip = 0,
            caught_up = v_end >= pg_catalog.now() - interval '1 minute',
            pages_applied = c.pages_applied + 1,
            last_page_at = pg_catalog.now(),
            updated_at = pg_catalog.now()
        where c.entity = p_entity and c.window_start = v_start and c.skip = v_skip;
    end if;
    return found;
end
$$;
comment on function conductor.blaze_advance_cursor(text, jsonb, integer) is
'Moves the sync cursor of p_entity past the page p_cursor named (p_rows rows): the next page of the window, '
'or, after a short page, the next window (overlapping the last one). A cursor that moved already stays.';
