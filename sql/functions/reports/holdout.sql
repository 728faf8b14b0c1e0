-- Campaign holdout: which recipients of a campaign are held back (not texted) as its control group.
-- The draw is a hash, not a random number: the first 32 bits of sha256(campaign_name, batch, phone)
-- read as a fraction in [0, 1); a phone whose fraction is below the campaign's holdout share is
-- held out. The same campaign and phone always land in the same group (rerun, reinstall, another
-- server), customers sharing a phone share its group, and any tool can recompute the draw.
-- Reads: public.campaign_holdouts, conductor.settings. Writes nothing.

create function conductor.holdout_fraction(
    p_campaign_name text, p_campaign_batch_id text, p_phone_number text
)
returns double precision
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_campaign_name is null or p_phone_number is null then
        return null;
    end if;
    return (
        'x' || pg_catalog.left(
            pg_catalog.encode(
                pg_catalog.sha256(
                    pg_catalog.convert_to(
                        p_campaign_name || pg_catalog.chr(31) || coalesce(p_campaign_batch_id, '')
                        || pg_catalog.chr(31) || p_phone_number,
                        'UTF8'
                    )
                ),
                'hex'
            ),
            8
        )
    )::bit(32)::bigint::double precision / 4294967296.0;
end
$$;
comment on function conductor.holdout_fraction(text, text, text) is
'The holdout draw of a campaign recipient: the first 32 bits of sha256(campaign_name || chr(31) || '
'coalesce(campaign_batch_id, '''') || chr(31) || phone_number) (UTF-8) divided by 2^32, a fraction in [0, 1) '
'that is the same for the same campaign and phone everywhere. Null when the campaign name or phone is null.';

create function conductor.campaign_holdout_share(p_campaign_name text, p_campaign_batch_id text)
returns numeric
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_share numeric;
    v_setting jsonb;
begin
    if p_campaign_name is null then
        return 0;
    end if;
    select h.holdout_share into v_share
    from public.campaign_holdouts as h
    where h.campaign_name = p_campaign_name
        and (h.campaign_batch_id = p_campaign_batch_id or h.campaign_batch_id is null)
    order by h.campaign_batch_id is null
    limit 1;
    if found then
        return v_share;
    end if;
    v_setting := conductor.setting('campaign_holdout_share');
    if pg_catalog.jsonb_typeof(v_setting) is distinct from 'number'
        or (v_setting #>> '{}')::numeric < 0 or (v_setting #>> '{}')::numeric >= 1 then
        raise exception 'invalid setting: campaign_holdout_share must be a number from 0 to below 1, not %',
            conductor.error_excerpt(v_setting::text)
            using errcode = '22023';
    end if;
    return (v_setting #>> '{}')::numeric;
end
$$;
comment on function conductor.campaign_holdout_share(text, text) is
'Holdout share of a campaign: its public.campaign_holdouts row for the batch, else the row of the name with a '
'null batch, else the campaign_holdout_share setting (22023 when that is not a number in [0, 1)). 0 for a '
'scheduled message without a campaign_name.';

create function conductor.is_held_out(p_campaign_name text, p_campaign_batch_id text, p_phone_number text)
returns boolean
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_campaign_name is null or p_phone_number is null then
        return false;
    end if;
    return conductor.holdout_fraction(p_campaign_name, p_campaign_batch_id, p_phone_number)
        < conductor.campaign_holdout_share(p_campaign_name, p_campaign_batch_id);
end
$$;
comment on function conductor.is_held_out(text, text, text) is
'Whether campaign dispatch holds this phone back from the campaign (the control group): its holdout_fraction '
'is below the campaign''s holdout share. Never for a scheduled message without a campaign_name.';
