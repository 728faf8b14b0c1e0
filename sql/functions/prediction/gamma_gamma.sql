-- The Gamma-Gamma model of spend per visit (Fader and Hardie 2013): each visit's spend is
-- Gamma(p, nu) around the customer's mean p / nu, nu ~ Gamma(q, gamma) across customers. Its
-- log-likelihood for the fit over pg_temp.clv_gg_data (x visits averaged, m their mean spend,
-- n customers sharing the pair) and pg_temp.clv_gg_frequencies (x), and the conditional
-- expected spend per visit of a customer.

-- Negative log-likelihood at p_parameters = {p, q, gamma}:
-- -sum n [ln G(px + q) - ln G(px) - ln G(q) + q ln gamma + (px - 1) ln m + px ln x - (px + q) ln(gamma + x m)].
create function conductor.gamma_gamma_negative_log_likelihood(p_parameters double precision[])
returns double precision
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_p double precision := p_parameters[1];
    v_q double precision := p_parameters[2];
    v_gamma double precision := p_parameters[3];
    v_ll double precision;
begin
    with per_frequency as materialized (
        select
            f.x,
            conductor.ln_gamma(v_p * f.x + v_q) - conductor.ln_gamma(v_p * f.x) - conductor.ln_gamma(v_q)
            + v_q * ln(v_gamma) + v_p * f.x * ln(f.x::double precision) as c
        from pg_temp.clv_gg_frequencies as f
    )

    select sum(d.n * (k.c + (v_p * d.x - 1) * ln(d.m) - (v_p * d.x + v_q) * ln(v_gamma + d.x * d.m)))
    into v_ll
    from pg_temp.clv_gg_data as d
    inner join per_frequency as k on d.x = k.x;
    return -v_ll;
end
$$;
comment on function conductor.gamma_gamma_negative_log_likelihood(double precision[]) is
'Gamma-Gamma negative log-likelihood at {p, q, gamma} over pg_temp.clv_gg_data (x, m, n) and '
'pg_temp.clv_gg_frequencies (x); the objective of conductor.fit_gamma_gamma.';

-- Fits p, q, gamma to pg_temp.clv_gg_data by maximum likelihood.
create function conductor.fit_gamma_gamma(
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
    if pg_catalog.to_regclass('pg_temp.clv_gg_frequencies') is not null then
        drop table pg_temp.clv_gg_frequencies;
    end if;
    create temporary table clv_gg_frequencies on commit drop as
    select distinct d.x from pg_temp.clv_gg_data as d;
    if v_start is null then
        -- p = 1, q = 2, gamma = the mean spend: a population mean spend p gamma / (q - 1) of that order.
        select array[1, 2, greatest(sum(d.n * d.m) / sum(d.n), 1e-6)]::double precision[] into v_start
        from pg_temp.clv_gg_data as d;
    end if;
    select * into v_fit
    from conductor.nelder_mead_positive(
        'conductor.gamma_gamma_negative_log_likelihood'::regproc, v_start, p_max_iterations, 1e-11,
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
comment on function conductor.fit_gamma_gamma(double precision[], integer) is
'Maximum-likelihood fit of Gamma-Gamma {p, q, gamma} to pg_temp.clv_gg_data (x, m, n) by Nelder-Mead on '
'log-parameters; returns the parameters, the log-likelihood, iterations, evaluations, whether it converged '
'and why not.';

-- E[spend per visit | x visits with mean m] = p (gamma + x m) / (p x + q - 1); for x = 0 the
-- population mean p gamma / (q - 1). Null when q <= 1 (the mean does not exist).
create function conductor.gamma_gamma_expected_spend(
    p_p double precision,
    p_q double precision,
    p_gamma double precision,
    p_x integer,
    p_m double precision
)
returns double precision
immutable
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
begin
    if p_q <= 1 then
        return null;
    end if;
    if p_x <= 0 or p_m is null then
        return p_p * p_gamma / (p_q - 1);
    end if;
    return p_p * (p_gamma + p_x * p_m) / (p_p * p_x + p_q - 1);
end
$$;
comment on function conductor.gamma_gamma_expected_spend(
    double precision, double precision, double precision, integer, double precision
) is
'Gamma-Gamma conditional expected spend per visit of a customer with x visits of mean spend m (Fader and '
'Hardie 2013): a weighted mean of the population mean p gamma / (q - 1) and m; null when q <= 1.';
