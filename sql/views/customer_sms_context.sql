-- What the AI needs about a customer, one row per customer, computed against the store's today:
-- identity, tier, churn, RFM, value, visits and rhythm, loyalty points, top 3 products, last 3
-- purchases, favourite category, preferred location and budtender, opt-out state and open lead.
-- n8n reads it by phone (PostgREST: /rest/v1/customer_sms_context?phone=eq.+1...) or through
-- public.get_customer_insights, which picks one customer when several share a phone.
-- A plain view (owner's rights) because it reads conductor relations (scores, opt-outs, open
-- leads), which service_role cannot; anon and authenticated cannot select it (sql/lib/grants.sql).
-- It calls no conductor function: functions in a view run with the reader's privileges.
-- The history-dependent columns (favourite products and category, recent purchases, preferred
-- location and budtender, last purchase) come from conductor.customer_context when its row is
-- current and are computed live below otherwise; conductor.refresh_customer_context fills that
-- table from these same live expressions. A change to them must bump the customer_context
-- revision in conductor.converge_derived_formulas so stored rows are rebuilt.
-- Reads: customers, conductor.customer_scores, customer_visit_patterns, customer_product_affinity,
-- products, transactions, transaction_items, leads, conductor.opt_outs, customer_lifetime_value,
-- conductor.customer_context.

-- Products of each customer ranked by purchases: purchase_count, then total_spent, then the
-- latest purchase, then sku (a total order, so ties always break the same way). Names fall back
-- to the catalogue when the sale lines carried none.
create view conductor.ranked_product_affinity as
select
    a.customer_id,
    row_number() over (
        partition by a.customer_id
        order by a.purchase_count desc, a.total_spent desc, a.last_purchased desc, a.product_sku asc
    ) as product_rank,
    a.product_sku,
    coalesce(a.product_name, p.name) as product_name,
    coalesce(a.brand, p.brand) as brand,
    coalesce(a.category, p.category) as category,
    a.purchase_count,
    a.units_purchased,
    a.total_spent,
    a.first_purchased,
    a.last_purchased,
    a.avg_price_paid,
    a.avg_unit_price_weighted,
    a.repurchase_rate,
    -- of the customer's visits after the first purchase, the share with this product again
    case
        when c.total_visits > a.first_visit_number
            then round((a.purchase_days - 1)::numeric / (c.total_visits - a.first_visit_number), 4)
    end as repurchase_share
from public.customer_product_affinity as a
inner join public.customers as c on a.customer_id = c.member_id
left join public.products as p on a.product_sku = p.sku;
comment on view conductor.ranked_product_affinity is
'customer_product_affinity with product_rank per customer (purchase_count desc, total_spent desc, '
'last_purchased desc, sku), catalogue fallbacks for name, brand and category, and repurchase_share '
'(package extension: of the customer''s visits after the first purchase of the product, the share in which '
'they bought it again, 0-1 to 4 decimals; null until they visited again).';

-- Leads still in play (not converted or lost), each with the object the API returns for it.
create view conductor.open_leads as
select
    l.id,
    l.phone_number,
    l.customer_id,
    l.updated_at,
    jsonb_build_object(
        'id', l.id,
        'lead_status', l.lead_status,
        'conversation_stage', l.conversation_stage,
        'last_message', l.last_message,
        'last_message_at', l.last_message_at,
        'source', l.source,
        'conversion_probability', l.conversion_probability,
        'created_at', l.created_at
    ) as lead
from public.leads as l
where l.lead_status not in ('converted', 'lost');
comment on view conductor.open_leads is
'Leads that are not converted or lost, with the jsonb object the API returns for each (lead).';

