-- Blaze partner API values as the import staging tables take them (text). A number stays the
-- number's text; any other JSON value keeps its JSON spelling (a string "12.50" arrives quoted),
-- so the import rejects it as "<field> is not an amount" and the data issue shows what Blaze
-- sent. Epoch-millisecond timestamps become ISO text in UTC. Reads nothing, writes nothing.

create function conductor.blaze_number_text(p_value jsonb)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    select case when p_value is null or p_value = 'null'::jsonb then null else p_value::text end
$$;
comment on function conductor.blaze_number_text(jsonb) is
'A Blaze number as staging text; null for a missing or JSON null value; any other JSON value in its JSON '
'spelling (a string keeps its quotes), which the import rejects as not a number.';

create function conductor.blaze_signed_text(p_value jsonb, p_negative boolean)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    select case
        when p_negative and pg_catalog.jsonb_typeof(p_value) = 'number' then (-abs(p_value::text::numeric))::text
        else conductor.blaze_number_text(p_value)
    end
$$;
comment on function conductor.blaze_signed_text(jsonb, boolean) is
'A Blaze amount as staging text, negative when p_negative (the amounts of a refund), whatever sign Blaze gave.';

create function conductor.blaze_time_text(p_value jsonb)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    select case
        when p_value is null or p_value = 'null'::jsonb then null
        -- 1970-01-02 to 2100-01-01: anything else is not an epoch-millisecond time of a sale.
        when pg_catalog.jsonb_typeof(p_value) = 'number' and p_value::text::numeric between 86400000 and 4102444800000
            then pg_catalog.to_char(
                pg_catalog.to_timestamp(p_value::text::numeric / 1000) at time zone 'UTC',
                'YYYY-MM-DD"T"HH24:MI:SS.US'
            ) || '+00'
        else p_value::text
    end
$$;
comment on function conductor.blaze_time_text(jsonb) is
'A Blaze epoch-millisecond time as ISO text in UTC; any other value in its JSON spelling, which the import '
'rejects as not a timestamp.';

create function conductor.blaze_local_date_text(p_value jsonb, p_time_zone text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language sql
as $$
    select case
        when pg_catalog.jsonb_typeof(p_value) = 'number' and p_value::text::numeric between 86400000 and 4102444800000
            then pg_catalog.to_char(
                pg_catalog.to_timestamp(p_value::text::numeric / 1000) at time zone p_time_zone, 'YYYY-MM-DD'
            )
        else conductor.blaze_number_text(p_value)
    end
$$;
comment on function conductor.blaze_local_date_text(jsonb, text) is
'The calendar day (in p_time_zone, the store''s) of a Blaze epoch-millisecond time, as YYYY-MM-DD text.';
