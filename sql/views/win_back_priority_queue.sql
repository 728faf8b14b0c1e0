-- The win-back queue: lapsed customers worth a text, best first, with the offer for their
-- favourite category. Membership is seed 000's: churn risk above the lowest level (Medium or
-- High) and more than win_back_min_days_since_last_visit (30) days since the last visit, with a
-- phone; beyond the seed, one row per phone number (the best-scoring customer on it) and never an
-- opted-out number. A materialized view refreshed concurrently by the pg_cron job
-- conductor_refresh_win_back (sql/cron/refresh_win_back.sql), by every conductor.import_all and
-- conductor.rebuild_all, and after a nightly refresh that changed customers;
-- public.get_win_back_targets reads it page by page and drops anyone who visited or opted out
-- since the refresh.
-- Like seed 000's view it reads the stored day count, churn and totals of public.customers:
-- every refresh comes after they were brought to the store's today (conductor.refresh_win_back
-- calls conductor.refresh_scores first; the nightly refresh, import_all and rebuild_all write
-- them), so the queue is a set-based scan of customers with no per-row scoring. The favourite
-- category is the ready one of conductor.customer_context, or public.customer_sms_context's live
-- one for the few customers whose context is being rebuilt.
-- Reads: customers, conductor.customer_context, public.customer_sms_context, conductor.opt_outs,
-- conductor.offers, conductor.churn_levels, conductor.settings.
create materialized view public.win_back_priority_queue as
with weights as (
    select
        (s.value ->> 'lifetime_value')::numeric as lifetime_value,
        (s.value ->> 'visit')::numeric as visit,
        (s.value ->> 'recency')::numeric as recency,
        (s.value ->> 'loyalty_point')::numeric as loyalty_point
    from conductor.settings as s
    where s.key = 'win_back_score_weights'
),

lapsed as (
    -- Lapsed: more than the setting's days (seed 000: days_since_last_visit > 30) since the last
    -- visit and any churn level above the lowest (Medium or High with the default levels).
    select
        c.member_id,
        c.name,
        c.phone,
        c.email,
        c.vip_status,
        c.churn_risk,
        c.last_visited,
        c.days_since_last_visit,
        c.total_visits,
        c.lifetime_value,
        c.loyalty_points,
        round(
            c.lifetime_value * w.lifetime_value
            + c.total_visits * w.visit
            + w.recency / greatest(c.days_since_last_visit, 1)
            + c.loyalty_points * w.loyalty_point,
            2
        ) as win_back_score
    from public.customers as c
    cross join weights as w
    where
        c.phone is not null
        and c.days_since_last_visit > (
            select (s.value #>> '{}')::integer from conductor.settings as s
            where s.key = 'win_back_min_days_since_last_visit'
        )
        and c.churn_risk is not null
        and c.churn_risk <> (
            select l.level from conductor.churn_levels as l
            order by l.min_days limit 1
        )
        and not exists (
            select from conductor.opt_outs as o
            where o.phone_number = c.phone
        )
),

one_per_phone as (
    select distinct on (l.phone) l.*
    from lapsed as l
    order by l.phone asc, l.win_back_score desc, l.member_id asc
),

-- Phones of more than one customer (one aggregate instead of a count per queued row).
shared_phones as (
    select
        c.phone,
        count(*)::integer as customers
    from public.customers as c
    where c.phone is not null
    group by c.phone
    having count(*) > 1
)

select
    row_number() over (order by p.win_back_score desc, p.member_id asc) as priority_rank,
    p.member_id as customer_id,
    p.name,
    p.phone,
    p.email,
    p.vip_status,
    p.churn_risk,
    p.last_visited,
    p.days_since_last_visit,
    p.total_visits,
    p.lifetime_value,
    p.loyalty_points,
    p.win_back_score,
    f.favorite_category,
    coalesce(o.offer_text, (
        select s.value #>> '{}' from conductor.settings as s
        where s.key = 'default_offer'
    ))
        as recommended_offer,
    coalesce(sp.customers, 1) as customers_sharing_phone,
    (
        -- the store's today, as conductor.store_today() (a function here would run per row)
        select (now() at time zone (z.value #>> '{}'))::date from conductor.settings as z
        where z.key = 'store_time_zone'
    ) as as_of_date
from one_per_phone as p
left join conductor.customer_context as cx on p.member_id = cx.customer_id and cx.built_version = cx.version
cross join
    lateral (
        select
            case
                when cx.customer_id is not null then cx.favorite_category
                else (
                    select v.favorite_category from public.customer_sms_context as v
                    where v.member_id = p.member_id
                )
            end as favorite_category
        -- a limit keeps it a subquery, so the live lookup runs once per row (pulled up, its
        -- expression would be evaluated again for the join to offers); one row, nothing to order
        limit all  -- noqa: AM09
    ) as f
left join shared_phones as sp on p.phone = sp.phone
left join conductor.offers as o on f.favorite_category = o.category;

create unique index win_back_priority_queue_customer_id_idx on public.win_back_priority_queue (customer_id);
create unique index win_back_priority_queue_phone_idx on public.win_back_priority_queue (phone);
create unique index win_back_priority_queue_priority_rank_idx on public.win_back_priority_queue (priority_rank);

comment on materialized view public.win_back_priority_queue is
'Lapsed customers (seed 000: churn risk above the lowest level and more than '
'win_back_min_days_since_last_visit, by default 30, days since the last visit) with a phone that has not '
'opted out, one row per phone, ranked by the win-back score. Refreshed by every import_all and rebuild_all, '
'after a nightly refresh that changed customers, and hourly by pg_cron (conductor_refresh_win_back); read '
'through get_win_back_targets(page, page_size) for live opt-out and visit checks.';
comment on column public.win_back_priority_queue.priority_rank is 'Position in the queue, 1 = best target.';
comment on column public.win_back_priority_queue.customer_id is 'Customer (customers.member_id).';
comment on column public.win_back_priority_queue.win_back_score is
'lifetime_value x w1 + total_visits x w2 + w3 / days since the last visit + loyalty_points x w4, with the '
'weights of the win_back_score_weights setting (by default the seeds'' 0.3, 10 x 0.2, 100 x 0.3, 0.2).';
comment on column public.win_back_priority_queue.favorite_category is 'Category with the most product purchases.';
comment on column public.win_back_priority_queue.recommended_offer is
'conductor.offers.offer_text for the favourite category, else the default_offer setting (seed 000: 20% off '
'all vapes, Buy 2 get 1 free edibles, else $10 off next purchase).';
comment on column public.win_back_priority_queue.customers_sharing_phone is
'Customers with this phone; the row is the best-scoring of them.';
comment on column public.win_back_priority_queue.as_of_date is 'Store date of the refresh.';
