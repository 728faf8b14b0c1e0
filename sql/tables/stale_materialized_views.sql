-- Materialized views whose stored rows a repair has left behind the base tables. While a view is
-- listed, its exact readers (public.get_customer_timeline) compute from the base tables instead of
-- trusting stored rows, and the per-minute job refreshes it and takes it off the list.
-- Written by conductor.rebuild_all (marks) and conductor.refresh_activity_timeline (clears).
select pg_temp.claim_table('conductor', 'stale_materialized_views');
create table if not exists conductor.stale_materialized_views (
    view_name text not null,
    marked_at timestamptz not null default clock_timestamp(),
    constraint stale_materialized_views_pkey primary key (view_name)
);
alter table conductor.stale_materialized_views enable row level security;
comment on table conductor.stale_materialized_views is
'Materialized views a repair left behind their base tables, until their next refresh (readers of '
'public.get_customer_timeline compute live meanwhile).';
comment on column conductor.stale_materialized_views.view_name is
'Schema-qualified view, e.g. public.customer_activity_timeline.';
comment on column conductor.stale_materialized_views.marked_at is
'When the latest repair marked it; a refresh clears only the mark it saw before it began.';
