-- The customer reports of seed 003's dashboards: customer counts (executive), the segment,
-- churn and RFM distributions with lifetime value (marketing; seed 001's RFM segment analysis).
-- The seed groups "Customers by Segment" by a customer_segment column; the package's segment is
-- lead_segment (Hot/Warm/Cool/Cold from the lead score), so the reports group by it.
-- Plain views (the owner's rights): they read the VIP tiers in conductor, which service_role
-- cannot; anon and authenticated cannot select them (sql/lib/grants.sql). They call no conductor
-- function. Reads: customers, customer_lifetime_value, conductor.vip_tiers, conductor.settings.

create view public.report_customer_counts as
with clock as (
    select (now() at time zone (s.value #>> '{}'))::date as today
    from conductor.settings as s
    where s.key = 'store_time_zone'
),

top_tier as (
    select v.tier from conductor.vip_tiers as v
    order by v.min_visits desc
    limit 1
)

select
    clock.today as as_of_date,
    count(*) as total_customers,
    count(*) filter (where c.total_visits > 0) as customers_with_visits,
    count(*) filter (
        where c.date_joined >= date_trunc('month', clock.today)::date
    ) as new_this_month,
    count(*) filter (where c.vip_status = (select t.tier from top_tier as t)) as vip_customers,
    count(*) filter (where c.last_visited > clock.today - 30) as active_last_30_days
from public.customers as c
cross join clock
group by clock.today;
comment on view public.report_customer_counts is
'One row: total customers, those with visits, new this month (date_joined in the store''s current month), VIP '
'customers (vip_status is the highest tier of conductor.vip_tiers) and active customers (a visit in the last '
'30 days, today included).';

create view public.report_segments as
select
    c.lead_segment,
    count(*) as customers,
    round(count(*)::numeric / sum(count(*)) over (), 4) as share,
    round(avg(c.lifetime_value), 2) as avg_lifetime_value,
    sum(c.lifetime_value) as total_lifetime_value,
    round(avg(c.total_visits), 2) as avg_visits,
    round(avg(c.days_since_last_visit::numeric), 2) as avg_days_since_visit,
    round(avg(c.lead_score), 2) as avg_lead_score,
    round(avg(v.expected_value_12m), 2) as avg_expected_value_12m
from public.customers as c
left join public.customer_lifetime_value as v on c.member_id = v.customer_id
where c.lead_segment is not null
group by c.lead_segment;
comment on view public.report_segments is
'Seed 003''s customers by segment, by lead_segment: customers, share of all segmented customers, average and '
'total lifetime_value (LTV by segment), average visits, days since the last visit and lead score, and the '
'average 12-month expected value of the lifetime value model (null before its first fit).';

create view public.report_churn_distribution as
select
    coalesce(c.churn_risk, 'No visits') as churn_risk,
    count(*) as customers,
    round(count(*)::numeric / sum(count(*)) over (), 4) as share,
    round(avg(c.lifetime_value), 2) as avg_lifetime_value,
    round(avg(c.days_since_last_visit::numeric), 2) as avg_days_since_visit,
    round(avg(v.p_alive), 4) as avg_p_alive
from public.customers as c
left join public.customer_lifetime_value as v on c.member_id = v.customer_id
group by coalesce(c.churn_risk, 'No visits');
comment on view public.report_churn_distribution is
'Customers per churn_risk (seed 004''s thresholds; No visits for customers without one): count, share, average '
'lifetime value and days since the last visit, and the model''s average P(alive) beside them.';

create view public.report_rfm_distribution as
select
    c.rfm_recency,
    c.rfm_frequency,
    c.rfm_monetary,
    c.lead_score,
    c.lead_segment,
    count(*) as customers,
    round(avg(c.lifetime_value), 2) as avg_lifetime_value
from public.customers as c
where c.lead_score is not null
group by c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.lead_score, c.lead_segment;
comment on view public.report_rfm_distribution is
'RFM segment analysis: customers and their average lifetime value per (recency, frequency, monetary) score '
'combination, with the lead score (3R + 2F + M) and segment it gives.';
