-- Records the day's lead scores: the segment figures of today (replaced by each later run of the
-- same day) and one row per customer whose score or segment differs from their latest recorded
-- one. Run hourly by pg_cron (conductor_record_lead_score_history), after the nightly refresh
-- has brought the scores to the store's today; a run that finds nothing changed writes nothing.
-- Reads: customers. Writes: conductor.lead_score_daily, conductor.lead_score_changes.
create function conductor.record_lead_score_history()
returns jsonb
volatile
security invoker
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_segments integer;
    v_changes integer;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor record_lead_score_history')) then
        return pg_catalog.jsonb_build_object('ran', false, 'reason', 'another recording is running');
    end if;

    with today as (
        select
            c.lead_segment,
            count(*)::integer as customers,
            round(avg(c.lead_score), 2) as avg_lead_score
        from public.customers as c
        where c.lead_segment is not null
        group by c.lead_segment
    ),

    gone as (
        delete from conductor.lead_score_daily as d
        where d.as_of_date = v_today and d.lead_segment not in (select t.lead_segment from today as t)
        returning 1
    ),

    written as (
        insert into conductor.lead_score_daily as d (as_of_date, lead_segment, customers, avg_lead_score)
        select v_today, t.lead_segment, t.customers, t.avg_lead_score from today as t
        on conflict (as_of_date, lead_segment) do update
            set
                customers = excluded.customers,
                avg_lead_score = excluded.avg_lead_score,
                recorded_at = pg_catalog.now()
            where (d.customers, d.avg_lead_score) is distinct from (excluded.customers, excluded.avg_lead_score)
        returning 1
    )

    select (select count(*) from written) + (select count(*) from gone) into v_segments;

    insert into conductor.lead_score_changes as h (customer_id, as_of_date, lead_score, lead_segment)
    select c.member_id, v_today, c.lead_score, c.lead_segment
    from public.customers as c
    left join lateral (
        select
            l.lead_score,
            l.lead_segment
        from conductor.lead_score_changes as l
        where l.customer_id = c.member_id
        order by l.as_of_date desc
        limit 1
    ) as latest on true
    where
        c.lead_score is not null
        and (latest.lead_score, latest.lead_segment) is distinct from (c.lead_score, c.lead_segment)
    on conflict (customer_id, as_of_date) do update
        set
            lead_score = excluded.lead_score,
            lead_segment = excluded.lead_segment,
            recorded_at = pg_catalog.now();
    get diagnostics v_changes = row_count;

    return pg_catalog.jsonb_build_object(
        'ran', true, 'as_of_date', v_today, 'segments_written', v_segments, 'customers_changed', v_changes
    );
end
$$;
comment on function conductor.record_lead_score_history() is
'pg_cron job conductor_record_lead_score_history: records today''s segment figures in '
'conductor.lead_score_daily and, in conductor.lead_score_changes, each customer whose lead score or segment '
'differs from their latest recorded one. Returns {ran, as_of_date, segments_written, customers_changed}.';
