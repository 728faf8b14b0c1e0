-- Customers whose product affinity is still to be recomputed before the current database
-- transaction commits. A sale dated before its customer's last visit renumbers their visits,
-- which every product's first_visit_number counts in, but its lines arrive in the next statement
-- and change the same rows again: conductor.tg_transactions__maintain queues the customer here
-- instead, and the lines' trigger (or, if no lines come,
-- conductor.tg_pending_affinity_refresh__apply at commit) recomputes once. Rows never outlive the transaction that wrote them.
-- Written and read by the maintenance triggers only.
select pg_temp.claim_table('conductor', 'pending_affinity_refresh');
create unlogged table if not exists conductor.pending_affinity_refresh (
    customer_id text not null,
    wakes_at_commit boolean not null default false,
    constraint pending_affinity_refresh_pkey primary key (customer_id)
);
alter table conductor.pending_affinity_refresh enable row level security;
comment on table conductor.pending_affinity_refresh is
'Customers whose product affinity is recomputed before this database transaction commits (empty outside one).';
comment on column conductor.pending_affinity_refresh.customer_id is
'member_id of a customer whose new visit has not reached customer_product_affinity yet.';
comment on column conductor.pending_affinity_refresh.wakes_at_commit is
'True on the first row a statement queues: only its insert schedules the commit-time recompute (of the '
'whole queue), so a bulk load queues one event, not one per customer.';
