-- conductor.import_staff(source): staged staff -> public.staff, upserted by
-- (staff_name, shop_location) in one statement. Rejected: a row without either key part, and an
-- earlier row of a key that appears again later in the batch. Left out and recorded (the row is
-- still imported): a bad is_active, an employee_id another staff row already has, and a hire_date
-- that is not a date or lies outside 2000-01-01 to a year ahead (the staff_hire_date_plausible bounds).
-- The performance columns belong to the maintenance functions.
-- Reads and deletes conductor.staging_staff; writes public.staff, conductor.import_batches,
-- conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_staff(p_source text)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set datestyle = 'ISO, MDY'
set jit = off
language plpgsql
as $$
declare
    v_true constant text[] := array['true', 't', 'yes', 'y', '1', 'active'];
    v_false constant text[] := array['false', 'f', 'no', 'n', '0', 'inactive'];
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_staff as s where s.source = p_source) then
        return conductor.import_batch_result('staff', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('staff', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_staff;

    with consumed as (
        delete from conductor.staging_staff as s
        where s.source = p_source
        returning s.*
    ),

    parsed as materialized (
        select
            c.row_number,
            nullif(btrim(c.staff_name), '') as staff_name,
            nullif(btrim(c.shop_location), '') as shop_location,
            nullif(btrim(c.employee_id), '') as employee_id,
            nullif(btrim(c.role), '') as role,
            lower(nullif(btrim(c.is_active), '')) as is_active,
            nullif(btrim(c.hire_date), '') as hire_date,
            conductor.parse_date(c.hire_date) as hire_date_value
        from consumed as c
    ),

    keyed as (
        select
            p.*,
            case
                when p.is_active = any(v_true) then true
                when p.is_active = any(v_false) then false
            end as is_active_value,
            case
                when p.staff_name is null then 'missing_staff_name'
                when p.shop_location is null then 'missing_shop_location'
            end as invalid
        from parsed as p
    ),

    ranked as (
        select
            k.*,
            max(k.row_number) filter (where k.invalid is null)
                over (partition by k.staff_name, k.shop_location) as last_row
        from keyed as k
    ),

    checked as (
        select
            r.*,
            coalesce(r.invalid, case when r.row_number < r.last_row then 'duplicate' end) as rejection,
            r.is_active is not null and r.is_active_value is null as is_active_bad,
            case
                when r.hire_date is null then null
                when r.hire_date_value is null then 'hire_date is not a date'
                when r.hire_date_value < '2000-01-01'::date then 'hire_date is before 2000-01-01'
                when r.hire_date_value > current_date + 366 then 'hire_date is more than a year ahead'
            end as hire_date_problem,
            r.employee_id is not null and (
                exists (
                    select from public.staff as o
                    where
                        o.employee_id = r.employee_id
                        and (o.staff_name, o.shop_location) is distinct from (r.staff_name, r.shop_location)
                )
                or r.row_number < max(r.row_number) filter (where r.invalid is null and r.row_number = r.last_row)
                over (partition by r.employee_id)
            ) as employee_id_taken
        from ranked as r
    ),

    final as (
        select
            k.staff_name,
            k.shop_location,
            case when k.employee_id_taken then e.employee_id else k.employee_id end as employee_id,
            k.role,
            case
                when k.is_active_bad or k.is_active is null then coalesce(e.is_active, true)
                else k.is_active_value
            end as is_active,
            case when k.hire_date_problem is not null then e.hire_date else k.hire_date_value end as hire_date
        from checked as k
        left join public.staff as e on e.staff_name = k.staff_name and e.shop_location = k.shop_location
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'staff', k.staff_name || ' @ ' || k.shop_location, i.field, i.bad_value, i.problem, i.action,
            v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing_staff_name', 'staff_name', null::text,
                'staff_name is missing (it is part of the business key)', 'rejected'
            ),
            (
                k.rejection = 'missing_shop_location', 'shop_location', null::text,
                'shop_location is missing (it is part of the business key)', 'rejected'
            ),
            (
                k.rejection = 'duplicate', 'staff_name', k.staff_name,
                format(
                    'staff_name is given again for this shop_location in the batch: row %s of the source was imported instead',
                    k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection is null and k.employee_id_taken, 'employee_id', k.employee_id,
                'employee_id already belongs to another staff member', 'field_cleared'
            ),
            (
                k.rejection is null and k.is_active_bad, 'is_active', k.is_active,
                'is_active is not true or false', 'field_cleared'
            ),
            (
                k.rejection is null and k.hire_date_problem is not null, 'hire_date', k.hire_date,
                k.hire_date_problem, 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.staff as s (staff_name, shop_location, employee_id, role, is_active, hire_date)
        select f.staff_name, f.shop_location, f.employee_id, f.role, f.is_active, f.hire_date
        from final as f
        on conflict (staff_name, shop_location) do update set
            employee_id = excluded.employee_id,
            role = excluded.role,
            is_active = excluded.is_active,
            hire_date = excluded.hire_date
        where (s.employee_id, s.role, s.is_active, s.hire_date)
        is distinct from (excluded.employee_id, excluded.role, excluded.is_active, excluded.hire_date)
        returning s.xmax = 0 as inserted
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
    return conductor.import_batch_result('staff', p_source, v_batch);
end
$$;
comment on function conductor.import_staff(text) is
'Imports the staged staff of one source (conductor.staging_staff) into public.staff, upserting by '
'(staff_name, shop_location); returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
