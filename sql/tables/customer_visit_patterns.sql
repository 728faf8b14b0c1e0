-- Per-customer visit rhythm, maintained by Conductor from transactions: gaps between visits,
-- their consistency, the predicted next visit and how late the customer is against it.
select pg_temp.claim_table('public', 'customer_visit_patterns');
create table if not exists public.customer_visit_patterns (
    customer_id text not null,
    total_visits integer not null default 0,
    avg_days_between_visits numeric(10, 2),
    visit_consistency_score numeric(4, 2),
    predicted_next_visit date,
    last_visit_deviation_days integer,
    longest_gap_days integer,
    shortest_gap_days integer,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customer_visit_patterns_pkey primary key (customer_id),
    constraint customer_visit_patterns_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade,
    constraint customer_visit_patterns_consistency_check check (visit_consistency_score between 0 and 10)
);
create index if not exists customer_visit_patterns_predicted_next_visit_idx
on public.customer_visit_patterns (predicted_next_visit);

alter table public.customer_visit_patterns enable row level security;

comment on table public.customer_visit_patterns is
'Maintained visit rhythm, one row per customer with at least one visit (a distinct calendar day in the '
'store_time_zone setting with a completed sale). A gap is the number of days between two consecutive visits.';
comment on column public.customer_visit_patterns.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_visit_patterns.total_visits is 'Visits (distinct local days), as customers.total_visits.';
comment on column public.customer_visit_patterns.avg_days_between_visits is
'Mean gap = (last visit - first visit) / (visits - 1), rounded to 2 decimals; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.visit_consistency_score is
'0-10, higher is more regular: 10 x (1 - CV) clamped to 0-10 and rounded to 2 decimals, where CV is the '
'population standard deviation of the gaps divided by their mean (equal gaps: 10; CV of 1 or more: 0); '
'null with fewer than 3 visits (fewer than 2 gaps).';
comment on column public.customer_visit_patterns.predicted_next_visit is
'Last visit + avg_days_between_visits rounded to whole days; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.last_visit_deviation_days is
'Store''s today - predicted_next_visit: days since the last visit minus the rounded mean gap; positive '
'means late against their own rhythm. Refreshed nightly; the RPCs compute it against today.';
comment on column public.customer_visit_patterns.longest_gap_days is 'Longest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.shortest_gap_days is 'Shortest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.created_at is 'Row creation time.';
comment on column public.customer_visit_patterns.updated_at is 'Last change.';
