-- Special functions the lifetime-value models need and PostgreSQL 15 lacks: the log-gamma
-- function (Lanczos approximation, double precision) and the Gauss hypergeometric function 2F1
-- (power series, for the BG/NBD expected number of visits). Pure computations: read and write
-- nothing.

-- conductor.ln_gamma(x): ln |Gamma(x)| for real x, by the Lanczos approximation with g = 7 and
-- nine coefficients (relative error about 1e-15 for x > 0), and the reflection formula
-- Gamma(x) Gamma(1 - x) = pi / sin(pi x) below 0.5.
create function conductor.ln_gamma(p_x double precision)
returns double precision
immutable
strict
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_x double precision;
    v_sum double precision;
    v_t double precision;
begin
    if p_x <= 0 and p_x = floor(p_x) then
        raise exception 'ln_gamma is undefined: argument is a pole (a non-positive integer), got %', p_x
            using errcode = '22003';
    end if;
    if p_x < 0.5 then
        -- ln |Gamma(x)| = ln pi - ln |sin(pi x)| - ln |Gamma(1 - x)|
        return ln(pi()) - ln(abs(sin(pi() * p_x))) - conductor.ln_gamma(1 - p_x);
    end if;
    v_x := p_x - 1;
    v_sum := 0.99999999999980993
        + 676.5203681218851 / (v_x + 1)
        - 1259.1392167224028 / (v_x + 2)
        + 771.32342877765313 / (v_x + 3)
        - 176.61502916214059 / (v_x + 4)
        + 12.507343278686905 / (v_x + 5)
        - 0.13857109526572012 / (v_x + 6)
        + 9.9843695780195716e-6 / (v_x + 7)
        + 1.5056327351493116e-7 / (v_x + 8);
    v_t := v_x + 7.5;
    return 0.5 * ln(2 * pi()) + (v_x + 0.5) * ln(v_t) - v_t + ln(v_sum);
end
$$;
comment on function conductor.ln_gamma(double precision) is
'ln |Gamma(x)| in double precision (Lanczos, g = 7, relative error about 1e-15; reflection below 0.5). '
'Raises 22003 at the poles (0, -1, -2, ...).';

-- conductor.hyp2f1(a, b, c, z): the Gauss hypergeometric function 2F1(a, b; c; z) for |z| < 1 by
-- its power series, summed until a term is below 1e-15 of the sum (and the ratio of successive
-- terms below 1, so the tail is bounded). Returns null when p_max_terms terms do not reach that.
create function conductor.hyp2f1(
    p_a double precision,
    p_b double precision,
    p_c double precision,
    p_z double precision,
    p_max_terms integer default 100000
)
returns double precision
immutable
strict
parallel safe
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_term double precision := 1;
    v_sum double precision := 1;
    v_k integer := 0;
begin
    if abs(p_z) >= 1 then
        raise exception 'hyp2f1 series diverges: z must satisfy |z| < 1, got %', p_z using errcode = '22003';
    end if;
    if p_c <= 0 and p_c = floor(p_c) then
        raise exception 'hyp2f1 is undefined: c is a non-positive integer, got %', p_c using errcode = '22003';
    end if;
    while v_k < p_max_terms loop
        v_term := v_term * (p_a + v_k) * (p_b + v_k) / ((p_c + v_k) * (v_k + 1)) * p_z;
        v_sum := v_sum + v_term;
        v_k := v_k + 1;
        if abs(v_term) <= 1e-15 * abs(v_sum)
            and abs((p_a + v_k) * (p_b + v_k) / ((p_c + v_k) * (v_k + 1)) * p_z) < 1 then
            return v_sum;
        end if;
    end loop;
    return null;
end
$$;
comment on function conductor.hyp2f1(double precision, double precision, double precision, double precision, integer) is
'Gauss hypergeometric 2F1(a, b; c; z) for |z| < 1 by its power series (relative tolerance 1e-15); null '
'when p_max_terms terms do not converge. Raises 22003 for |z| >= 1 or a non-positive integer c.';