-- The columns of public.customer_sms_context that do not walk the customer's history: identity,
-- totals, tier, churn and RFM as of today, visit rhythm, lifetime value, opt-out state, open lead.
-- public.customer_sms_context adds the history-dependent ones after them.
create view conductor.customer_sms_context_core as
select
    c.member_id,
    c.name,
    c.phone,
    c.email,
    c.customer_type,
    c.member_group,
    c.loyalty_points,
    c.vip_status,
    c.churn_risk,
    c.days_since_last_visit,
    c.rfm_recency,
    c.rfm_frequency,
    c.rfm_monetary,
    c.lead_score,
    c.lead_segment,
    c.total_visits,
    c.total_sales,
    c.total_refunds,
    c.gross_sales,
    c.gross_refunds,
    c.avg_sale_value,
    c.lifetime_value,
    c.date_joined,
    c.first_visited,
    c.last_visited,
    vp.avg_days_between_visits,
    vp.visit_consistency_score,
    vp.visit_regularity_score,
    vp.predicted_next_visit,
    vp.predicted_next_visit_rounded,
    -- seed 000's last_visit_deviation_days as of today
    c.as_of_date - vp.predicted_next_visit_rounded as days_late,
    c.last_visited as last_purchase_date,
    exists(
        select from conductor.opt_outs as o
        where o.phone_number = c.phone
    ) as opted_out,
    (
        select o.opted_out_at from conductor.opt_outs as o
        where o.phone_number = c.phone
    ) as opted_out_at,
    (
        select
            jsonb_build_object(
                'flagged_at', r.flagged_at, 'message_id', r.source_message_id, 'matched_phrase', r.matched_phrase,
                'marketing_suspended', true
            )
        from conductor.opt_out_reviews as r
        where r.phone_number = c.phone and r.resolved_at is null
    ) as opt_out_review,
    (
        select ol.lead
        from conductor.open_leads as ol
        where ol.phone_number = c.phone or ol.customer_id = c.member_id
        order by ol.updated_at desc, ol.id desc
        limit 1
    ) as open_lead,
    case
        when c.phone is not null
            then (
                select count(*)::integer from public.customers as c2
                where c2.phone = c.phone
            )
    end as customers_sharing_phone,
    c.as_of_date,
    -- Lifetime value (BG/NBD and Gamma-Gamma, public.customer_lifetime_value), as of the last fit.
    lv.p_alive,
    lv.expected_visits_30d,
    lv.expected_visits_90d,
    lv.expected_spend_per_visit,
    lv.expected_value_12m,
    lv.as_of_date as lifetime_value_as_of
-- One scan of customers (through the scores view), so a filter on phone or member_id reaches it.
from conductor.customer_scores as c
left join public.customer_visit_patterns as vp on c.member_id = vp.customer_id
left join public.customer_lifetime_value as lv on c.member_id = lv.customer_id;
comment on view conductor.customer_sms_context_core is
'public.customer_sms_context without its history-dependent columns (favorite_products, recent_purchases, '
'favorite_category, preferred_location, preferred_budtender, last_purchase_at), which follow its columns there.';

