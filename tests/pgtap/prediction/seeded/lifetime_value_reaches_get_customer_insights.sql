-- After conductor.fit_lifetime_value_models(), every customer with a visit has a row in
-- public.customer_lifetime_value, and get_customer_insights and customer_sms_context carry its
-- values under their own keys (p_alive, expected_visits_30d, expected_visits_90d,
-- expected_spend_per_visit, expected_value_12m, lifetime_value_as_of); before any fit the keys are
-- there and null. The seed's churn_risk is unchanged beside them.
begin;
select plan(9);

create temporary table lv_before as
select
    c.member_id,
    c.phone,
    c.churn_risk
from public.customers as c
where c.total_visits > 0 and c.phone is not null and conductor.customer_for_phone(c.phone) = c.member_id
order by c.member_id
limit 1;

select ok(
    (select (public.get_customer_insights(b.phone)::jsonb ?& array[
        'p_alive', 'expected_visits_30d', 'expected_visits_90d', 'expected_spend_per_visit',
        'expected_value_12m', 'lifetime_value_as_of'
    ]) and public.get_customer_insights(b.phone)::jsonb -> 'p_alive' = 'null'::jsonb from lv_before as b),
    'before the first fit the lifetime-value keys are present and null'
);

select is(
    (conductor.fit_lifetime_value_models() -> 'bgnbd' ->> 'accepted')::boolean, true,
    'the fit on the demo data is accepted'
);
select is(
    (select count(*) from public.customer_lifetime_value),
    (
        select count(*) from public.customers
        where total_visits > 0
    ),
    'every customer with a visit has lifetime values'
);

select is(
    (
        select
            jsonb_build_object(
                'p_alive', i -> 'p_alive', 'expected_visits_30d', i -> 'expected_visits_30d',
                'expected_visits_90d', i -> 'expected_visits_90d',
                'expected_spend_per_visit', i -> 'expected_spend_per_visit',
                'expected_value_12m', i -> 'expected_value_12m', 'lifetime_value_as_of', i -> 'lifetime_value_as_of'
            )
        from lv_before as b, lateral (select public.get_customer_insights(b.phone) as i) as x
    ),
    (
        select
            jsonb_build_object(
                'p_alive', l.p_alive, 'expected_visits_30d', l.expected_visits_30d,
                'expected_visits_90d', l.expected_visits_90d, 'expected_spend_per_visit', l.expected_spend_per_visit,
                'expected_value_12m', l.expected_value_12m, 'lifetime_value_as_of', l.as_of_date
            )
        from lv_before as b
        inner join public.customer_lifetime_value as l on b.member_id = l.customer_id
    ),
    'get_customer_insights carries the customer''s lifetime values under their own keys'
);
select ok(
    (
        select (i ->> 'p_alive')::numeric between 0 and 1 and (i ->> 'expected_spend_per_visit')::numeric > 0
        from lv_before as b, lateral (select public.get_customer_insights(b.phone) as i) as x
    ),
    'p_alive is a probability and the expected spend is positive'
);
select is(
    (
        select count(*) from public.customer_sms_context
        where p_alive is null and total_visits > 0
    ),
    0::bigint,
    'customer_sms_context has p_alive for every customer with a visit'
);
select is(
    (select public.get_customer_insights(b.phone) ->> 'churn_risk' from lv_before as b),
    (select b.churn_risk from lv_before as b),
    'the seed''s churn_risk is unchanged beside them'
);

select ok(
    (
        select bool_and(w.priority_rank = w.row_position)
        from (
            select
                t.priority_rank,
                row_number() over () as row_position
            from public.get_win_back_targets(page => 1, page_size => 1000) as t
        ) as w
    ),
    'get_win_back_targets keeps the seed''s win-back order by default'
);
select ok(
    (
        select
            count(*) > 1
            and bool_and(w.expected_value_12m <= w.previous_value or w.previous_value is null)
            and bool_and(w.expected_value_12m is not null)
        from (
            select
                t.expected_value_12m,
                lag(t.expected_value_12m) over (order by t.row_position) as previous_value
            from
                public.get_win_back_targets(page => 1, page_size => 1000, by_expected_value => true)
                with ordinality as t (
                    priority_rank, customer_id, name, phone, email, vip_status, churn_risk, last_visited,
                    days_since_last_visit, total_visits, lifetime_value, loyalty_points, win_back_score,
                    favorite_category, recommended_offer, customers_sharing_phone, p_alive, expected_value_12m,
                    row_position
                )
        ) as w
    ),
    'by_expected_value orders the same queue by expected_value_12m, highest first'
);

select * from finish();
rollback;
