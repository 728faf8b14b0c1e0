-- Tiers, churn levels, RFM bounds and lead segments are data: editing a row of
-- conductor.vip_tiers, churn_levels, rfm_scores or lead_segments rescores every customer at once,
-- and the *_bands views turn each table into ranges that cover every value exactly once.
begin;
select plan(9);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

select is_empty(
    $$select d.dimension, v.value
      from (values ('recency'), ('frequency'), ('monetary')) as d (dimension)
      cross join (values (-5), (0), (1), (29.99), (30), (30.5), (31), (180), (181), (1e9), ('Infinity'::numeric)) as v (value)
      where (select count(*) from conductor.rfm_score_bands as b where b.dimension = d.dimension and b.bounds @> v.value) <> 1$$,
    'every value lies in exactly one RFM band of each dimension'
);
select results_eq(
    $$select tier, lower(visits), upper(visits) from conductor.vip_tier_bands order by lower(visits)$$,
    $$values ('New'::text, 0, 2), ('Casual'::text, 2, 6), ('Regular'::text, 6, 16), ('VIP'::text, 16, null::integer)$$,
    'VIP tiers as half-open visit ranges'
);

insert into public.customers (member_id) values ('TH-1');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('TH-T1', 'TH-1', pg_temp.at(40), 30.00),
('TH-T2', 'TH-1', pg_temp.at(35), 30.00);
select results_eq(
    $$select vip_status, churn_risk, rfm_recency, rfm_frequency, rfm_monetary, lead_score, lead_segment
      from public.customers where member_id = 'TH-1'$$,
    $$values ('Casual'::text, 'Medium'::text, 4::smallint, 2::smallint, 2::smallint, 18::smallint, 'warm'::text)$$,
    'with the default thresholds: Casual, Medium, 4-2-2 = 18 warm'
);

update conductor.vip_tiers set min_visits = 3
where tier = 'Casual';
select is((
    select vip_status from public.customers
    where member_id = 'TH-1'
), 'New', 'Casual from 3 visits: New');

update conductor.churn_levels set min_days = 40
where level = 'Medium';
select is((
    select churn_risk from public.customers
    where member_id = 'TH-1'
), 'Low', 'Medium from 40 days: Low');

update conductor.rfm_scores set bound = 35
where dimension = 'recency' and score = 5;
select results_eq(
    $$select rfm_recency, lead_score from public.customers where member_id = 'TH-1'$$,
    $$values (5::smallint, 21::smallint)$$,
    'recency 5 up to 35 days: 5-2-2 = 21'
);

update conductor.lead_segments set min_score = 22
where segment = 'hot';
select is((
    select lead_segment from public.customers
    where member_id = 'TH-1'
), 'warm', '21 is still warm');
update conductor.lead_segments set min_score = 21
where segment = 'hot';
select is((
    select lead_segment from public.customers
    where member_id = 'TH-1'
), 'hot', 'hot from 21');

select is_empty(
    $$select c.member_id from public.customers as c inner join conductor.customer_scores as s on c.id = s.id
      where (c.vip_status, c.churn_risk, c.rfm_recency, c.lead_score, c.lead_segment)
        is distinct from (s.vip_status, s.churn_risk, s.rfm_recency, s.lead_score, s.lead_segment)$$,
    'stored scores equal what conductor.customer_scores serves'
);

select * from finish();
rollback;