create view public.customer_sms_context as
select
    c.*,
    -- Arrays in their subquery's order (to_jsonb(array((...))), [] when empty; the inner parentheses
    -- keep the linter's parser on track) rather than ordered aggregates: the rows already come in
    -- that order from the indexes, so nothing is sorted twice. The catalogue is read only for lines
    -- that lack a name, brand or category (coalesce evaluates the lookup only for a null).
    -- favorite_products: the top 3 by the order of conductor.ranked_product_affinity, taken from
    -- the customer's affinity rows before any catalogue lookup (a long history looks up 3 at most).
    case
        when cx.customer_id is not null then cx.favorite_products
        else
            to_jsonb(array(
                (
                    select
                        jsonb_build_object(
                            'product_sku', a.product_sku,
                            'product_name', coalesce(
                                a.product_name, (
                                    select p.name from public.products as p
                                    where p.sku = a.product_sku
                                )
                            ),
                            'brand', coalesce(
                                a.brand, (
                                    select p.brand from public.products as p
                                    where p.sku = a.product_sku
                                )
                            ),
                            'category', coalesce(
                                a.category, (
                                    select p.category from public.products as p
                                    where p.sku = a.product_sku
                                )
                            ),
                            'purchase_count', a.purchase_count,
                            'total_spent', a.total_spent,
                            'last_purchased', a.last_purchased,
                            'repurchase_rate', a.repurchase_rate,
                            'repurchase_share', a.repurchase_share
                        )
                    from (
                        select
                            a3.product_sku,
                            a3.product_name,
                            a3.brand,
                            a3.category,
                            a3.purchase_count,
                            a3.total_spent,
                            a3.last_purchased,
                            a3.repurchase_rate,
                            case
                                when c.total_visits > a3.first_visit_number
                                    then round(
                                        (a3.purchase_days - 1)::numeric / (c.total_visits - a3.first_visit_number), 4
                                    )
                            end as repurchase_share
                        from public.customer_product_affinity as a3
                        where a3.customer_id = c.member_id
                        order by a3.purchase_count desc, a3.total_spent desc, a3.last_purchased desc, a3.product_sku asc
                        limit 3
                    ) as a
                    order by a.purchase_count desc, a.total_spent desc, a.last_purchased desc, a.product_sku asc
                )
            ))
    end as favorite_products,
    case
        when cx.customer_id is not null then cx.recent_purchases
        else
            to_jsonb(array(
                (
                    select
                        jsonb_build_object(
                            'transaction_id', t.transaction_id,
                            'purchased_at', t.date,
                            'purchase_date', (
                                t.date at time zone (
                                    select z.value #>> '{}' from conductor.settings as z
                                    where z.key = 'store_time_zone'
                                )
                            )::date,
                            'shop_location', t.shop_location,
                            'staff_name', t.staff_name,
                            'total_amount', t.total_amount,
                            'items', to_jsonb(array(
                                select
                                    jsonb_build_object(
                                        'product_sku', i.product_sku,
                                        'product_name', coalesce(
                                            i.product_name,
                                            (
                                                select p.name from public.products as p
                                                where p.sku = i.product_sku
                                            )
                                        ),
                                        'category', coalesce(
                                            i.category,
                                            (
                                                select p.category from public.products as p
                                                where p.sku = i.product_sku
                                            )
                                        ),
                                        'quantity', i.quantity,
                                        'total_price', i.total_price
                                    )
                                from public.transaction_items as i
                                where i.transaction_id = t.transaction_id
                                order by i.line_number
                            ))
                        )
                    from public.transactions as t
                    where t.customer_id = c.member_id and t.status = 'completed' and t.transaction_type = 'sale'
                    order by t.date desc, t.transaction_id desc
                    limit 3
                )
            ))
    end as recent_purchases,
    case
        when cx.customer_id is not null then cx.favorite_category
        else
            (
                -- Categories as conductor.ranked_product_affinity gives them (the catalogue's only when the
                -- sale lines carried none): the catalogue is read for those rows alone.
                select f.category
                from (
                    select
                        coalesce(
                            a.category,
                            (
                                select p.category from public.products as p
                                where p.sku = a.product_sku
                            )
                        ) as category,
                        a.purchase_count,
                        a.total_spent
                    from public.customer_product_affinity as a
                    where a.customer_id = c.member_id
                ) as f
                where f.category is not null
                group by f.category
                order by sum(f.purchase_count) desc, sum(f.total_spent) desc, f.category
                limit 1
            )
    end as favorite_category,
    case
        when cx.customer_id is not null then cx.preferred_location
        else
            (
                select t.shop_location
                from public.transactions as t
                where
                    t.customer_id = c.member_id
                    and t.status = 'completed'
                    and t.transaction_type = 'sale'
                    and t.shop_location is not null
                group by t.shop_location
                order by count(*) desc, max(t.date) desc, t.shop_location
                limit 1
            )
    end as preferred_location,
    case
        when cx.customer_id is not null then cx.preferred_budtender
        else
            (
                select t.staff_name
                from public.transactions as t
                where
                    t.customer_id = c.member_id
                    and t.status = 'completed'
                    and t.transaction_type = 'sale'
                    and btrim(t.staff_name) <> ''
                group by t.staff_name
                order by count(*) desc, max(t.date) desc, t.staff_name
                limit 1
            )
    end as preferred_budtender,
    case
        when cx.customer_id is not null then cx.last_purchase_at
        else
            (
                select max(t.date)
                from public.transactions as t
                where t.customer_id = c.member_id and t.status = 'completed' and t.transaction_type = 'sale'
            )
    end as last_purchase_at
-- The core's one scan of customers, so a filter on phone or member_id reaches it.
from conductor.customer_sms_context_core as c
-- The history-dependent columns ready-made when current (conductor.customer_context), live otherwise.
left join conductor.customer_context as cx on c.member_id = cx.customer_id and cx.built_version = cx.version;

