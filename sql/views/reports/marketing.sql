-- Marketing reports of seed 003's dashboards that need history: how accurate the visit
-- predictions were, and the lead-score trend (seed 001's lead score trending charts).
-- public.report_visit_prediction_accuracy is security_invoker (service_role's own rights; reads
-- transactions and conductor.reporting_parameters()); the lead-score views are plain views (the
-- owner's rights) over conductor.lead_score_daily and conductor.lead_score_changes, which
-- service_role cannot read; anon and authenticated cannot select them (sql/lib/grants.sql).

create view public.report_visit_prediction_accuracy
with (security_invoker = true)
as
with parameters as materialized (
    select
        p.time_zone,
        p.today
    from conductor.reporting_parameters() as p
),

visit_days as (
    select distinct
        t.customer_id,
        (t.date at time zone parameters.time_zone)::date as day
    from public.transactions as t
    cross join parameters
    where t.customer_id is not null and t.status = 'completed' and t.transaction_type = 'sale'
),

numbered as (
    select
        v.customer_id,
        v.day,
        row_number() over visits as visit_number,
        first_value(v.day) over visits as first_day,
        lead(v.day) over visits as next_day
    from visit_days as v
    window visits as (partition by v.customer_id order by v.day)
),

-- As of each visit after the first: seed 000's prediction from the visits so far (the last visit
-- plus the mean gap as an interval, the date truncated), and the visit that really came next.
predictions as (
    select
        n.day as predicted_on,
        (n.day + ((n.day - n.first_day)::numeric / (n.visit_number - 1)) * interval '1 day')::date
            as predicted_visit,
        n.next_day
    from numbered as n
    where n.visit_number >= 2
),

scored as (
    select
        date_trunc('month', p.predicted_on)::date as month,
        p.next_day - p.predicted_visit as error_days,
        p.next_day is null and p.predicted_visit < parameters.today as overdue
    from predictions as p
    cross join parameters
)

select
    s.month,
    count(s.error_days) as predictions,
    round(avg(abs(s.error_days)), 2) as mean_abs_error_days,
    percentile_cont(0.5) within group (order by abs(s.error_days)) as median_abs_error_days,
    round(avg(s.error_days), 2) as mean_error_days,
    round(avg((abs(s.error_days) <= 3)::integer), 4) as within_3_days,
    round(avg((abs(s.error_days) <= 7)::integer), 4) as within_7_days,
    count(*) filter (where s.overdue) as overdue_not_returned
from scored as s
group by grouping sets ((s.month), ());
comment on view public.report_visit_prediction_accuracy is
'Visit-prediction accuracy on history: as of each visit after a customer''s first, seed 000''s '
'predicted_next_visit from the visits up to it (last visit + mean gap, truncated to a date), against the visit '
'that came next. Per month of the visit the prediction was made at (month null: all months): predictions with '
'an outcome, mean and median absolute error in days, mean_error_days (positive: they came later than '
'predicted), the share within 3 and 7 days, and overdue_not_returned (latest predictions already past that '
'no visit has met yet, not counted in the errors).';

create view public.report_lead_score_trend as
select
    d.as_of_date,
    d.lead_segment,
    d.customers,
    round(d.customers::numeric / sum(d.customers) over (partition by d.as_of_date), 4) as share,
    d.avg_lead_score
from conductor.lead_score_daily as d;
comment on view public.report_lead_score_trend is
'The lead-score trend: per recorded store day and lead segment, its customers, their share of the day''s '
'segmented customers and their average lead score (recorded hourly by conductor_record_lead_score_history).';

create view public.customer_lead_score_history as
select
    h.customer_id,
    h.as_of_date as changed_on,
    h.lead_score,
    h.lead_segment,
    lag(h.lead_score) over customer_days as previous_lead_score,
    lag(h.lead_segment) over customer_days as previous_lead_segment
from conductor.lead_score_changes as h
window customer_days as (partition by h.customer_id order by h.as_of_date);
comment on view public.customer_lead_score_history is
'Per customer, each store day their lead score or segment changed (the first recording gives their '
'starting point), with the values before it. Filter by customer_id.';
