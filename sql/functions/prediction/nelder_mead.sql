-- The optimiser of the lifetime-value fits: Nelder-Mead on the logarithms of positive
-- parameters, so every trial point is valid (all BG/NBD and Gamma-Gamma parameters are > 0).
-- The objective is any function taking the parameters as double precision[] and returning the
-- value to minimise (a negative log-likelihood); it may read temporary tables the caller filled.
-- Reads and writes nothing itself.
create function conductor.nelder_mead_positive(
    p_objective regproc,
    p_start double precision[],
    p_max_iterations integer default 2000,
    p_value_tolerance double precision default 1e-10,
    p_step double precision default 0.5,
    out parameters double precision[],
    out objective_value double precision,
    out iterations integer,
    out evaluations integer,
    out converged boolean,
    out reason text
)
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_n integer := coalesce(array_length(p_start, 1), 0);
    v_call text := format('select %s($1)', p_objective);
    -- vertices as rows of a flattened (n + 1) x n array of log-parameters, and their values
    v_simplex double precision[];
    v_values double precision[];
    v_order integer[];
    v_centroid double precision[];
    v_trial double precision[];
    v_trial2 double precision[];
    v_f_trial double precision;
    v_f_trial2 double precision;
    v_best integer;
    v_worst integer;
    v_second integer;
    v_spread double precision;
    v_i integer;
    v_j integer;
    v_point double precision[];
begin
    if v_n = 0 then
        raise exception 'nelder_mead_positive needs parameters: p_start is empty' using errcode = '22023';
    end if;
    if exists (select from unnest(p_start) as s (v) where s.v is null or s.v <= 0 or s.v = 'Infinity') then
        raise exception 'nelder_mead_positive needs positive starting values: p_start is %', p_start
            using errcode = '22023';
    end if;
    if p_max_iterations < 0 then
        raise exception 'p_max_iterations must be >= 0, got %', p_max_iterations using errcode = '22023';
    end if;
    iterations := 0;
    evaluations := 0;
    v_simplex := array_fill(0::double precision, array[(v_n + 1) * v_n]);
    v_values := array_fill(0::double precision, array[v_n + 1]);
    -- Vertex 1 is the start; vertex i + 1 moves log-parameter i by p_step.
    for v_i in 1..v_n + 1 loop
        v_point := array_fill(0::double precision, array[v_n]);
        for v_j in 1..v_n loop
            v_point[v_j] := ln(p_start[v_j]) + case when v_i = v_j + 1 then p_step else 0 end;
            v_simplex[(v_i - 1) * v_n + v_j] := v_point[v_j];
        end loop;
        v_values[v_i] := conductor.nelder_mead_evaluate(v_call, v_point);
        evaluations := evaluations + 1;
    end loop;
    if v_values[1] = 'Infinity' then
        converged := false;
        reason := 'the objective is not finite at the starting parameters';
        parameters := p_start;
        objective_value := v_values[1];
        return;
    end if;

    loop
        -- Order the vertices by value.
        select array_agg(o.i order by o.v, o.i) into v_order
        from unnest(v_values) with ordinality as o (v, i);
        v_best := v_order[1];
        v_worst := v_order[v_n + 1];
        v_second := v_order[v_n];
        -- Converged when the values agree to the tolerance (relative to the best value).
        v_spread := v_values[v_worst] - v_values[v_best];
        if v_spread <= p_value_tolerance * (abs(v_values[v_best]) + 1e-10) then
            converged := true;
            reason := 'converged';
            exit;
        end if;
        if iterations >= p_max_iterations then
            converged := false;
            reason := format(
                'no convergence in %s iterations: objective values still differ by %s', iterations, v_spread
            );
            exit;
        end if;
        iterations := iterations + 1;

        -- Centroid of all vertices but the worst.
        v_centroid := array_fill(0::double precision, array[v_n]);
        for v_i in 1..v_n + 1 loop
            if v_i <> v_worst then
                for v_j in 1..v_n loop
                    v_centroid[v_j] := v_centroid[v_j] + v_simplex[(v_i - 1) * v_n + v_j] / v_n;
                end loop;
            end if;
        end loop;
        -- Reflection.
        v_trial := array_fill(0::double precision, array[v_n]);
        for v_j in 1..v_n loop
            v_trial[v_j] := 2 * v_centroid[v_j] - v_simplex[(v_worst - 1) * v_n + v_j];
        end loop;
        v_f_trial := conductor.nelder_mead_evaluate(v_call, v_trial);
        evaluations := evaluations + 1;
        if v_f_trial < v_values[v_best] then
            -- Expansion.
            v_trial2 := array_fill(0::double precision, array[v_n]);
            for v_j in 1..v_n loop
                v_trial2[v_j] := 3 * v_centroid[v_j] - 2 * v_simplex[(v_worst - 1) * v_n + v_j];
            end loop;
            v_f_trial2 := conductor.nelder_mead_evaluate(v_call, v_trial2);
            evaluations := evaluations + 1;
            if v_f_trial2 < v_f_trial then
                v_trial := v_trial2;
                v_f_trial := v_f_trial2;
            end if;
        elsif v_f_trial >= v_values[v_second] then
            -- Contraction, outside or inside.
            v_trial2 := array_fill(0::double precision, array[v_n]);
            for v_j in 1..v_n loop
                if v_f_trial < v_values[v_worst] then
                    v_trial2[v_j] := 1.5 * v_centroid[v_j] - 0.5 * v_simplex[(v_worst - 1) * v_n + v_j];
                else
                    v_trial2[v_j] := 0.5 * v_centroid[v_j] + 0.5 * v_simplex[(v_worst - 1) * v_n + v_j];
                end if;
            end loop;
            v_f_trial2 := conductor.nelder_mead_evaluate(v_call, v_trial2);
            evaluations := evaluations + 1;
            if v_f_trial2 < least(v_f_trial, v_values[v_worst]) then
                v_trial := v_trial2;
                v_f_trial := v_f_trial2;
            else
                -- Shrink every vertex towards the best one.
                for v_i in 1..v_n + 1 loop
                    if v_i <> v_best then
                        v_point := array_fill(0::double precision, array[v_n]);
                        for v_j in 1..v_n loop
                            v_simplex[(v_i - 1) * v_n + v_j] := 0.5 * v_simplex[(v_best - 1) * v_n + v_j]
                                + 0.5 * v_simplex[(v_i - 1) * v_n + v_j];
                            v_point[v_j] := v_simplex[(v_i - 1) * v_n + v_j];
                        end loop;
                        v_values[v_i] := conductor.nelder_mead_evaluate(v_call, v_point);
                        evaluations := evaluations + 1;
                    end if;
                end loop;
                continue;
            end if;
        end if;
        for v_j in 1..v_n loop
            v_simplex[(v_worst - 1) * v_n + v_j] := v_trial[v_j];
        end loop;
        v_values[v_worst] := v_f_trial;
    end loop;

    parameters := array_fill(0::double precision, array[v_n]);
    for v_j in 1..v_n loop
        parameters[v_j] := exp(v_simplex[(v_best - 1) * v_n + v_j]);
    end loop;
    objective_value := v_values[v_best];
