-- RPC: a customer's most purchased products, for recommendations in a reply.
-- Reads: customers, conductor.ranked_product_affinity (customer_product_affinity, products).
create function public.get_customer_top_products(phone_number text, max_products integer default 5)
returns table (
    product_rank integer,
    product_sku text,
    product_name text,
    brand text,
    category text,
    purchase_count integer,
    units_purchased integer,
    total_spent numeric,
    first_purchased date,
    last_purchased date,
    avg_price_paid numeric,
    avg_unit_price_weighted numeric,
    repurchase_rate numeric,
    repurchase_share numeric
)
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
#variable_conflict use_column
declare
    v_phone text := conductor.phone_argument(get_customer_top_products.phone_number, 'phone_number');
    v_limit integer := conductor.int_argument(get_customer_top_products.max_products, 'max_products', 1, 100);
    v_member_id text := conductor.customer_for_phone(v_phone);
begin
    return query
    select
        r.product_rank::integer,
        r.product_sku,
        r.product_name,
        r.brand,
        r.category,
        r.purchase_count,
        r.units_purchased,
        r.total_spent,
        r.first_purchased,
        r.last_purchased,
        r.avg_price_paid,
        r.avg_unit_price_weighted,
        r.repurchase_rate,
        r.repurchase_share
    from conductor.ranked_product_affinity as r
    where r.customer_id = v_member_id and r.product_rank <= v_limit
    order by r.product_rank;
end
$$;
comment on function public.get_customer_top_products(text, integer) is
'Top max_products (1-100, default 5) products of the customer with this phone (the one with the most '
'recent visit if several share it), ranked by purchase_count, then total_spent, then latest purchase, with '
'the columns of customer_product_affinity (avg_price_paid and repurchase_rate as seed 000 defines them, '
'avg_unit_price_weighted and repurchase_share the package''s measures). No '
'rows for an unknown phone; SQLSTATE 22023 for a missing or malformed phone_number or max_products out of range.';
