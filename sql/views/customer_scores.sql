-- Customer tier, churn and RFM scores: the one place that reads the threshold tables
-- (conductor.vip_tiers, churn_levels, rfm_scores, lead_segments). Each rule becomes a view of
-- value ranges ("bands") and conductor.customer_scores applies them to every customer against
-- the store's today, set-based (a join, not a function call per row). Whatever stores or serves
-- these values reads conductor.customer_scores, so a threshold edited in its table means the same
-- thing everywhere. Reads: those tables, customers, the store_time_zone setting.

-- vip_tiers: a customer gets the tier with the highest min_visits not above their visits.
create view conductor.vip_tier_bands as
select
    t.tier,
    int4range(t.min_visits, lead(t.min_visits) over (order by t.min_visits)) as visits
from conductor.vip_tiers as t;
comment on view conductor.vip_tier_bands is
'conductor.vip_tiers as ranges: the tier whose visits range contains a customer''s total_visits.';

-- churn_levels: the level with the highest min_days not above the days since the last visit.
create view conductor.churn_level_bands as
select
    l.level,
    int4range(l.min_days, lead(l.min_days) over (order by l.min_days)) as days
from conductor.churn_levels as l;
comment on view conductor.churn_level_bands is
'conductor.churn_levels as ranges: the level whose days range contains the days since the last visit.';

-- lead_segments: the segment with the highest min_score not above the lead score.
create view conductor.lead_segment_bands as
select
    g.segment,
    int4range(g.min_score, lead(g.min_score) over (order by g.min_score)) as scores
from conductor.lead_segments as g;
comment on view conductor.lead_segment_bands is
'conductor.lead_segments as ranges: the segment whose scores range contains the lead score.';

-- rfm_scores. recency: the best score whose bound (days) is >= the days since the last visit,
-- else the row with a null bound (anything older, and never visited), else the lowest score.
-- frequency (orders) and monetary (net dollars): the best score whose bound is <= the value,
-- else (below every bound, say a negative lifetime value) the lowest score. The bands partition
-- the whole number line, so every value matches exactly one band of its dimension.
create view conductor.rfm_score_bands as
with recency_bounds as (
    select
        s.bound,
        max(s.score) over (order by s.bound desc) as score,
        lag(s.bound) over (order by s.bound) as previous_bound
    from (
        select
            r.bound,
            max(r.score) as score
        from conductor.rfm_scores as r
        where r.dimension = 'recency' and r.bound is not null
        group by r.bound
    ) as s
),

recency_rest as (
    select
        coalesce(max(r.score) filter (where r.bound is null), min(r.score)) as score,
        max(r.bound) as above
    from conductor.rfm_scores as r
    where r.dimension = 'recency'
    having count(*) > 0
),

value_bounds as (
    select
        s.dimension,
        s.bound,
        max(s.score) over (partition by s.dimension order by s.bound) as score,
        lead(s.bound) over (partition by s.dimension order by s.bound) as next_bound
    from (
        select
            r.dimension,
            r.bound,
            max(r.score) as score
        from conductor.rfm_scores as r
        where r.dimension in ('frequency', 'monetary') and r.bound is not null
        group by r.dimension, r.bound
    ) as s
),

value_rest as (
    select
        r.dimension,
        min(r.score) as score,
        min(r.bound) as below
    from conductor.rfm_scores as r
    where r.dimension in ('frequency', 'monetary')
    group by r.dimension
)

select
    'recency' as dimension,
    b.score,
    numrange(b.previous_bound, b.bound, '(]') as bounds
from recency_bounds as b
union all
select
    'recency' as dimension,
    r.score,
    numrange(r.above, null, '()') as bounds
from recency_rest as r
union all
select
    b.dimension,
    b.score,
    numrange(b.bound, b.next_bound, '[)') as bounds
from value_bounds as b
union all
select
    r.dimension,
    r.score,
    numrange(null, r.below, '()') as bounds
from value_rest as r;
comment on view conductor.rfm_score_bands is
'conductor.rfm_scores as ranges per dimension: the score whose bounds contain the value (days since the '
'last visit, Infinity without visits; orders; lifetime value).';

-- All bands in one small materialized view: the scoring joins read a few rows instead of
-- recomputing the window functions of the views above on every sale. Refreshed whenever a
-- threshold table changes (conductor.tg_thresholds__rescore), by the nightly refresh and by
-- rebuild_all.
create materialized view conductor.score_bands as
select
    'vip' as kind,
    b.tier as label,
    null::smallint as score,
    numrange(lower(b.visits), upper(b.visits)) as bounds
from conductor.vip_tier_bands as b
union all
select
    'churn' as kind,
    b.level as label,
    null::smallint as score,
    numrange(lower(b.days), upper(b.days)) as bounds
from conductor.churn_level_bands as b
union all
select
    b.dimension as kind,
    null as label,
    b.score,
    b.bounds
from conductor.rfm_score_bands as b
union all
select
    'segment' as kind,
    b.segment as label,
    null::smallint as score,
    numrange(lower(b.scores), upper(b.scores)) as bounds
from conductor.lead_segment_bands as b;
comment on materialized view conductor.score_bands is
'Every threshold band: kind vip (label = tier, bounds = visits), churn (label = level, bounds = days), '
'recency / frequency / monetary (score, bounds) and segment (label, bounds = lead score). A cache of the '
'*_bands views, refreshed when a threshold table changes.';
analyze conductor.score_bands;

