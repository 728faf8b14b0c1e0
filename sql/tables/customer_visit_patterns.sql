-- Per-customer visit rhythm, maintained by Conductor from transactions: gaps between visits,
-- their consistency, the predicted next visit and how late the customer is against it. The
-- columns named in seed 000 compute its formulas exactly (docs/seed-fidelity.md);
-- visit_regularity_score and predicted_next_visit_rounded are the package's own measures.
select pg_temp.claim_table('public', 'customer_visit_patterns');
create table if not exists public.customer_visit_patterns (
    customer_id text not null,
    total_visits integer not null default 0,
    avg_days_between_visits numeric,
    visit_consistency_score numeric,
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
-- Seed 000's columns are unconstrained numeric (its AVG and consistency score unrounded); an
-- install before them stored both rounded to 2 decimals. Dropping a numeric typmod rewrites
-- nothing; the values are recomputed by conductor.converge_derived_formulas().
do $types$
begin
    if (
        select a.atttypmod from pg_catalog.pg_attribute as a
        where a.attrelid = 'public.customer_visit_patterns'::regclass and a.attname = 'avg_days_between_visits'
    ) <> -1 then
        alter table public.customer_visit_patterns alter column avg_days_between_visits type numeric;
    end if;
    if (
        select a.atttypmod from pg_catalog.pg_attribute as a
        where a.attrelid = 'public.customer_visit_patterns'::regclass and a.attname = 'visit_consistency_score'
    ) <> -1 then
        alter table public.customer_visit_patterns alter column visit_consistency_score type numeric;
    end if;
end
$types$;
-- The package's own measures, beside the seed's.
alter table public.customer_visit_patterns add column if not exists visit_regularity_score numeric(4, 2);
alter table public.customer_visit_patterns add column if not exists predicted_next_visit_rounded date;
-- Maintenance state: the sum of the squared gaps, so a visit appended after the last one updates
-- the mean and standard deviations without re-reading the history (the sum of the gaps is the
-- last visit minus the first). Null until conductor.refresh_visit_patterns computes it.
alter table public.customer_visit_patterns add column if not exists gap_square_sum bigint;
do $checks$
begin
    if not exists (
        select from pg_catalog.pg_constraint
        where
            conrelid = 'public.customer_visit_patterns'::regclass
            and conname = 'customer_visit_patterns_regularity_check'
    ) then
        alter table public.customer_visit_patterns add constraint customer_visit_patterns_regularity_check
        check (visit_regularity_score between 0 and 10);
    end if;
end
$checks$;
-- Room on each page for a new version of every row on it: the nightly refresh moves the deviation
-- of every customer with a predicted visit, and those updates stay on the page (heap-only tuples).
alter table public.customer_visit_patterns set (fillfactor = 50);
create index if not exists customer_visit_patterns_predicted_next_visit_idx
on public.customer_visit_patterns (predicted_next_visit);
create index if not exists customer_visit_patterns_predicted_next_visit_rounded_idx
on public.customer_visit_patterns (predicted_next_visit_rounded);

alter table public.customer_visit_patterns enable row level security;

comment on table public.customer_visit_patterns is
'Maintained visit rhythm, one row per customer with at least one visit (a distinct calendar day in the '
'store_time_zone setting with a completed sale). A gap is the number of days between two consecutive visits.';
comment on column public.customer_visit_patterns.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_visit_patterns.total_visits is 'Visits (distinct local days), as customers.total_visits.';
comment on column public.customer_visit_patterns.avg_days_between_visits is
'Seed 000: AVG(gap), unrounded = (last visit - first visit) / (visits - 1); null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.visit_consistency_score is
'Seed 000''s formula exactly: 0 with one gap (STDDEV of one value is NULL), 10 when every gap is equal, '
'else GREATEST(0, 10 - STDDEV(gap) / AVG(gap)) with the sample standard deviation, unrounded. It stays '
'between 9 and 10 while the gaps'' coefficient of variation is at most 1 and reaches 0 only at 10; null with fewer than 2 visits (the '
'seed writes no row then). See visit_regularity_score for a score that uses the whole 0-10 range.';
comment on column public.customer_visit_patterns.visit_regularity_score is
'Package extension: 0-10, higher is more regular: 10 x (1 - CV) clamped to 0-10 and rounded to 2 '
'decimals, where CV is the population standard deviation of the gaps divided by their mean (equal gaps: '
'10; CV of 1 or more: 0); null with fewer than 3 visits (fewer than 2 gaps).';
comment on column public.customer_visit_patterns.predicted_next_visit is
'Seed 000: (last visit + avg_days_between_visits x 1 day)::date, the fraction of a day truncated; null with '
'fewer than 2 visits.';
comment on column public.customer_visit_patterns.predicted_next_visit_rounded is
'Package extension: last visit + avg_days_between_visits rounded to whole days (halves up): the day '
'last_visit_deviation_days counts from; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.last_visit_deviation_days is
'Seed 000: days since the last visit - AVG(gap)::int (rounded, halves away from zero) = store''s today - '
'predicted_next_visit_rounded; positive means late against their own rhythm. Refreshed nightly; the RPCs '
'compute it against today.';
comment on column public.customer_visit_patterns.longest_gap_days is 'Longest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.shortest_gap_days is 'Shortest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.gap_square_sum is
'Maintenance state: sum of the squared gaps in days (0 with one visit), from which a visit appended after '
'the last one updates the standard deviations exactly.';
comment on column public.customer_visit_patterns.created_at is 'Row creation time.';
comment on column public.customer_visit_patterns.updated_at is 'Last change.';