end
$$;
comment on function conductor.nelder_mead_positive(regproc, double precision[], integer, double precision, double precision) is
'Minimises p_objective(parameters double precision[]) over positive parameters by Nelder-Mead on their '
'logarithms (reflection 1, expansion 2, contraction 1/2, shrink 1/2; first simplex p_step around ln p_start). '
'Converged when the vertices'' values agree to p_value_tolerance relative to the best; otherwise stops after '
'p_max_iterations with converged = false and the reason. Non-finite values count as +infinity.';

-- One evaluation of the objective at exp(log-parameters); errors and NaN become +infinity so the
-- simplex moves away from them.
create function conductor.nelder_mead_evaluate(p_call text, p_log_parameters double precision[])
returns double precision
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_value double precision;
begin
    begin
        execute p_call into v_value using (select array_agg(exp(l.v) order by l.i)
            from unnest(p_log_parameters) with ordinality as l (v, i));
    exception when numeric_value_out_of_range or division_by_zero or invalid_argument_for_logarithm
        or invalid_argument_for_power_function then
        return 'Infinity';
    end;
    if v_value is null or v_value = 'NaN' then
        return 'Infinity';
    end if;
    return v_value;
end
$$;
comment on function conductor.nelder_mead_evaluate(text, double precision[]) is
'Evaluates the objective call (select <function>($1)) at exp(p_log_parameters) for conductor.nelder_mead_positive; '
'numeric errors, NaN and null count as +infinity.';
