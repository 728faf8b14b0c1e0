-- The BG/NBD model of repeat visits (Fader, Hardie and Lee 2005): its log-likelihood for the
-- maximum-likelihood fit, and per customer the probability of being alive and the expected
-- number of visits in a coming period. A customer is (x, t_x, T): x repeat visits (visit days
-- after the first), t_x the age at the last visit, T the age at the as-of date, in one time
-- unit (the package uses days; the CDNOW validation weeks). Parameters r, alpha, a, b.
-- The fit reads pg_temp.clv_bgnbd_data (x, t_x, t_cal, n: n customers share the triple) and
-- pg_temp.clv_bgnbd_frequencies (x), filled by conductor.lifetime_value_prepare or a test.

-- Negative log-likelihood at p_parameters = {r, alpha, a, b} over pg_temp.clv_bgnbd_data.
-- The terms that depend on x only (the ln Gamma ratios) are computed once per distinct x.
create function conductor.bgnbd_negative_log_likelihood(p_parameters double precision[])
returns double precision
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_r double precision := p_parameters[1];
    v_alpha double precision := p_parameters[2];
    v_a double precision := p_parameters[3];
    v_b double precision := p_parameters[4];
    v_ll double precision;
begin
    with per_frequency as materialized (
        select
            f.x,
            conductor.ln_gamma(v_r + f.x) - conductor.ln_gamma(v_r) + v_r * ln(v_alpha)
            + conductor.ln_gamma(v_a + v_b) + conductor.ln_gamma(v_b + f.x)
            - conductor.ln_gamma(v_b) - conductor.ln_gamma(v_a + v_b + f.x) as c
        from pg_temp.clv_bgnbd_frequencies as f
    ),

    terms as (
        select
            d.n,
            d.x,
            k.c,
            -(v_r + d.x) * ln(v_alpha + d.t_cal) as a3,
            case when d.x > 0 then ln(v_a) - ln(v_b + d.x - 1) - (v_r + d.x) * ln(v_alpha + d.t_x) end as a4
        from pg_temp.clv_bgnbd_data as d
        inner join per_frequency as k on d.x = k.x
    )

    select
        sum(
            t.n * (
                t.c + case
                    when t.x = 0 then t.a3
                    when abs(t.a3 - t.a4) > 700 then greatest(t.a3, t.a4)
                    else greatest(t.a3, t.a4) + ln(1 + exp(-abs(t.a3 - t.a4)))
                end
            )
        )
    into v_ll
    from terms as t;
    return -v_ll;
end
$$;
comment on function conductor.bgnbd_negative_log_likelihood(double precision[]) is
'BG/NBD negative log-likelihood at {r, alpha, a, b} over pg_temp.clv_bgnbd_data (x, t_x, t_cal, n) and '
'pg_temp.clv_bgnbd_frequencies (x); the objective of conductor.fit_bgnbd.';

-- Fits r, alpha, a, b to pg_temp.clv_bgnbd_data by maximum likelihood.
create function conductor.fit_bgnbd(
    p_start double precision[] default null,
    p_max_iterations integer default 2000,
    out parameters double precision[],
    out log_likelihood double precision,
    out iterations integer,
    out evaluations integer,
    out converged boolean,
    out reason text
)
volatile
security invoker
set search_path = pg_catalog, pg_temp
set jit = off
language plpgsql
as $$
declare
    v_start double precision[] := p_start;
    v_fit record;
begin
    if pg_catalog.to_regclass('pg_temp.clv_bgnbd_frequencies') is not null then
        drop table pg_temp.clv_bgnbd_frequencies;
    end if;
    create temporary table clv_bgnbd_frequencies on commit drop as
    select distinct d.x from pg_temp.clv_bgnbd_data as d;
    if v_start is null then
        -- r = 1, alpha = the mean age, a = b = 1: rates of the order of one visit per mean age.
        select array[1, greatest(avg(d.t_cal), 1), 1, 1]::double precision[] into v_start
        from pg_temp.clv_bgnbd_data as d;
    end if;
    select * into v_fit
    from conductor.nelder_mead_positive(
        'conductor.bgnbd_negative_log_likelihood'::regproc, v_start, p_max_iterations, 1e-11,
        case when p_start is null then 0.5 else 0.1 end
    );
    parameters := v_fit.parameters;
    log_likelihood := -v_fit.objective_value;
    iterations := v_fit.iterations;
    evaluations := v_fit.evaluations;
    converged := v_fit.converged;
    reason := v_fit.reason;
end
$$;
comment on function conductor.fit_bgnbd(double precision[], integer) is
'Maximum-likelihood fit of BG/NBD {r, alpha, a, b} to pg_temp.clv_bgnbd_data (x, t_x, t_cal, n) by '
'Nelder-Mead on log-parameters, from p_start (a previous fit) or a neutral start; returns the parameters, '
'the log-likelihood, iterations, evaluations, whether it converged and why not.';

-- P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)).
create function conductor.bgnbd_p_alive(
    p_r double precision,
    p_alpha double precision,
    p_a double precision,
    p_b double precision,
    p_x integer,
    p_t_x double precision,
    p_t_cal double precision
)
returns double precision
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_log_odds double precision;
begin
    if p_x = 0 then
        return 1;
    end if;
    v_log_odds := ln(p_a) - ln(p_b + p_x - 1) + (p_r + p_x) * (ln(p_alpha + p_t_cal) - ln(p_alpha + p_t_x));
    if v_log_odds > 700 then
        return 0;
    end if;
    return 1 / (1 + exp(v_log_odds));
end
$$;
comment on function conductor.bgnbd_p_alive(
    double precision, double precision, double precision, double precision, integer, double precision, double precision
) is
'BG/NBD probability that a customer with x repeat visits, last at age t_x, now aged T, is still active '
'(1 for x = 0, a property of the model).';

-- E[Y(t) | x, t_x, T] = (a + b + x - 1) / (a - 1)
--   * (1 - ((alpha + T) / (alpha + T + t))^(r + x) 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t)))
--   * P(alive | x, t_x, T)
create function conductor.bgnbd_expected_visits(
    p_r double precision,
    p_alpha double precision,
    p_a double precision,
    p_b double precision,
    p_x integer,
    p_t_x double precision,
    p_t_cal double precision,
    p_t double precision
)
returns double precision
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_log_h double precision;
    v_f double precision;
begin
    if p_t <= 0 then
        return 0;
    end if;
    if abs(p_a - 1) < 1e-9 then
        return null;
    end if;
    v_log_h := (p_r + p_x) * (ln(p_alpha + p_t_cal) - ln(p_alpha + p_t_cal + p_t));
    v_f := conductor.hyp2f1(p_r + p_x, p_b + p_x, p_a + p_b + p_x - 1, p_t / (p_alpha + p_t_cal + p_t));
    if v_f is null then
        return null;
    end if;
    return (p_a + p_b + p_x - 1) / (p_a - 1)
        * (1 - case when v_log_h < -700 then 0 else exp(v_log_h) * v_f end)
        * conductor.bgnbd_p_alive(p_r, p_alpha, p_a, p_b, p_x, p_t_x, p_t_cal);
end
$$;
comment on function conductor.bgnbd_expected_visits(
    double precision, double precision, double precision, double precision,
    integer, double precision, double precision, double precision
) is
'BG/NBD expected number of repeat visits in the next t time units of a customer (x, t_x, T) (Fader, Hardie '
'and Lee 2005, eq. 10); null when the 2F1 series does not converge or a = 1.';
