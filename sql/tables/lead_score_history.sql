-- Lead score history, kept daily so that trends can be drawn: per store day, the customers and
-- average lead score of each lead segment, and per customer a row on each day their lead score
-- or segment was found changed. Written by conductor.record_lead_score_history (pg_cron job
-- conductor_record_lead_score_history); read through public.report_lead_score_trend and
-- public.customer_lead_score_history.
select pg_temp.claim_table('conductor', 'lead_score_daily');
create table if not exists conductor.lead_score_daily (
    as_of_date date not null,
    lead_segment text not null,
    customers integer not null,
    avg_lead_score numeric(6, 2),
    recorded_at timestamptz not null default now(),
    constraint lead_score_daily_pkey primary key (as_of_date, lead_segment)
);
alter table conductor.lead_score_daily enable row level security;
comment on table conductor.lead_score_daily is
'Per store day and lead segment: how many customers were in it and their average lead score (the day''s last '
'recording).';
comment on column conductor.lead_score_daily.as_of_date is 'Store day.';
comment on column conductor.lead_score_daily.lead_segment is 'Lead segment (customers.lead_segment).';
comment on column conductor.lead_score_daily.customers is 'Customers in the segment.';
comment on column conductor.lead_score_daily.avg_lead_score is 'Their average lead score.';
comment on column conductor.lead_score_daily.recorded_at is 'When the day''s figures were last recorded.';

select pg_temp.claim_table('conductor', 'lead_score_changes');
create table if not exists conductor.lead_score_changes (
    customer_id text not null,
    as_of_date date not null,
    lead_score smallint,
    lead_segment text,
    recorded_at timestamptz not null default now(),
    constraint lead_score_changes_pkey primary key (customer_id, as_of_date),
    constraint lead_score_changes_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade
);
alter table conductor.lead_score_changes enable row level security;
comment on table conductor.lead_score_changes is
'Per customer, the lead score and segment from each store day on which a recording found them changed (the '
'first recording keeps every customer''s): the score on any day is the latest row on or before it.';
comment on column conductor.lead_score_changes.customer_id is 'Customer (customers.member_id).';
comment on column conductor.lead_score_changes.as_of_date is 'Store day of the recording.';
comment on column conductor.lead_score_changes.lead_score is 'Lead score from that day on.';
comment on column conductor.lead_score_changes.lead_segment is 'Lead segment from that day on.';
comment on column conductor.lead_score_changes.recorded_at is 'When it was recorded.';
