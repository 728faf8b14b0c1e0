-- conductor.score_band_steps (the array form the scoring reads) places every value in the same
-- tier, churn level, RFM score and lead segment as the @> lookup on conductor.score_bands, with the
-- default thresholds and after edits that leave values below every band, merge equal bounds,
-- drop the null-bound recency row, use fractional bounds or empty a whole kind; and
-- conductor.customer_scores scores customers exactly as a join on the bands would.
begin;
select plan(5);

create function pg_temp.by_bands(p_kind text, p_value numeric)
returns text language sql stable as $$
    select coalesce(b.label, b.score::text) from conductor.score_bands as b
    where b.kind = p_kind and b.bounds @> p_value
$$;

create function pg_temp.by_steps(p_kind text, p_value numeric)
returns text language sql stable as $$
    select case p_kind
        when 'vip' then s.vip_tiers[width_bucket(p_value, s.vip_floors) + 1]
        when 'churn' then s.churn_levels[width_bucket(p_value, s.churn_floors) + 1]
        when 'recency' then s.recency_scores[width_bucket(-p_value, s.recency_floors) + 1]::text
        when 'frequency' then s.frequency_scores[width_bucket(p_value, s.frequency_floors) + 1]::text
        when 'monetary' then s.monetary_scores[width_bucket(p_value, s.monetary_floors) + 1]::text
        when 'segment' then s.segment_labels[width_bucket(p_value, s.segment_floors) + 1]
    end
    from conductor.score_band_steps as s
$$;

-- Every kind against integers around every bound, fractions either side of them, huge values
-- and infinity (the recency of a customer who never visited).
create temp view disagreements as
select
    k.kind,
    v.value,
    pg_temp.by_bands(k.kind, v.value) as bands,
    pg_temp.by_steps(k.kind, v.value) as steps
from (values ('vip'), ('churn'), ('recency'), ('frequency'), ('monetary'), ('segment')) as k (kind)
cross join (
    select g::numeric as value from generate_series(-3, 1100) as g
    union all
    select g + 0.5 from generate_series(-3, 1100) as g
    union all
    select r.bound - 0.001 from conductor.rfm_scores as r
    where r.bound is not null
    union all
    select r.bound + 0.001 from conductor.rfm_scores as r
    where r.bound is not null
    union all
    values (1e9), ('Infinity'::numeric), ('-Infinity'::numeric)
) as v
where pg_temp.by_bands(k.kind, v.value) is distinct from pg_temp.by_steps(k.kind, v.value);

select is_empty('select * from disagreements', 'default thresholds: the steps place every value as the bands do');

-- Below every band (no tier under 3 visits), fractional and merged RFM bounds, no null-bound
-- recency row (anything older scores the lowest score).
delete from conductor.vip_tiers
where min_visits = 0;
update conductor.vip_tiers set min_visits = 3
where tier = 'Casual';
update conductor.rfm_scores set bound = 45.5
where dimension = 'monetary' and score = 2;
update conductor.rfm_scores set bound = 60
where dimension = 'recency' and score = 3;
delete from conductor.rfm_scores
where dimension = 'recency' and bound is null;
select is_empty('select * from disagreements', 'edited thresholds: the same');

-- A whole kind emptied: nobody has a segment, by either form.
delete from conductor.lead_segments;
delete from conductor.churn_levels
where min_days < 60;
select is_empty('select * from disagreements', 'an empty kind and a single level: the same');

insert into public.customers (member_id) values ('SS-1'), ('SS-2'), ('SS-3');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('SS-T1', 'SS-1', now() - interval '400 days', 12.00),
('SS-T2', 'SS-1', now() - interval '70 days', 44.00),
('SS-T3', 'SS-2', now() - interval '2 days', 600.00);
select is_empty(
    $$select s.member_id
      from conductor.customer_scores as s
      where s.member_id like 'SS-%'
        and (s.vip_status, s.churn_risk, s.rfm_recency::text, s.rfm_frequency::text, s.rfm_monetary::text, s.lead_segment)
        is distinct from (
            pg_temp.by_bands('vip', s.total_visits),
            pg_temp.by_bands('churn', s.days_since_last_visit),
            pg_temp.by_bands('recency', coalesce(s.days_since_last_visit::numeric, 'Infinity')),
            pg_temp.by_bands('frequency', s.total_sales),
            pg_temp.by_bands('monetary', s.lifetime_value),
            pg_temp.by_bands('segment', s.lead_score)
        )$$,
    'customer_scores scores customers as a join on the bands would'
);
select results_eq(
    $$select member_id, vip_status, churn_risk, rfm_recency, rfm_frequency, rfm_monetary, lead_segment
      from public.customers where member_id like 'SS-%' order by member_id$$,
    $$select member_id, vip_status, churn_risk, rfm_recency, rfm_frequency, rfm_monetary, lead_segment
      from conductor.customer_scores where member_id like 'SS-%' order by member_id$$,
    'and the stored scores are the view''s'
);

select * from finish();
rollback;
