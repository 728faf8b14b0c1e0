-- conductor.import_customers(source): staged customers -> public.customers, upserted by
-- member_id in one statement. A row without member_id, or an earlier row of a member_id that
-- appears again later in the batch, is rejected. A value that cannot be used (a phone that is
-- not a phone, a bad number, an unknown time zone, a malformed email, a registered_on that is not a
-- date or lies outside 2000-01-01 to tomorrow, the customers_registered_on_plausible bounds) is left out and
-- recorded, and the customer is still imported: a new customer gets the field empty, an
-- existing one keeps its stored value. Only the POS columns are written; the metrics belong to
-- the maintenance functions.
-- Reads and deletes conductor.staging_customers; writes public.customers,
-- conductor.import_batches, conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_customers(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set datestyle = 'ISO, MDY'
set jit = off
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_email constant text := '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$';
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_customers as s where s.source = p_source) then
        return conductor.import_batch_result('customers', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('customers', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_customers;

    with consumed as (
        delete from conductor.staging_customers as s
        where s.source = p_source
        returning s.*
    ),

    cleaned as (
        select
            c.row_number,
            nullif(btrim(c.member_id), '') as member_id,
            nullif(btrim(c.name), '') as name,
            nullif(btrim(c.phone), '') as phone,
            nullif(btrim(c.email), '') as email,
            nullif(btrim(c.loyalty_points), '') as loyalty_points,
            nullif(btrim(c.customer_type), '') as customer_type,
            nullif(btrim(c.member_group), '') as member_group,
            nullif(btrim(c.marketing_source), '') as marketing_source,
            nullif(btrim(c.street_address), '') as street_address,
            nullif(btrim(c.city), '') as city,
            nullif(btrim(c.state), '') as state,
            nullif(btrim(c.zip_code), '') as zip_code,
            nullif(btrim(c.time_zone), '') as time_zone,
            nullif(btrim(c.registered_on), '') as registered_on
        from consumed as c
    ),

    parsed as materialized (
        select
            c.*,
            conductor.normalize_phone(c.phone) as phone_e164,
            case
                when c.loyalty_points ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.loyalty_points, ',', ''), '$', '')::numeric
            end as loyalty_points_value,
            conductor.parse_date(c.registered_on) as registered_on_value,
            c.email ~ v_email as email_ok,
            z.name is not null as time_zone_ok,
            max(c.row_number) filter (where c.member_id is not null)
                over (partition by c.member_id) as last_row
        from cleaned as c
        left join (select distinct t.name from pg_catalog.pg_timezone_names as t) as z on z.name = c.time_zone
    ),

    checked as (
        select
            p.*,
            case
                when p.member_id is null then 'missing'
                when p.row_number < p.last_row then 'duplicate'
            end as rejection,
            p.phone is not null and p.phone_e164 is null as phone_bad,
            p.loyalty_points is not null and (
                p.loyalty_points_value is null or p.loyalty_points_value < 0
                or p.loyalty_points_value >= 1e10
            ) as loyalty_points_bad,
            case
                when p.registered_on is null then null
                when p.registered_on_value is null then 'registered_on is not a date'
                when p.registered_on_value < '2000-01-01'::date then 'registered_on is before 2000-01-01'
                when p.registered_on_value > current_date + 1 then 'registered_on is in the future'
            end as registered_on_problem,
            p.email is not null and not p.email_ok as email_bad,
            p.time_zone is not null and not p.time_zone_ok as time_zone_bad
        from parsed as p
    ),

    final as (
        select
            k.member_id,
            k.name,
            case when k.phone_bad then e.phone else k.phone_e164 end as phone,
            case when k.email_bad then e.email else k.email end as email,
            case
                when k.loyalty_points_bad then coalesce(e.loyalty_points, 0)
                else coalesce(pg_catalog.round(k.loyalty_points_value, 2), 0)
            end as loyalty_points,
            k.customer_type,
            k.member_group,
            k.marketing_source,
            k.street_address,
            k.city,
            k.state,
            k.zip_code,
            case when k.time_zone_bad then e.time_zone else k.time_zone end as time_zone,
            case when k.registered_on_problem is not null then e.registered_on else k.registered_on_value end
                as registered_on
        from checked as k
        left join public.customers as e on e.member_id = k.member_id
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select 'customers', k.member_id, i.field, i.bad_value, i.problem, i.action, v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing', 'member_id', null::text,
                'member_id is missing (it is the business key)', 'rejected'
            ),
            (
                k.rejection = 'duplicate', 'member_id', k.member_id,
                format(
                    'member_id is given again in the batch: row %s of the source was imported instead', k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection is null and k.phone_bad, 'phone', k.phone,
                'phone is not a number that can be written in E.164', 'field_cleared'
            ),
            (
                k.rejection is null and k.loyalty_points_bad, 'loyalty_points', k.loyalty_points,
                'loyalty_points is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.registered_on_problem is not null, 'registered_on', k.registered_on,
                k.registered_on_problem, 'field_cleared'
            ),
            (
                k.rejection is null and k.email_bad, 'email', k.email,
                'email is not an email address', 'field_cleared'
            ),
            (
                k.rejection is null and k.time_zone_bad, 'time_zone', k.time_zone,
                'time_zone is not a known IANA time zone', 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.customers as c (
            member_id, name, phone, email, loyalty_points, customer_type, member_group,
            marketing_source, street_address, city, state, zip_code, time_zone, registered_on
        )
        select
            f.member_id, f.name, f.phone, f.email, f.loyalty_points, f.customer_type, f.member_group,
            f.marketing_source, f.street_address, f.city, f.state, f.zip_code, f.time_zone, f.registered_on
        from final as f
        on conflict (member_id) do update set
            name = excluded.name,
            phone = excluded.phone,
            email = excluded.email,
            loyalty_points = excluded.loyalty_points,
            customer_type = excluded.customer_type,
            member_group = excluded.member_group,
            marketing_source = excluded.marketing_source,
            street_address = excluded.street_address,
            city = excluded.city,
            state = excluded.state,
            zip_code = excluded.zip_code,
            time_zone = excluded.time_zone,
            registered_on = excluded.registered_on
        where (
            c.name, c.phone, c.email, c.loyalty_points, c.customer_type, c.member_group,
            c.marketing_source, c.street_address, c.city, c.state, c.zip_code, c.time_zone, c.registered_on
        ) is distinct from (
            excluded.name, excluded.phone, excluded.email, excluded.loyalty_points, excluded.customer_type,
            excluded.member_group, excluded.marketing_source, excluded.street_address, excluded.city,
            excluded.state, excluded.zip_code, excluded.time_zone, excluded.registered_on
        )
        returning c.xmax = 0 as inserted
    )

    select
        (select count(*) from checked) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from checked where rejection is not null) as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('customers', p_source, v_batch);
end
$$;
comment on function conductor.import_customers(text) is
'Imports the staged customers of one source (conductor.staging_customers) into public.customers, '
'upserting by member_id; returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
