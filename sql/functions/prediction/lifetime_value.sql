-- Lifetime value in the database: the nightly (and on-demand) maximum-likelihood fit of BG/NBD
-- and Gamma-Gamma on every customer's visits, recorded in conductor.lifetime_value_fits, and the
-- per-customer predictions in public.customer_lifetime_value. Time unit: days. A visit is a
-- store-local day with a completed sale (customers.total_visits); spend per visit is the
-- customer's gross completed sales over visits.
-- Reads: customers (or transactions for a past date), lifetime_value_fits.
-- Writes: lifetime_value_fits, customer_lifetime_value (and marks their customer_context stale),
-- temporary tables pg_temp.clv_*.

-- Fills pg_temp.clv_customers (one row per customer with a visit up to p_as_of) and the grouped
-- inputs of the two fits, pg_temp.clv_bgnbd_data and pg_temp.clv_gg_data. For the store's today
-- (or later) it reads the maintained totals in public.customers; for an earlier date (a
-- calibration period) the completed sales up to that day. Returns the number of customers.
create function conductor.lifetime_value_prepare(p_as_of date default null)
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_as_of date := coalesce(p_as_of, v_today);
    v_time_zone text := conductor.store_time_zone();
    v_customers integer;
begin
    if pg_catalog.to_regclass('pg_temp.clv_customers') is not null then
        drop table pg_temp.clv_customers;
    end if;
    if pg_catalog.to_regclass('pg_temp.clv_bgnbd_data') is not null then
        drop table pg_temp.clv_bgnbd_data;
    end if;
    if pg_catalog.to_regclass('pg_temp.clv_gg_data') is not null then
        drop table pg_temp.clv_gg_data;
    end if;
    create temporary table clv_customers (
        customer_id text primary key,
        visits integer not null,
        x integer not null,
        t_x double precision not null,
        t_cal double precision not null,
        spend_per_visit double precision
    ) on commit drop;
    if v_as_of >= v_today then
        insert into pg_temp.clv_customers
        select
            c.member_id,
            c.total_visits,
            c.total_visits - 1,
            c.last_visited - c.first_visited,
            v_as_of - c.first_visited,
            c.gross_sales / c.total_visits
        from public.customers as c
        where c.total_visits > 0 and c.first_visited <= v_as_of;
    else
        insert into pg_temp.clv_customers
        select
            a.customer_id,
            a.visits,
            a.visits - 1,
            a.last_day - a.first_day,
            v_as_of - a.first_day,
            a.sales / a.visits
        from (
            select
                t.customer_id,
                count(distinct (t.date at time zone v_time_zone)::date)::integer as visits,
                min((t.date at time zone v_time_zone)::date) as first_day,
                max((t.date at time zone v_time_zone)::date) as last_day,
                sum(t.total_amount)::double precision as sales
            from public.transactions as t
            where
                t.customer_id is not null
                and t.transaction_type = 'sale'
                and t.status = 'completed'
                and t.date < ((v_as_of + 1)::timestamp at time zone v_time_zone)
            group by t.customer_id
        ) as a;
    end if;
    get diagnostics v_customers = row_count;
    create temporary table clv_bgnbd_data on commit drop as
    select c.x, c.t_x, c.t_cal, count(*)::integer as n
    from pg_temp.clv_customers as c
    group by c.x, c.t_x, c.t_cal;
    -- Gamma-Gamma on customers with at least two visits and a positive spend (one visit says
    -- little about a customer's own mean; they still get a conditional expectation).
    create temporary table clv_gg_data on commit drop as
    select c.visits as x, c.spend_per_visit as m, count(*)::integer as n
    from pg_temp.clv_customers as c
    where c.visits >= 2 and c.spend_per_visit > 0
    group by c.visits, c.spend_per_visit;
    analyze pg_temp.clv_bgnbd_data;
    analyze pg_temp.clv_gg_data;
    return v_customers;
end
$$;
comment on function conductor.lifetime_value_prepare(date) is
'Fills pg_temp.clv_customers (visits, x, t_x, T in days, spend per visit), pg_temp.clv_bgnbd_data and '
'pg_temp.clv_gg_data for the customers with a visit up to p_as_of (default: the store''s today, from the '
'maintained totals; an earlier date from the completed sales up to that day). Returns the customer count.';

-- The parameters in use for a model: its latest accepted fit (null when none).
create function conductor.lifetime_value_parameters(p_model text, out fit_id bigint, out parameters jsonb)
stable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_model not in ('bgnbd', 'gamma_gamma') then
        raise exception 'p_model must be bgnbd or gamma_gamma, got %', p_model using errcode = '22023';
    end if;
    select f.id, f.parameters into fit_id, parameters
    from conductor.lifetime_value_fits as f
    where f.model = p_model and f.accepted
    order by f.id desc
    limit 1;
end
$$;
comment on function conductor.lifetime_value_parameters(text) is
'The parameters in use for a lifetime-value model (bgnbd or gamma_gamma): its latest accepted fit.';

-- Fits both models on today's data, records each fit, and recomputes the per-customer values.
create function conductor.fit_lifetime_value_models(
    p_only_if_stale boolean default false,
    p_max_iterations integer default 2000
)
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_customers integer;
    v_previous record;
    v_start double precision[];
    v_fit record;
    v_groups integer;
    v_fit_customers integer;
    v_started timestamptz;
    v_accepted boolean;
    v_reason text;
    v_result jsonb := '{}';
    v_rows integer;
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor fit_lifetime_value_models')) then
        return jsonb_build_object('ran', false, 'reason', 'another fit_lifetime_value_models is running');
    end if;
    if p_only_if_stale and (
        select count(distinct f.model) from conductor.lifetime_value_fits as f where f.data_date >= v_today
    ) = 2 then
        return jsonb_build_object('ran', false, 'reason', 'already fitted for ' || v_today);
    end if;
    v_customers := conductor.lifetime_value_prepare(v_today);

    -- BG/NBD, from the previous accepted parameters when there are some.
    v_started := clock_timestamp();
    select * into v_previous from conductor.lifetime_value_parameters('bgnbd');
    v_start := case when v_previous.parameters is not null then array[
        (v_previous.parameters ->> 'r')::double precision, (v_previous.parameters ->> 'alpha')::double precision,
        (v_previous.parameters ->> 'a')::double precision, (v_previous.parameters ->> 'b')::double precision
    ] end;
    select count(*), coalesce(sum(d.n), 0) into v_groups, v_fit_customers from pg_temp.clv_bgnbd_data as d;
    if (select count(*) from pg_temp.clv_customers as c where c.x > 0) < 10 then
        v_accepted := false;
        v_reason := 'too few customers with a repeat visit (fewer than 10) to fit';
        insert into conductor.lifetime_value_fits (
            model, data_date, parameters, log_likelihood, iterations, evaluations, converged, accepted, reason,
            customers, groups, duration_ms
        ) values (
            'bgnbd', v_today, coalesce(v_previous.parameters, '{}'), null, 0, 0, false, false, v_reason,
            v_fit_customers, v_groups, 1000 * extract(epoch from clock_timestamp() - v_started)
        );
    else
        select * into v_fit from conductor.fit_bgnbd(v_start, p_max_iterations);
        v_accepted := v_fit.converged and abs(v_fit.parameters[3] - 1) > 1e-6;
        v_reason := case
            when not v_fit.converged then v_fit.reason
            when not v_accepted then 'a = 1: the expected-visits formula is undefined'
            else 'converged'
        end;
        insert into conductor.lifetime_value_fits (
            model, data_date, parameters, log_likelihood, iterations, evaluations, converged, accepted, reason,
            customers, groups, duration_ms
        ) values (
            'bgnbd', v_today,
            jsonb_build_object(
                'r', v_fit.parameters[1], 'alpha', v_fit.parameters[2], 'a', v_fit.parameters[3],
                'b', v_fit.parameters[4]
            ),
            v_fit.log_likelihood, v_fit.iterations, v_fit.evaluations, v_fit.converged, v_accepted, v_reason,
            v_fit_customers, v_groups, 1000 * extract(epoch from clock_timestamp() - v_started)
        );
    end if;
    v_result := v_result || jsonb_build_object('bgnbd', jsonb_build_object('accepted', v_accepted, 'reason', v_reason));

    -- Gamma-Gamma.
    v_started := clock_timestamp();
    select * into v_previous from conductor.lifetime_value_parameters('gamma_gamma');
    v_start := case when v_previous.parameters is not null then array[
        (v_previous.parameters ->> 'p')::double precision, (v_previous.parameters ->> 'q')::double precision,
        (v_previous.parameters ->> 'gamma')::double precision
    ] end;
    select count(*), coalesce(sum(d.n), 0) into v_groups, v_fit_customers from pg_temp.clv_gg_data as d;
    if v_fit_customers < 10 then
        v_accepted := false;
        v_reason := 'too few customers with two visits and a positive spend (fewer than 10) to fit';
        insert into conductor.lifetime_value_fits (
            model, data_date, parameters, log_likelihood, iterations, evaluations, converged, accepted, reason,
            customers, groups, duration_ms
        ) values (
            'gamma_gamma', v_today, coalesce(v_previous.parameters, '{}'), null, 0, 0, false, false, v_reason,
            v_fit_customers, v_groups, 1000 * extract(epoch from clock_timestamp() - v_started)
        );
    else
        select * into v_fit from conductor.fit_gamma_gamma(v_start, p_max_iterations);
        v_accepted := v_fit.converged and v_fit.parameters[2] > 1;
        v_reason := case
            when not v_fit.converged then v_fit.reason
            when not v_accepted then 'q <= 1: the mean spend per visit does not exist'
            else 'converged'
        end;
        insert into conductor.lifetime_value_fits (
            model, data_date, parameters, log_likelihood, iterations, evaluations, converged, accepted, reason,
            customers, groups, duration_ms
        ) values (
            'gamma_gamma', v_today,
            jsonb_build_object('p', v_fit.parameters[1], 'q', v_fit.parameters[2], 'gamma', v_fit.parameters[3]),
            v_fit.log_likelihood, v_fit.iterations, v_fit.evaluations, v_fit.converged, v_accepted, v_reason,
            v_fit_customers, v_groups, 1000 * extract(epoch from clock_timestamp() - v_started)
        );
    end if;
    v_result := v_result || jsonb_build_object(
        'gamma_gamma', jsonb_build_object('accepted', v_accepted, 'reason', v_reason)
    );

    v_rows := conductor.refresh_customer_lifetime_value(v_today);
    return v_result || jsonb_build_object(
        'ran', true, 'data_date', v_today, 'customers', v_customers, 'customer_rows_written', v_rows
    );
end
$$;
comment on function conductor.fit_lifetime_value_models(boolean, integer) is
'Fits BG/NBD and Gamma-Gamma by maximum likelihood on every customer''s visits up to the store''s today '
'(days), records both fits in conductor.lifetime_value_fits (a fit that does not converge keeps the previous '
'parameters and records why) and recomputes public.customer_lifetime_value. pg_cron runs it hourly with '
'p_only_if_stale (a no-op once today is fitted). Returns ran = false while another run holds its lock.';

-- Recomputes public.customer_lifetime_value from pg_temp.clv_customers (as prepared for
-- p_as_of) and the parameters in use; writes only rows that change and deletes rows of customers
-- no longer in the data. The BG/NBD values are computed once per distinct (x, t_x, T).
create function conductor.refresh_customer_lifetime_value(p_as_of date)
returns integer
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
declare
    v_bgnbd record;
    v_gg record;
    v_r double precision;
    v_alpha double precision;
    v_a double precision;
    v_b double precision;
    v_p double precision;
    v_q double precision;
    v_gamma double precision;
    v_gone text[];
    v_written text[];
begin
    select * into v_bgnbd from conductor.lifetime_value_parameters('bgnbd');
    select * into v_gg from conductor.lifetime_value_parameters('gamma_gamma');
    if v_bgnbd.fit_id is null then
        return 0;
    end if;
    v_r := (v_bgnbd.parameters ->> 'r')::double precision;
    v_alpha := (v_bgnbd.parameters ->> 'alpha')::double precision;
    v_a := (v_bgnbd.parameters ->> 'a')::double precision;
    v_b := (v_bgnbd.parameters ->> 'b')::double precision;
    v_p := (v_gg.parameters ->> 'p')::double precision;
    v_q := (v_gg.parameters ->> 'q')::double precision;
    v_gamma := (v_gg.parameters ->> 'gamma')::double precision;

    with gone as (
        delete from public.customer_lifetime_value as l
        where not exists (select from pg_temp.clv_customers as c where c.customer_id = l.customer_id)
        returning l.customer_id
    )

    select coalesce(array_agg(g.customer_id), '{}') into v_gone from gone as g;

    with triples as (
        select
            d.x,
            d.t_x,
            d.t_cal,
            conductor.bgnbd_p_alive(v_r, v_alpha, v_a, v_b, d.x, d.t_x, d.t_cal) as p_alive,
            conductor.bgnbd_expected_visits(v_r, v_alpha, v_a, v_b, d.x, d.t_x, d.t_cal, 30) as visits_30,
            conductor.bgnbd_expected_visits(v_r, v_alpha, v_a, v_b, d.x, d.t_x, d.t_cal, 90) as visits_90,
            conductor.bgnbd_expected_visits(v_r, v_alpha, v_a, v_b, d.x, d.t_x, d.t_cal, 365) as visits_365
        from pg_temp.clv_bgnbd_data as d
    ),

    computed as (
        select
            c.customer_id,
            c.x,
            c.t_x::integer as t_x,
            c.t_cal::integer as t_cal,
            round(c.spend_per_visit::numeric, 2) as spend_per_visit,
            round(t.p_alive::numeric, 6) as p_alive,
            round(t.visits_30::numeric, 4) as visits_30,
            round(t.visits_90::numeric, 4) as visits_90,
            round(t.visits_365::numeric, 4) as visits_365,
            round(s.spend::numeric, 2) as spend,
            round((t.visits_365 * s.spend)::numeric, 2) as value_12m
        from pg_temp.clv_customers as c
        inner join triples as t on c.x = t.x and c.t_x = t.t_x and c.t_cal = t.t_cal
        cross join lateral (
            select
                case
                    when v_gg.fit_id is not null
                        then conductor.gamma_gamma_expected_spend(
                            v_p, v_q, v_gamma, c.visits, greatest(c.spend_per_visit, 0)
                        )
                end as spend
        ) as s
    ),

    written as (
        insert into public.customer_lifetime_value as l (
            customer_id, as_of_date, frequency, recency_days, age_days, spend_per_visit, p_alive,
            expected_visits_30d, expected_visits_90d, expected_visits_365d, expected_spend_per_visit,
            expected_value_12m, bgnbd_fit_id, gamma_gamma_fit_id, computed_at
        )
        select
            m.customer_id, p_as_of, m.x, m.t_x, m.t_cal, m.spend_per_visit, m.p_alive,
            m.visits_30, m.visits_90, m.visits_365, m.spend, m.value_12m, v_bgnbd.fit_id, v_gg.fit_id, now()
        from computed as m
        on conflict (customer_id) do update set
            as_of_date = excluded.as_of_date,
            frequency = excluded.frequency,
            recency_days = excluded.recency_days,
            age_days = excluded.age_days,
            spend_per_visit = excluded.spend_per_visit,
            p_alive = excluded.p_alive,
            expected_visits_30d = excluded.expected_visits_30d,
            expected_visits_90d = excluded.expected_visits_90d,
            expected_visits_365d = excluded.expected_visits_365d,
            expected_spend_per_visit = excluded.expected_spend_per_visit,
            expected_value_12m = excluded.expected_value_12m,
            bgnbd_fit_id = excluded.bgnbd_fit_id,
            gamma_gamma_fit_id = excluded.gamma_gamma_fit_id,
            computed_at = excluded.computed_at
        where (
            l.as_of_date, l.frequency, l.recency_days, l.age_days, l.spend_per_visit, l.p_alive,
            l.expected_visits_30d, l.expected_visits_90d, l.expected_visits_365d, l.expected_spend_per_visit,
            l.expected_value_12m, l.bgnbd_fit_id, l.gamma_gamma_fit_id
        ) is distinct from (
            excluded.as_of_date, excluded.frequency, excluded.recency_days, excluded.age_days,
            excluded.spend_per_visit, excluded.p_alive, excluded.expected_visits_30d, excluded.expected_visits_90d,
            excluded.expected_visits_365d, excluded.expected_spend_per_visit, excluded.expected_value_12m,
            excluded.bgnbd_fit_id, excluded.gamma_gamma_fit_id
        )
        returning l.customer_id
    )

    select coalesce(array_agg(w.customer_id), '{}') into v_written from written as w;
    -- the ready AI context carries these values
    perform conductor.invalidate_customer_context(v_gone || v_written);
    return cardinality(v_written);
end
$$;
comment on function conductor.refresh_customer_lifetime_value(date) is
'Writes public.customer_lifetime_value for the customers in pg_temp.clv_customers with the parameters of '
'the latest accepted fits: P(alive), expected visits in 30/90/365 days, Gamma-Gamma expected spend per visit '
'and the undiscounted 12-month value. Only changed rows are written. Returns the rows written.';