comment on view public.customer_sms_context is
'Everything the AI needs about one customer, one row per customer, computed against the store''s today '
'(days_since_last_visit, churn_risk, RFM, lead score and days_late are never stale). Read it by phone or '
'member_id; get_customer_insights(phone_number) returns the same as one jsonb.';
comment on column public.customer_sms_context.vip_status is 'New, Casual, Regular or VIP (conductor.vip_tiers).';
comment on column public.customer_sms_context.churn_risk is 'Low, Medium or High as of today; null without visits.';
comment on column public.customer_sms_context.days_since_last_visit is 'Days from the last visit to today.';
comment on column public.customer_sms_context.lead_score is '3R + 2F + M as of today (6-30).';
comment on column public.customer_sms_context.lead_segment is 'hot, warm, cool or cold as of today.';
comment on column public.customer_sms_context.days_late is
'Today - predicted_next_visit_rounded = days since the last visit - AVG(gap)::int, seed 000''s '
'last_visit_deviation_days as of today: positive means late against their own rhythm; null with fewer than '
'2 visits.';
comment on column public.customer_sms_context.visit_consistency_score is
'Seed 000''s consistency score (customer_visit_patterns): 0 with one gap, else 10 - STDDEV/AVG of the gaps.';
comment on column public.customer_sms_context.visit_regularity_score is
'Extension: 10 x (1 - population CV of the gaps), 0-10; null with fewer than 2 gaps.';
comment on column public.customer_sms_context.predicted_next_visit is
'Seed 000: last visit + the mean gap, the fraction of a day truncated.';
comment on column public.customer_sms_context.predicted_next_visit_rounded is
'Extension: last visit + the mean gap rounded to whole days.';
comment on column public.customer_sms_context.favorite_products is
'Top 3 products: [{product_sku, product_name, brand, category, purchase_count, total_spent, last_purchased, '
'repurchase_rate (seed 000: 1.0 if bought more than once, else 0.0), repurchase_share (extension: share of '
'later visits with it again)}], most purchased first.';
comment on column public.customer_sms_context.recent_purchases is
'Last 3 completed sales, newest first: [{transaction_id, purchased_at, purchase_date, shop_location, '
'staff_name, total_amount, items: [{product_sku, product_name, category, quantity, total_price}]}].';
comment on column public.customer_sms_context.favorite_category is
'Category with the most product purchases (ties: more spent, then name).';
comment on column public.customer_sms_context.preferred_location is
'shop_location of most completed sales (ties: most recent, then name).';
comment on column public.customer_sms_context.preferred_budtender is
'staff_name on most completed sales (ties: most recent, then name).';
comment on column public.customer_sms_context.last_purchase_date is 'Local date of the latest completed sale.';
comment on column public.customer_sms_context.last_purchase_at is 'Time of the latest completed sale.';
comment on column public.customer_sms_context.opted_out is 'The phone is in conductor.opt_outs: send nothing.';
comment on column public.customer_sms_context.opted_out_at is 'When the phone opted out.';
comment on column public.customer_sms_context.opt_out_review is
'A text from the phone that may revoke consent, waiting for a person: {flagged_at, message_id, '
'matched_phrase, marketing_suspended: true}; no marketing until resolve_opt_out_review closes it. Null '
'when none is open.';
comment on column public.customer_sms_context.open_lead is
'Latest lead with this phone or member that is not converted or lost: {id, lead_status, conversation_stage, '
'last_message, last_message_at, source, conversion_probability, created_at}; null if none.';
comment on column public.customer_sms_context.customers_sharing_phone is
'How many customers have this phone (1 when it is theirs alone); null without a phone.';
comment on column public.customer_sms_context.as_of_date is 'The store''s today these values were computed for.';
comment on column public.customer_sms_context.p_alive is
'BG/NBD probability that the customer still visits, as of lifetime_value_as_of (1 for one-visit customers '
'by the model''s construction; docs/lifetime-value.md). Null until the first fit.';
comment on column public.customer_sms_context.expected_visits_30d is 'BG/NBD expected visits in the next 30 days.';
comment on column public.customer_sms_context.expected_visits_90d is 'BG/NBD expected visits in the next 90 days.';
comment on column public.customer_sms_context.expected_spend_per_visit is
'Gamma-Gamma expected spend per future visit (the customer''s mean shrunk towards the population mean).';
comment on column public.customer_sms_context.expected_value_12m is
'Expected gross sales in the next 12 months (expected visits x expected spend per visit), undiscounted.';
comment on column public.customer_sms_context.lifetime_value_as_of is
'The store date of the fit the lifetime-value columns come from (refitted nightly; null before the first fit).';
