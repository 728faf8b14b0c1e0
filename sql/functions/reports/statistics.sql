-- Interval statistics for the lift report (public.campaign_lift): the normal and Student t
-- quantiles, Wilson's score interval for one proportion, Newcombe's hybrid score interval for a
-- difference of two proportions and Welch's interval for a difference of two means. Pure
-- functions of their arguments: they read and write nothing.
--   normal_quantile: Acklam's rational approximation (relative error below 1.2e-9).
--   student_t_quantile: Hill (1970), CACM algorithm 396; exact for 1 and 2 degrees of freedom,
--     within 0.001 of the tables from 3 on and within 1e-4 from 5 on (fractional degrees allowed).
--   Wilson (1927) score interval; Newcombe (1998) method 10 for p1 - p0:
--     (d - sqrt((p1 - l1)^2 + (u0 - p0)^2), d + sqrt((u1 - p1)^2 + (p0 - l0)^2)).
--   Welch (1947): mean1 - mean0 +- t(df) * sqrt(s1^2 / n1 + s0^2 / n0), df by Welch-Satterthwaite.

create function conductor.normal_quantile(p_probability double precision)
returns double precision
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    a constant double precision[] := array[
        -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00
    ];
    b constant double precision[] := array[
        -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
        6.680131188771972e+01, -1.328068155288572e+01
    ];
    c constant double precision[] := array[
        -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00
    ];
    d constant double precision[] := array[
        7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00
    ];
    v_q double precision;
    v_r double precision;
begin
    if p_probability is null or p_probability <= 0 or p_probability >= 1 then
        raise exception 'p_probability is out of range: must be strictly between 0 and 1, got %',
            coalesce(p_probability::text, 'null')
            using errcode = '22023';
    end if;
    if p_probability < 0.02425 then
        v_q := pg_catalog.sqrt(-2 * pg_catalog.ln(p_probability));
        return (((((c[1] * v_q + c[2]) * v_q + c[3]) * v_q + c[4]) * v_q + c[5]) * v_q + c[6])
            / ((((d[1] * v_q + d[2]) * v_q + d[3]) * v_q + d[4]) * v_q + 1);
    elsif p_probability > 1 - 0.02425 then
        v_q := pg_catalog.sqrt(-2 * pg_catalog.ln(1 - p_probability));
        return -(((((c[1] * v_q + c[2]) * v_q + c[3]) * v_q + c[4]) * v_q + c[5]) * v_q + c[6])
            / ((((d[1] * v_q + d[2]) * v_q + d[3]) * v_q + d[4]) * v_q + 1);
    end if;
    v_q := p_probability - 0.5;
    v_r := v_q * v_q;
    return (((((a[1] * v_r + a[2]) * v_r + a[3]) * v_r + a[4]) * v_r + a[5]) * v_r + a[6]) * v_q
        / (((((b[1] * v_r + b[2]) * v_r + b[3]) * v_r + b[4]) * v_r + b[5]) * v_r + 1);
end
$$;
comment on function conductor.normal_quantile(double precision) is
'Standard normal quantile (inverse CDF) by Acklam''s rational approximation, relative error below 1.2e-9; '
'22023 unless 0 < p_probability < 1.';

create function conductor.student_t_quantile(p_probability double precision, p_degrees_of_freedom double precision)
returns double precision
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_n double precision := p_degrees_of_freedom;
    v_tail double precision;  -- two-sided tail probability of |t|
    v_a double precision;
    v_b double precision;
    v_c double precision;
    v_d double precision;
    v_x double precision;
    v_y double precision;
    v_t double precision;
begin
    if p_probability is null or p_probability <= 0 or p_probability >= 1 then
        raise exception 'p_probability is out of range: must be strictly between 0 and 1, got %',
            coalesce(p_probability::text, 'null')
            using errcode = '22023';
    end if;
    if v_n is null or v_n < 1 or v_n = 'Infinity'::double precision or v_n = 'NaN'::double precision then
        raise exception 'p_degrees_of_freedom is out of range: must be at least 1, got %', coalesce(v_n::text, 'null')
            using errcode = '22023';
    end if;
    if p_probability = 0.5 then
        return 0;
    end if;
    v_tail := 2 * least(p_probability, 1 - p_probability);
    if v_n = 1 then
        v_t := 1 / pg_catalog.tan(v_tail * pg_catalog.pi() / 2);
    elsif v_n = 2 then
        v_t := pg_catalog.sqrt(2 / (v_tail * (2 - v_tail)) - 2);
    else
        v_a := 1 / (v_n - 0.5);
        v_b := 48 / (v_a * v_a);
        v_c := ((20700 * v_a / v_b - 98) * v_a - 16) * v_a + 96.36;
        v_d := ((94.5 / (v_b + v_c) - 3) / v_b + 1) * pg_catalog.sqrt(v_a * pg_catalog.pi() / 2) * v_n;
        v_x := v_d * v_tail;
        v_y := v_x ^ (2 / v_n);
        if v_y > 0.05 + v_a then
            v_x := conductor.normal_quantile(1 - v_tail / 2);
            v_y := v_x * v_x;
            if v_n < 5 then
                v_c := v_c + 0.3 * (v_n - 4.5) * (v_x + 0.6);
            end if;
            v_c := (((0.05 * v_d * v_x - 5) * v_x - 7) * v_x - 2) * v_x + v_b + v_c;
            v_y := (((((0.4 * v_y + 6.3) * v_y + 36) * v_y + 94.5) / v_c - v_y - 3) / v_b + 1) * v_x;
            v_y := v_a * v_y * v_y;
            v_y := case when v_y > 0.1 then pg_catalog.exp(v_y) - 1 else ((v_y / 24 + 1 / 6.0) * v_y + 0.5) * v_y * v_y + v_y end;
        else
            v_y := ((1 / (((v_n + 6) / (v_n * v_y) - 0.089 * v_d - 0.822) * (v_n + 2) * 3) + 0.5 / (v_n + 4)) * v_y - 1)
                * (v_n + 1) / (v_n + 2) + 1 / v_y;
        end if;
        v_t := pg_catalog.sqrt(v_n * v_y);
    end if;
    return case when p_probability < 0.5 then -v_t else v_t end;
