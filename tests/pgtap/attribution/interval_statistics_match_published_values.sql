-- The lift report's statistics reproduce published values: Newcombe's (1998) eight examples of the
-- hybrid score interval for a difference of proportions (his method 10, Table II), the Wilson
-- interval of 81/263 from the same paper series, Student t quantiles from the tables, and a Welch
-- interval computed by hand. Bad arguments are refused with 22023 naming them.
begin;
select plan(9);

select results_eq(
    $$select round(n.lower_bound::numeric, 4) as lower_bound, round(n.upper_bound::numeric, 4) as upper_bound
      from (values (1, 56, 70, 48, 80), (2, 9, 10, 3, 10), (3, 6, 7, 2, 7), (4, 5, 56, 0, 29), (5, 0, 10, 0, 20),
                   (6, 0, 10, 0, 10), (7, 10, 10, 0, 20), (8, 10, 10, 0, 10)) as v (k, x1, n1, x0, n0)
      cross join lateral conductor.newcombe_difference_interval(
          v.x1, v.n1, v.x0, v.n0, conductor.normal_quantile(0.975)
      ) as n
      order by v.k$$,
    $$values (0.0524, 0.3339), (0.1705, 0.8090), (0.0582, 0.8062), (-0.0381, 0.1926), (-0.1611, 0.2775),
             (-0.2775, 0.2775), (0.6791, 1.0000), (0.6075, 1.0000)$$,
    'Newcombe method 10 gives the eight intervals of his Table II'
);
select results_eq(
    $$select round(w.lower_bound::numeric, 4) as lower_bound, round(w.upper_bound::numeric, 4) as upper_bound
      from conductor.wilson_interval(81, 263, conductor.normal_quantile(0.975)) as w$$,
    $$values (0.2553, 0.3662)$$,
    'the Wilson interval of 81/263 is 0.2553 to 0.3662'
);
select is(round(conductor.normal_quantile(0.975)::numeric, 6), 1.959964, 'the normal 97.5% quantile is 1.959964');
select results_eq(
    $$select round(conductor.student_t_quantile(0.975, v.df)::numeric, 3) as t
      from (values (1, 1), (2, 2), (3, 3), (4, 5), (5, 10), (6, 30), (7, 100), (8, 1000)) as v (k, df)
      order by v.k$$,
    $$values (12.706), (4.303), (3.182), (2.571), (2.228), (2.042), (1.984), (1.962)$$,
    'Student t 97.5% quantiles match the tables for 1 to 1000 degrees of freedom'
);
select is(
    round(conductor.student_t_quantile(0.025, 10)::numeric, 3), -2.228, 'the lower quantile is the negative'
);
-- Means 10 and 8, variances 4 and 9, 20 and 30 values: se = sqrt(0.2 + 0.3), df = 47.9965.
select results_eq(
    $$select round(w.difference::numeric, 4) as difference, round(w.lower_bound::numeric, 4) as lower_bound,
             round(w.upper_bound::numeric, 4) as upper_bound, round(w.degrees_of_freedom::numeric, 4) as df
      from conductor.welch_difference_interval(10, 4, 20, 8, 9, 30, 0.975) as w$$,
    $$values (2.0000, 0.5783, 3.4217, 47.9965)$$,
    'Welch: difference 2, 95% interval 0.5783 to 3.4217 on 47.9965 degrees of freedom'
);
select ok(
    (select w.lower_bound is null from conductor.welch_difference_interval(10, 4, 1, 8, 9, 30, 0.975) as w),
    'no Welch interval for a group of one'
);
select throws_ok(
    'select conductor.student_t_quantile(0.975, 0.5)', '22023',
    'p_degrees_of_freedom is out of range: must be at least 1, got 0.5',
    'fewer than one degree of freedom is refused naming the argument'
);
select throws_ok(
    'select conductor.normal_quantile(1)', '22023',
    'p_probability is out of range: must be strictly between 0 and 1, got 1',
    'a probability of 1 is refused naming the argument'
);

select * from finish();
rollback;
