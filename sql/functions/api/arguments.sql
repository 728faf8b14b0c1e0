-- Argument checks shared by the public RPC functions. (Which customer a phone stands for is
-- conductor.customer_for_phone, sql/functions/leads/linking.sql: the rule leads and messages use.)

-- A phone argument in E.164, or 22023 naming the argument (missing or not a phone number).
create function conductor.phone_argument(p_value text, p_argument text)
returns text
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_value is null or btrim(p_value) = '' then
        raise exception '% is required: pass a phone number such as +16199773020', p_argument
            using errcode = '22023', hint = 'Pass the phone number, for example +16199773020.';
    end if;
    return conductor.require_phone(p_value, p_argument);
end
$$;
comment on function conductor.phone_argument(text, text) is
'E.164 form of a phone-number argument; raises 22023 naming the argument when it is missing or malformed.';

-- An integer argument within bounds, or 22023 naming the argument.
create function conductor.int_argument(p_value integer, p_argument text, p_min integer, p_max integer)
returns integer
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_value is null or p_value < p_min or p_value > p_max then
        raise exception '% is out of range: must be between % and %, got %', p_argument, p_min, p_max, coalesce(p_value::text, 'null')
            using errcode = '22023';
    end if;
    return p_value;
end
$$;
comment on function conductor.int_argument(integer, text, integer, integer) is
'The integer argument if it lies in [p_min, p_max]; else raises 22023 naming the argument.';