-- The same bands as sorted steps, one row for all kinds, so that scoring a customer is an array
-- search (width_bucket) per dimension instead of a join per dimension. floors holds each band's
-- lower end in ascending order; labels / scores hold, at position 1, the band below every floor
-- (the one unbounded below, or null when values below the first floor have no band) and at
-- position i + 1 the band starting at floors[i], so a value v falls in labels[width_bucket(v,
-- floors) + 1]. Recency bands include their upper end (days <= bound) and are stepped on the
-- negated days. This equals the @> lookup on conductor.score_bands because each kind's bands
-- are contiguous by construction (each ends where the next begins); a pgTAP test proves it.
create materialized view conductor.score_band_steps as
with steps as (
    select
        b.kind,
        case when b.kind = 'recency' then -upper(b.bounds) else lower(b.bounds) end as floor,
        b.label,
        b.score
    from conductor.score_bands as b
    where not isempty(b.bounds)
),

per_kind as (
    select
        s.kind,
        coalesce(array_agg(s.floor order by s.floor) filter (where s.floor is not null), '{}') as floors,
        array[max(s.label) filter (where s.floor is null)]
        || coalesce(array_agg(s.label order by s.floor) filter (where s.floor is not null), '{}') as labels,
        array[max(s.score) filter (where s.floor is null)]
        || coalesce(array_agg(s.score order by s.floor) filter (where s.floor is not null), '{}') as scores
    from steps as s
    group by s.kind
)

-- Aggregates without grouping: exactly one row, even with no bands at all.
select
    coalesce(max(k.floors) filter (where k.kind = 'vip'), '{}') as vip_floors,
    coalesce(max(k.labels) filter (where k.kind = 'vip'), '{null}') as vip_tiers,
    coalesce(max(k.floors) filter (where k.kind = 'churn'), '{}') as churn_floors,
    coalesce(max(k.labels) filter (where k.kind = 'churn'), '{null}') as churn_levels,
    coalesce(max(k.floors) filter (where k.kind = 'recency'), '{}') as recency_floors,
    coalesce(max(k.scores) filter (where k.kind = 'recency'), '{null}') as recency_scores,
    coalesce(max(k.floors) filter (where k.kind = 'frequency'), '{}') as frequency_floors,
    coalesce(max(k.scores) filter (where k.kind = 'frequency'), '{null}') as frequency_scores,
    coalesce(max(k.floors) filter (where k.kind = 'monetary'), '{}') as monetary_floors,
    coalesce(max(k.scores) filter (where k.kind = 'monetary'), '{null}') as monetary_scores,
    coalesce(max(k.floors) filter (where k.kind = 'segment'), '{}') as segment_floors,
    coalesce(max(k.labels) filter (where k.kind = 'segment'), '{null}') as segment_labels
from per_kind as k;
comment on materialized view conductor.score_band_steps is
'conductor.score_bands as one row of sorted steps per kind: <kind>_floors ascending, and the tier, level, '
'score or segment of a value v at position width_bucket(v, floors) + 1 (recency on -days). Refreshed '
'with conductor.score_bands.';
-- Statistics say one row, so plans that join it stay small (and out of JIT).
analyze conductor.score_band_steps;

create view conductor.customer_scores as
with clock as (
    -- The store's today, as conductor.store_today() (read here as a relation: service_role reads
    -- this view through public.customer_sms_context and cannot execute conductor functions).
    select
        s.value #>> '{}' as store_time_zone,
        (now() at time zone (s.value #>> '{}'))::date as today
    from conductor.settings as s
    where s.key = 'store_time_zone'
)

select
    c.id,
    c.member_id,
    c.name,
    c.phone,
    c.email,
    c.customer_type,
    c.member_group,
    c.loyalty_points,
    c.total_visits,
    c.total_sales,
    c.total_refunds,
    c.gross_sales,
    c.gross_refunds,
    c.avg_sale_value,
    c.lifetime_value,
    c.date_joined,
    c.first_visited,
    c.last_visited,
    clock.today as as_of_date,
    clock.store_time_zone,
    d.days as days_since_last_visit,
    st.vip_tiers[width_bucket(c.total_visits::numeric, st.vip_floors) + 1] as vip_status,
    st.churn_levels[width_bucket(d.days::numeric, st.churn_floors) + 1] as churn_risk,
    r.recency as rfm_recency,
    r.frequency as rfm_frequency,
    r.monetary as rfm_monetary,
    ls.lead_score,
    st.segment_labels[width_bucket(ls.lead_score::numeric, st.segment_floors) + 1] as lead_segment
from public.customers as c
cross join clock
-- greatest() skips nulls: without a visit there are no days since it
cross join
    lateral (
        select case when c.last_visited is not null then greatest(clock.today - c.last_visited, 0) end as days
    ) as d
cross join conductor.score_band_steps as st
cross join
    lateral (
        select
            st.recency_scores[width_bucket(-coalesce(d.days::numeric, 'Infinity'::numeric), st.recency_floors) + 1]
                as recency,
            st.frequency_scores[width_bucket(c.total_sales::numeric, st.frequency_floors) + 1] as frequency,
            st.monetary_scores[width_bucket(c.lifetime_value, st.monetary_floors) + 1] as monetary
    ) as r
cross join lateral (select (3 * r.recency + 2 * r.frequency + r.monetary)::smallint as lead_score) as ls;
comment on view conductor.customer_scores is
'Per customer (its identity and stored totals, then computed from those against the store''s today): '
'days_since_last_visit, vip_status, '
'churn_risk (null without visits), rfm_recency/frequency/monetary, lead_score = 3R + 2F + M and '
'lead_segment, by the threshold tables (through conductor.score_band_steps).';
