-- A new transaction adds a visit, which changes the repurchase share of every product its
-- customer bought. A visit after the last one (the POS case) changes no stored affinity row: the
-- share is computed where it is read from the stored purchase days and the visit count, and the
-- lines are added to the running totals. A visit back in time renumbers the visits: the insert
-- queues the customer (conductor.pending_affinity_refresh) and the affinity is recomputed once,
-- by the lines' statement or at commit (a deferred constraint trigger) if none come.
begin;
select plan(14);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

select results_eq(
    $$select t.tgdeferrable, t.tginitdeferred, t.tgfoid = 'conductor.tg_pending_affinity_refresh__apply'::regproc
      from pg_catalog.pg_trigger as t
      where t.tgrelid = 'conductor.pending_affinity_refresh'::regclass and not t.tgisinternal$$,
    $$values (true, true, true)$$,
    'the queue is applied by a trigger deferred to commit'
);

insert into public.products (product_id, sku, name, category) values
('VL-1', 'VL-1', 'Blue Dream 3.5g', 'Flower'),
('VL-2', 'VL-2', 'Mango Gummies', 'Edibles');
insert into public.customers (member_id, name) values ('VL-M1', 'Ada');
insert into public.transactions (transaction_id, customer_id, date, total_amount)
values ('VL-T1', 'VL-M1', pg_temp.at(10), 53.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('VL-T1', 1, 'VL-1', 1, 35.00, 35.00), ('VL-T1', 2, 'VL-2', 1, 18.00, 18.00);

-- A second visit, after the first, whose lines have not come (yet).
insert into public.transactions (transaction_id, customer_id, date, total_amount)
values ('VL-T2', 'VL-M1', pg_temp.at(3), 35.00);
select results_eq(
    $$select product_sku, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'VL-M1' order by product_sku$$,
    $$values ('VL-1'::text, 0.0000), ('VL-2'::text, 0.0000)$$,
    'a visit after the last one counts at once: neither product bought again, in 1 later visit'
);
select is_empty($$select 1 from conductor.pending_affinity_refresh$$, 'and queues nothing');
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('VL-T2', 1, 'VL-1', 1, 35.00, 35.00);
select results_eq(
    $$select product_sku, purchase_count, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'VL-M1' order by product_sku$$,
    $$values ('VL-1'::text, 2, 1.0000), ('VL-2'::text, 1, 0.0000)$$,
    'its lines are added: Blue Dream again on the 1 later visit'
);

-- A visit back in time, without lines: queued until commit.
insert into public.transactions (transaction_id, customer_id, date, total_amount)
values ('VL-T3', 'VL-M1', pg_temp.at(6), 20.00);
select results_eq(
    $$select customer_id from conductor.pending_affinity_refresh$$,
    $$values ('VL-M1'::text)$$,
    'a visit back in time queues its customer''s affinity'
);
select results_eq(
    $$select product_sku, purchase_count, purchase_days, first_visit_number from public.customer_product_affinity
      where customer_id = 'VL-M1' order by product_sku$$,
    $$values ('VL-1'::text, 2, 2, 1), ('VL-2'::text, 1, 1, 1)$$,
    'until then the stored rows are untouched'
);

set constraints all immediate;  -- what COMMIT does first
select results_eq(
    $$select product_sku, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'VL-M1' order by product_sku$$,
    $$values ('VL-1'::text, 0.5000), ('VL-2'::text, 0.0000)$$,
    'by commit, the visit without lines counts: Blue Dream again on 1 of the 2 later visits'
);
select is_empty($$select 1 from conductor.pending_affinity_refresh$$, 'and the queue is empty');
set constraints all deferred;

-- Another visit back in time, then its lines: recomputed by the lines' statement.
insert into public.transactions (transaction_id, customer_id, date, total_amount)
values ('VL-T4', 'VL-M1', pg_temp.at(8), 18.00);
select results_eq(
    $$select customer_id from conductor.pending_affinity_refresh$$,
    $$values ('VL-M1'::text)$$,
    'the next visit back in time queues the customer again'
);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price)
values ('VL-T4', 1, 'VL-2', 1, 18.00, 18.00);
select results_eq(
    $$select product_sku, purchase_count, repurchase_share from conductor.ranked_product_affinity
      where customer_id = 'VL-M1' order by product_sku$$,
    $$values ('VL-1'::text, 2, 0.3333), ('VL-2'::text, 2, 0.3333)$$,
    'its lines recompute at once: each product again on 1 of the 3 later visits'
);
select is_empty($$select 1 from conductor.pending_affinity_refresh$$, 'and take the customer off the queue');

-- A statement of several customers' visits back in time schedules one commit-time event, not one each.
insert into public.customers (member_id, name) values ('VL-M2', 'Bo'), ('VL-M3', 'Cy');
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('VL-T5', 'VL-M2', pg_temp.at(2), 10.00),
('VL-T6', 'VL-M3', pg_temp.at(2), 10.00);
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('VL-T7', 'VL-M2', pg_temp.at(5), 10.00),
('VL-T8', 'VL-M3', pg_temp.at(5), 10.00);
select results_eq(
    $$select count(*)::integer, (count(*) filter (where wakes_at_commit))::integer
      from conductor.pending_affinity_refresh$$,
    $$values (2, 1)$$,
    'two customers queued by one statement, one of them waking the commit-time recompute'
);
set constraints all immediate;
select is_empty($$select 1 from conductor.pending_affinity_refresh$$, 'which takes the whole queue');
set constraints all deferred;

select is(
    (conductor.rebuild_all() ->> 'customer_product_affinity')::integer, 0,
    'rebuild_all finds nothing to correct'
);

select * from finish();
rollback;
