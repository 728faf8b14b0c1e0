-- Which revision of its formulas each maintained derived table was last computed with. An
-- install whose formulas differ from the stored revision recomputes that table for every customer
-- (conductor.converge_derived_formulas, run by sql/lib/converge_derived.sql), so an upgrade never
-- leaves rows computed the old way beside rows computed the new way.
-- Written by conductor.converge_derived_formulas only.
select pg_temp.claim_table('conductor', 'derived_revisions');
create table if not exists conductor.derived_revisions (
    derived_table text not null,
    revision integer not null,
    recomputed_at timestamptz not null default now(),
    constraint derived_revisions_pkey primary key (derived_table)
);
alter table conductor.derived_revisions enable row level security;
comment on table conductor.derived_revisions is
'Formula revision each maintained derived table was last recomputed with (see conductor.converge_derived_formulas).';
comment on column conductor.derived_revisions.derived_table is 'Derived table, e.g. customer_product_affinity.';
comment on column conductor.derived_revisions.revision is 'Revision of its formulas its rows were computed with.';
comment on column conductor.derived_revisions.recomputed_at is 'When an install last recomputed it for that revision.';
