-- Product affinity follows the catalogue through the sale lines (it has no foreign key to
-- products of its own): a renamed sku moves the rows of every customer who bought it, with their
-- totals; a product that sale lines name cannot be deleted; no affinity row ever names a sku the
-- catalogue does not have.
begin;
select plan(5);

create function pg_temp.at(p_days_ago integer)
returns timestamptz language sql as $$
    select ((conductor.store_today() - p_days_ago) + time '12:00') at time zone conductor.store_time_zone()
$$;

insert into public.products (product_id, sku, name) values
('PS-P1', 'PS-OLD', 'Gummies'), ('PS-P2', 'PS-KEEP', 'Pre-roll'), ('PS-P3', 'PS-UNSOLD', 'Tincture');
insert into public.customers (member_id, registered_on) values
('PS-A', conductor.store_today() - 30), ('PS-B', conductor.store_today() - 30);
insert into public.transactions (transaction_id, customer_id, date, total_amount) values
('PS-T1', 'PS-A', pg_temp.at(9), 30.00),
('PS-T2', 'PS-A', pg_temp.at(2), 10.00),
('PS-T3', 'PS-B', pg_temp.at(4), 10.00);
insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price, total_price) values
('PS-T1', 1, 'PS-OLD', 2, 10.00, 20.00),
('PS-T1', 2, 'PS-KEEP', 1, 10.00, 10.00),
('PS-T2', 1, 'PS-OLD', 1, 10.00, 10.00),
('PS-T3', 1, 'PS-OLD', 1, 10.00, 10.00);

update public.products set sku = 'PS-NEW'
where sku = 'PS-OLD';
select results_eq(
    $$select customer_id, product_sku, purchase_count, units_purchased, total_spent from public.customer_product_affinity
      where customer_id like 'PS-%' order by 1, 2$$,
    $$values ('PS-A'::text, 'PS-KEEP'::text, 1, 1, 10.00::numeric), ('PS-A', 'PS-NEW', 2, 3, 30.00),
             ('PS-B', 'PS-NEW', 1, 1, 10.00)$$,
    'a renamed sku moves every buyer''s row with its totals'
);
select is_empty(
    $$select 1 from public.customer_product_affinity where product_sku = 'PS-OLD'$$,
    'nothing stays under the old sku'
);
select throws_ok(
    $$delete from public.products where sku = 'PS-NEW'$$,
    '23503',
    null,
    'a product that sale lines name cannot be deleted'
);
delete from public.products
where sku = 'PS-UNSOLD';
select is_empty(
    $$select a.customer_id, a.product_sku from public.customer_product_affinity as a
      where not exists (select from public.products as p where p.sku = a.product_sku)$$,
    'no affinity row names a sku the catalogue does not have'
);
create temporary table maintained as
select * from public.customer_product_affinity
where customer_id like 'PS-%';
select conductor.rebuild_all();
select results_eq(
    $$select customer_id, product_sku, purchase_count, units_purchased, total_spent, first_purchased, last_purchased
      from public.customer_product_affinity where customer_id like 'PS-%' order by 1, 2$$,
    $$select customer_id, product_sku, purchase_count, units_purchased, total_spent, first_purchased, last_purchased
      from maintained order by 1, 2$$,
    'a rebuild from the raw rows computes the same rows'
);

select * from finish();
rollback;