end
$$;
comment on function conductor.student_t_quantile(double precision, double precision) is
'Quantile of Student''s t distribution with p_degrees_of_freedom (>= 1, fractional allowed) by Hill''s '
'algorithm (CACM 396): exact for 1 and 2 degrees of freedom, within 0.001 of the tables from 3 on. 22023 for '
'a probability outside (0, 1) or fewer than 1 degree of freedom.';

create function conductor.wilson_interval(
    p_successes bigint,
    p_trials bigint,
    p_z double precision,
    out lower_bound double precision,
    out upper_bound double precision
)
returns record
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_p double precision;
    v_center double precision;
    v_half double precision;
    v_denominator double precision;
begin
    if p_trials is null or p_trials < 1 or p_successes is null or p_successes < 0 or p_successes > p_trials then
        return;  -- no interval without trials
    end if;
    v_p := p_successes::double precision / p_trials;
    v_denominator := 1 + p_z * p_z / p_trials;
    v_center := (v_p + p_z * p_z / (2 * p_trials)) / v_denominator;
    v_half := p_z * pg_catalog.sqrt(v_p * (1 - v_p) / p_trials + p_z * p_z / (4.0 * p_trials * p_trials))
        / v_denominator;
    lower_bound := greatest(0, v_center - v_half);
    upper_bound := least(1, v_center + v_half);
end
$$;
comment on function conductor.wilson_interval(bigint, bigint, double precision) is
'Wilson score interval for a proportion of p_successes in p_trials at normal quantile p_z (1.96 for 95%); '
'nulls without trials.';

create function conductor.newcombe_difference_interval(
    p_successes_1 bigint,
    p_trials_1 bigint,
    p_successes_0 bigint,
    p_trials_0 bigint,
    p_z double precision,
    out difference double precision,
    out lower_bound double precision,
    out upper_bound double precision
)
returns record
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_p1 double precision;
    v_p0 double precision;
    v_w1 record;
    v_w0 record;
begin
    if coalesce(p_trials_1, 0) < 1 or coalesce(p_trials_0, 0) < 1 then
        return;
    end if;
    v_p1 := p_successes_1::double precision / p_trials_1;
    v_p0 := p_successes_0::double precision / p_trials_0;
    v_w1 := conductor.wilson_interval(p_successes_1, p_trials_1, p_z);
    v_w0 := conductor.wilson_interval(p_successes_0, p_trials_0, p_z);
    difference := v_p1 - v_p0;
    lower_bound := difference
        - pg_catalog.sqrt((v_p1 - v_w1.lower_bound) ^ 2 + (v_w0.upper_bound - v_p0) ^ 2);
    upper_bound := difference
        + pg_catalog.sqrt((v_w1.upper_bound - v_p1) ^ 2 + (v_p0 - v_w0.lower_bound) ^ 2);
end
$$;
comment on function conductor.newcombe_difference_interval(bigint, bigint, bigint, bigint, double precision) is
'Difference p1 - p0 of two independent proportions and its Newcombe (1998, method 10) hybrid score interval '
'built from the two Wilson intervals at normal quantile p_z; nulls when a group has no trials.';

create function conductor.welch_difference_interval(
    p_mean_1 double precision,
    p_variance_1 double precision,
    p_count_1 bigint,
    p_mean_0 double precision,
    p_variance_0 double precision,
    p_count_0 bigint,
    p_probability double precision,
    out difference double precision,
    out lower_bound double precision,
    out upper_bound double precision,
    out degrees_of_freedom double precision
)
returns record
immutable
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_se1 double precision;
    v_se0 double precision;
    v_se double precision;
begin
    if coalesce(p_count_1, 0) < 2 or coalesce(p_count_0, 0) < 2 then
        return;  -- a sample variance needs two values in each group
    end if;
    difference := p_mean_1 - p_mean_0;
    v_se1 := coalesce(p_variance_1, 0) / p_count_1;
    v_se0 := coalesce(p_variance_0, 0) / p_count_0;
    v_se := pg_catalog.sqrt(v_se1 + v_se0);
    if v_se = 0 then
        -- Every value equal within each group: the difference is known exactly.
        lower_bound := difference;
        upper_bound := difference;
        return;
    end if;
    degrees_of_freedom := (v_se1 + v_se0) ^ 2
        / (v_se1 ^ 2 / (p_count_1 - 1) + v_se0 ^ 2 / (p_count_0 - 1));
    degrees_of_freedom := greatest(1, degrees_of_freedom);
    lower_bound := difference - conductor.student_t_quantile(p_probability, degrees_of_freedom) * v_se;
    upper_bound := difference + conductor.student_t_quantile(p_probability, degrees_of_freedom) * v_se;
end
$$;
comment on function conductor.welch_difference_interval(
    double precision, double precision, bigint, double precision, double precision, bigint, double precision
) is
'Difference mean_1 - mean_0 of two independent samples (means, sample variances, counts) and Welch''s '
'interval: +- the Student t quantile p_probability (0.975 for a two-sided 95% interval) at the '
'Welch-Satterthwaite degrees of freedom times the standard error sqrt(var_1/n_1 + var_0/n_0). Nulls unless '
'both groups have at least 2 values.';
