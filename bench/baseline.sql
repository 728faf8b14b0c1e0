-- seed_baseline: the seeds' own design, reproduced for comparison by `make bench`.
--
-- NOT PART OF THE PACKAGE. Nothing in sql/ refers to it and `make install` never creates it.
-- The benchmark builds it in schema seed_baseline of the same database as the package, loads the
-- same generated rows into it, and measures it side by side with Conductor.
--
-- What it reproduces, and from where (the user's notes in the seeds):
-- - seed 002: the nine tables with int4 surrogate ids, member_id / transaction_id / sku text
--   business keys and the seeds' columns; plus indexes on every foreign key and on phone (the
--   seed's "Phase 3: add indexes for common queries").
-- - seed 000: the customer_sms_context view with its correlated subqueries, the affinity
--   populate INSERT ... SELECT, calculate_visit_patterns() (TRUNCATE + INSERT), and the
--   win_back_priority_queue materialized view (CASE literal offers, correlated subqueries).
-- - seed 000 / 004: "auto-calculated by triggers": calculate_lifetime_value,
--   calculate_vip_status and calculate_churn_risk as row triggers on customers, and customer
--   totals recomputed from the customer's whole history by a row trigger on every transaction.
--
-- Deliberate, minimal deviations (each needed for the seed SQL to run at all on this data):
-- - The affinity populate groups by (customer_id, product_sku) and skips line items without a
--   sku: the seed's GROUP BY product_name, category would violate its own primary key whenever a
--   sku was sold under two names, and a null sku cannot be part of a primary key.
-- - A visit in the totals trigger is a distinct calendar date of the transaction (the seeds do
--   not define one); refunds are transactions with a negative total_amount (the seeds keep
--   total_refunds / gross_refunds but no transaction type).
--
-- - Function bodies name their tables with the schema (seed_baseline.transactions), so they
--   never resolve to the package's tables of the same names in public.
--
-- The script is idempotent: it drops and re-creates the schema.

drop schema if exists seed_baseline cascade;
create schema seed_baseline;
set search_path = seed_baseline;

-- ---------------------------------------------------------------------------------------------
-- Tables (seed 002)
-- ---------------------------------------------------------------------------------------------

create table customers (
    id serial primary key,
    member_id text not null unique,
    name text,
    phone text,
    email text,
    loyalty_points numeric,
    total_visits int4,
    total_sales int4,
    total_refunds int4,
    gross_sales numeric,
    gross_refunds numeric,
    avg_sale_value numeric,
    lifetime_value numeric,
    customer_type text,
    member_group text,
    marketing_source text,
    state text,
    zip_code text,
    date_joined date,
    last_visited date,
    vip_status text,
    churn_risk text,
    days_since_last_visit int4,
    created_at timestamptz default now(),
    updated_at timestamptz default now()
);
create index customers_phone_idx on customers (phone);

create table products (
    id serial primary key,
    product_id text not null unique,
    sku text unique,
    name text,
    brand text,
    category text,
    strain text,
    flower_type text,
    vendor text,
    thc_content numeric,
    cbd_content numeric,
    retail_price numeric,
    cost numeric,
    is_active bool,
    leafly_strain_type text,
    leafly_description text,
    leafly_rating numeric,
    leafly_review_count int4,
    effects text[],
    helps_with text[],
    negatives text[],
    flavors text[],
    terpenes text[],
    parent_strains text[],
    lineage text,
    image_url text,
    leafly_url text,
    leafly_data_updated timestamptz
);

create table transactions (
    id serial primary key,
    transaction_id text not null unique,
    customer_id text references customers (member_id),
    date timestamptz not null,
    shop_location text,
    staff_name text,
    terminal text,
    payment_type text,
    total_amount numeric,
    total_tax numeric,
    discounts numeric,
    loyalty_points_earned numeric,
    loyalty_points_spent numeric,
    created_at timestamptz default now()
);
create index transactions_customer_id_idx on transactions (customer_id);

create table transaction_items (
    id serial primary key,
    transaction_id text not null references transactions (transaction_id),
    product_sku text references products (sku),
    product_name text,
    brand text,
    category text,
    strain text,
    flower_type text,
    quantity int4,
    unit_price numeric,
    total_price numeric,
    thc_content numeric,
    cbd_content numeric,
    created_at timestamptz default now()
);
create index transaction_items_transaction_id_idx on transaction_items (transaction_id);
create index transaction_items_product_sku_idx on transaction_items (product_sku);

create table staff (
    id serial primary key,
    staff_name text,
    shop_location text,
    total_transactions int4,
    total_sales numeric,
    avg_transaction_value numeric,
    created_at timestamptz default now()
);

create table messages (
    id bigserial primary key,
    phone_number text not null,
    content text not null,
    timestamp timestamptz not null,
    modem_timestamp timestamptz,
    status text not null,
    direction text not null,
    modem_index text,
    message_hash text,
    updated_at timestamptz,
    retry_count int4
);
create index messages_phone_number_idx on messages (phone_number);

create table leads (
    id bigserial primary key,
    phone_number text not null,
    lead_status text not null,
    conversation_stage text not null,
    last_message text,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    customer_id text references customers (member_id),
    conversion_probability numeric default 0.3
);
create index leads_phone_number_idx on leads (phone_number);
create index leads_customer_id_idx on leads (customer_id);

-- seed 000, Priority 3 (columns in the seed's order: its INSERT has no column list).
create table customer_visit_patterns (
    customer_id text primary key references customers (member_id),
    avg_days_between_visits numeric,
    visit_consistency_score numeric,
    predicted_next_visit date,
    last_visit_deviation_days int,
    longest_gap_days int,
    shortest_gap_days int,
    total_visits int,
    updated_at timestamptz default now()
);

-- seed 000, Priority 2, with seed 002's brand and timestamps.
create table customer_product_affinity (
    customer_id text references customers (member_id),
    product_sku text,
    product_name text,
    category text,
    brand text,
    purchase_count int default 0,
    total_spent numeric default 0,
    last_purchased date,
    avg_price_paid numeric default 0,
    repurchase_rate numeric default 0,
    created_at timestamptz default now(),
    updated_at timestamptz default now(),
    primary key (customer_id, product_sku)
);
create index idx_affinity_customer on customer_product_affinity (customer_id);
create index idx_affinity_product on customer_product_affinity (product_sku);

-- ---------------------------------------------------------------------------------------------
-- Triggers "auto-calculated by triggers" (seed 000's four functions, seed 004's rules)
-- ---------------------------------------------------------------------------------------------

create function update_updated_at_column() returns trigger language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end
$$;

create function calculate_lifetime_value() returns trigger language plpgsql as $$
begin
    new.lifetime_value := coalesce(new.gross_sales, 0) - coalesce(new.gross_refunds, 0);
    return new;
end
$$;

create function calculate_vip_status() returns trigger language plpgsql as $$
begin
    new.vip_status := case
        when new.total_visits >= 16 then 'VIP'
        when new.total_visits >= 6 then 'Regular'
        when new.total_visits >= 2 then 'Casual'
        else 'New'
    end;
    return new;
end
$$;

create function calculate_churn_risk() returns trigger language plpgsql as $$
begin
    new.days_since_last_visit := current_date - new.last_visited;
    new.churn_risk := case
        when new.days_since_last_visit is null then null
        when new.days_since_last_visit >= 60 then 'High'
        when new.days_since_last_visit >= 30 then 'Medium'
        else 'Low'
    end;
    return new;
end
$$;

create trigger calculate_lifetime_value before insert or update on customers
for each row execute function calculate_lifetime_value();
create trigger calculate_vip_status before insert or update on customers
for each row execute function calculate_vip_status();
create trigger calculate_churn_risk before insert or update on customers
for each row execute function calculate_churn_risk();
create trigger update_customers_updated_at before update on customers
for each row execute function update_updated_at_column();

-- The customer's totals, recomputed from the customer's whole history: what the seeds' row
-- triggers do for every transaction written.
create function recalculate_customer_totals(p_member_id text) returns void language plpgsql as $$
begin
    update seed_baseline.customers as c
    set total_visits = s.visits,
        total_sales = s.sales,
        total_refunds = s.refunds,
        gross_sales = s.gross_sales,
        gross_refunds = s.gross_refunds,
        avg_sale_value = s.gross_sales / nullif(s.sales, 0),
        date_joined = s.first_visit,
        last_visited = s.last_visit
    from (
        select
            count(distinct t.date::date) as visits,
            count(*) filter (where t.total_amount >= 0) as sales,
            count(*) filter (where t.total_amount < 0) as refunds,
            coalesce(sum(t.total_amount) filter (where t.total_amount >= 0), 0) as gross_sales,
            coalesce(-sum(t.total_amount) filter (where t.total_amount < 0), 0) as gross_refunds,
            min(t.date)::date as first_visit,
            max(t.date)::date as last_visit
        from seed_baseline.transactions as t
        where t.customer_id = p_member_id
    ) as s
    where c.member_id = p_member_id;
end
$$;

create function update_customer_totals() returns trigger language plpgsql as $$
begin
    if tg_op in ('INSERT', 'UPDATE') and new.customer_id is not null then
        perform seed_baseline.recalculate_customer_totals(new.customer_id);
    end if;
    if tg_op in ('UPDATE', 'DELETE') and old.customer_id is not null
        and (tg_op = 'DELETE' or old.customer_id is distinct from new.customer_id) then
        perform seed_baseline.recalculate_customer_totals(old.customer_id);
    end if;
    return null;
end
$$;

create trigger update_customer_totals after insert or update or delete on transactions
for each row execute function update_customer_totals();

-- The seeds' full recompute of every customer's totals (their repair path, and what keeps
-- days_since_last_visit and churn_risk current: those only change when the row is updated).
create function recalculate_all_customers() returns void language plpgsql as $$
declare
    r record;
begin
    for r in select member_id from seed_baseline.customers loop
        perform seed_baseline.recalculate_customer_totals(r.member_id);
    end loop;
end
$$;

-- ---------------------------------------------------------------------------------------------
-- Priority 1 (seed 000): customer_sms_context, as written in the seed
-- ---------------------------------------------------------------------------------------------

CREATE VIEW customer_sms_context AS
SELECT
    c.member_id,
    c.name,
    c.phone,
    c.email,
    c.vip_status,
    c.total_visits,
    c.lifetime_value,
    c.churn_risk,
    c.last_visited,
    c.days_since_last_visit,
    c.avg_sale_value,
    c.loyalty_points,

    -- Top 3 favorite products (subquery)
    (SELECT json_agg(product_data)
     FROM (
         SELECT
             ti.product_name,
             ti.category,
             COUNT(*) as purchase_count
         FROM transactions t
         JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
         WHERE t.customer_id = c.member_id
         GROUP BY ti.product_name, ti.category
         ORDER BY COUNT(*) DESC
         LIMIT 3
     ) product_data
    ) as favorite_products,

    -- Recent purchases (last 3)
    (SELECT json_agg(recent_data)
     FROM (
         SELECT
             ti.product_name,
             ti.category,
             t.date,
             ti.total_price
         FROM transactions t
         JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
         WHERE t.customer_id = c.member_id
         ORDER BY t.date DESC
         LIMIT 3
     ) recent_data
    ) as recent_purchases,

    -- Favorite category
    (SELECT ti.category
     FROM transactions t
     JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
     WHERE t.customer_id = c.member_id
     GROUP BY ti.category
     ORDER BY COUNT(*) DESC
     LIMIT 1
    ) as favorite_category,

    -- Preferred location
    (SELECT shop_location
     FROM transactions
     WHERE customer_id = c.member_id
     GROUP BY shop_location
     ORDER BY COUNT(*) DESC
     LIMIT 1
    ) as preferred_location,

    -- Last purchase date
    (SELECT MAX(date)
     FROM transactions
     WHERE customer_id = c.member_id
    ) as last_purchase_date

FROM customers c;

-- ---------------------------------------------------------------------------------------------
-- Priority 2 (seed 000): the affinity populate, re-run as a full recompute
-- ---------------------------------------------------------------------------------------------

create function populate_product_affinity() returns void language plpgsql as $$
begin
    TRUNCATE seed_baseline.customer_product_affinity;

    INSERT INTO seed_baseline.customer_product_affinity
        (customer_id, product_sku, product_name, category, purchase_count, total_spent,
         last_purchased, avg_price_paid, repurchase_rate)
    SELECT
        t.customer_id,
        ti.product_sku,
        MIN(ti.product_name),
        MIN(ti.category),
        COUNT(*) as purchase_count,
        SUM(ti.total_price) as total_spent,
        MAX(t.date) as last_purchased,
        AVG(ti.unit_price) as avg_price_paid,
        -- Repurchase rate: did they buy it more than once?
        CASE
            WHEN COUNT(*) > 1 THEN 1.0
            ELSE 0.0
        END as repurchase_rate
    FROM seed_baseline.transactions t
    JOIN seed_baseline.transaction_items ti ON t.transaction_id = ti.transaction_id
    WHERE t.customer_id IS NOT NULL
      AND ti.product_sku IS NOT NULL
    GROUP BY t.customer_id, ti.product_sku;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Priority 3 (seed 000): calculate_visit_patterns(), as written in the seed
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION calculate_visit_patterns()
RETURNS void AS $$
BEGIN
    TRUNCATE seed_baseline.customer_visit_patterns;

    INSERT INTO seed_baseline.customer_visit_patterns
    SELECT
        customer_id,
        AVG(days_between)::numeric as avg_days_between_visits,
        -- Consistency: inverse of standard deviation (low stddev = high consistency)
        CASE
            WHEN STDDEV(days_between) IS NULL THEN 0
            WHEN STDDEV(days_between) = 0 THEN 10
            ELSE GREATEST(0, 10 - (STDDEV(days_between) / NULLIF(AVG(days_between), 0)))
        END as visit_consistency_score,
        MAX(date) + (AVG(days_between) * INTERVAL '1 day') as predicted_next_visit,
        EXTRACT(DAY FROM NOW() - MAX(date))::int - AVG(days_between)::int as last_visit_deviation_days,
        MAX(days_between)::int as longest_gap_days,
        MIN(days_between)::int as shortest_gap_days,
        COUNT(*) + 1 as total_visits,
        NOW() as updated_at
    FROM (
        SELECT
            customer_id,
            date,
            EXTRACT(DAY FROM date - LAG(date) OVER (PARTITION BY customer_id ORDER BY date)) as days_between
        FROM seed_baseline.transactions
        WHERE customer_id IS NOT NULL
    ) gaps
    WHERE days_between IS NOT NULL
    GROUP BY customer_id;
END;
$$ LANGUAGE plpgsql;

-- ---------------------------------------------------------------------------------------------
-- Priority 4 (seed 000): win_back_priority_queue, as written in the seed
-- ---------------------------------------------------------------------------------------------

CREATE MATERIALIZED VIEW win_back_priority_queue AS
SELECT
    c.member_id as customer_id,
    c.phone,
    c.name,
    c.email,
    c.days_since_last_visit,
    c.lifetime_value,
    c.total_visits,
    c.churn_risk,
    c.vip_status,

    -- Calculate win-back score
    (
        (c.lifetime_value * 0.3) +
        (c.total_visits * 10 * 0.2) +
        ((100.0 / GREATEST(c.days_since_last_visit, 1)) * 0.3) +
        (c.loyalty_points * 0.2)
    )::numeric(10,2) as win_back_score,

    -- Get favorite category for targeted offer
    (SELECT ti.category
     FROM transactions t
     JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
     WHERE t.customer_id = c.member_id
     GROUP BY ti.category
     ORDER BY COUNT(*) DESC
     LIMIT 1
    ) as favorite_category,

    -- Recommended offer based on category
    CASE
        WHEN (SELECT ti.category
              FROM transactions t
              JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
              WHERE t.customer_id = c.member_id
              GROUP BY ti.category
              ORDER BY COUNT(*) DESC
              LIMIT 1) = 'Vapes' THEN '20% off all vapes'
        WHEN (SELECT ti.category
              FROM transactions t
              JOIN transaction_items ti ON t.transaction_id = ti.transaction_id
              WHERE t.customer_id = c.member_id
              GROUP BY ti.category
              ORDER BY COUNT(*) DESC
              LIMIT 1) = 'Edibles' THEN 'Buy 2 get 1 free edibles'
        ELSE '$10 off next purchase'
    END as recommended_offer

FROM customers c
WHERE c.churn_risk IN ('High', 'Medium')
  AND c.days_since_last_visit > 30
  AND c.phone IS NOT NULL
ORDER BY (
    (c.lifetime_value * 0.3) +
    (c.total_visits * 10 * 0.2) +
    ((100.0 / GREATEST(c.days_since_last_visit, 1)) * 0.3) +
    (c.loyalty_points * 0.2)
) DESC;

-- Refresh daily
CREATE INDEX ON win_back_priority_queue(customer_id);

-- ---------------------------------------------------------------------------------------------
-- The seeds' recomputes, as the benchmark calls them
-- ---------------------------------------------------------------------------------------------

-- Everything derived, from scratch: customer totals (and with them LTV, tier, churn), affinity,
-- visit patterns, win-back queue.
create function full_recompute() returns void language plpgsql as $$
begin
    perform seed_baseline.recalculate_all_customers();
    perform seed_baseline.populate_product_affinity();
    perform seed_baseline.calculate_visit_patterns();
    refresh materialized view seed_baseline.win_back_priority_queue;
end
$$;

-- The seeds' daily job: their visit patterns and win-back refresh (seed 000, "Set up daily
-- refresh job"), and every customer rewritten so the row triggers recompute the clock-dependent
-- days_since_last_visit and churn_risk.
create function nightly_refresh() returns void language plpgsql as $$
begin
    update seed_baseline.customers set days_since_last_visit = days_since_last_visit;
    perform seed_baseline.calculate_visit_patterns();
    refresh materialized view seed_baseline.win_back_priority_queue;
end
$$;

-- The seeds' way to bring affinity, visit patterns and the win-back queue up to date after
-- new sales (their totals are already current, kept by the row triggers).
create function derived_recompute() returns void language plpgsql as $$
begin
    perform seed_baseline.populate_product_affinity();
    perform seed_baseline.calculate_visit_patterns();
    refresh materialized view seed_baseline.win_back_priority_queue;
end
$$;

reset search_path;
