-- Phone numbers in E.164. conductor.normalize_phone turns common US formats into +1XXXXXXXXXX
-- and keeps valid international numbers; anything else gives null. conductor.require_phone
-- raises a clear error naming the field instead.
create function conductor.normalize_phone(p_phone text)
returns text
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_digits text;
begin
    if p_phone is null or btrim(p_phone) = '' then
        return null;
    end if;
    -- Drop punctuation people type: spaces, dots, dashes, parentheses; and a trailing extension.
    v_digits := regexp_replace(btrim(p_phone), '\s*(ext\.?|x)\s*\d+$', '', 'i');
    if v_digits ~ '[^0-9+().\s-]' or v_digits ~ '.\+' then
        return null;
    end if;
    if left(v_digits, 1) = '+' then
        v_digits := '+' || regexp_replace(v_digits, '[^0-9]', '', 'g');
    else
        v_digits := regexp_replace(v_digits, '[^0-9]', '', 'g');
        if v_digits ~ '^00[1-9]' then
            v_digits := '+' || substr(v_digits, 3);
        elsif length(v_digits) = 10 then
            v_digits := '+1' || v_digits;
        elsif length(v_digits) = 11 and left(v_digits, 1) = '1' then
            v_digits := '+' || v_digits;
        else
            return null;
        end if;
    end if;
    -- North American numbers: area code and exchange cannot start with 0 or 1.
    if left(v_digits, 2) = '+1' and v_digits !~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$' then
        return null;
    end if;
    if v_digits !~ '^\+[1-9][0-9]{7,14}$' then
        return null;
    end if;
    return v_digits;
end
$$;
comment on function conductor.normalize_phone(text) is
'E.164 form of a phone number ("(619) 977-3020" -> "+16199773020"), or null if it cannot be normalized.';

create function conductor.require_phone(p_phone text, p_field text)
returns text
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_phone text := conductor.normalize_phone(p_phone);
begin
    if v_phone is null and p_phone is not null and btrim(p_phone) <> '' then
        raise exception '%: % is not a phone number that can be written in E.164',
            p_field, conductor.error_excerpt(p_phone)
            using errcode = '22023',
                  hint = 'Use +<country code><number>, or a 10-digit US number such as (619) 977-3020.';
    end if;
    return v_phone;
end
$$;
comment on function conductor.require_phone(text, text) is
'E.164 form of a phone number; raises 22023 naming the field when it cannot be normalized.';

-- Trigger: normalizes the phone column named in TG_ARGV[0] on insert and update.
-- Security definer: it runs for service_role's inserts too, and calls into conductor.
create function conductor.tg_normalize_phone()
returns trigger
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_column text := tg_argv[0];
    v_raw text := pg_catalog.to_jsonb(new) ->> v_column;
    v_phone text;
begin
    v_phone := conductor.require_phone(v_raw, format('%s.%s', tg_table_name, v_column));
    if v_phone is distinct from v_raw then
        new := pg_catalog.jsonb_populate_record(new, pg_catalog.jsonb_build_object(v_column, v_phone));
    end if;
    return new;
end
$$;
comment on function conductor.tg_normalize_phone() is
'Trigger: rewrites the phone column named by the trigger argument to E.164, or raises 22023.';
