-- The one definition of a customer activity: public.customer_activity_timeline materializes
-- conductor.activity_timeline_rows(null, null, null), and public.get_customer_timeline reads the
-- rows written since the last refresh from it with a customer and a phone number, so the stored
-- and the live rows are built by the same code. Sources, one row each:
-- - transactions of a member (walk-ins have no timeline): purchase or refund, voided ones too
--   (metadata.status says so), with their line items in metadata;
-- - messages, both directions: sms_inbound / sms_outbound with status, kind and content;
-- - conductor.lead_events: lead_created, lead_linked, lead_unlinked, lead_status_changed;
-- - conductor.opt_out_reviews: sms_opt_out_review, a text that may revoke consent (marketing
--   suspended while open), with its resolution once a person closed it.
-- Keys: customer_id is the member (transactions.customer_id; for messages messages.customer_id,
-- else the customer who has that phone now; for lead events the lead's customer); phone_number
-- is the other party's number for messages and lead events (null for transactions). A number
-- with no customer has rows with customer_id null, found by phone_number.
-- recorded_at is when the source row was last written (transactions.updated_at,
-- messages.updated_at, leads.updated_at for lead events): get_customer_timeline compares it with
-- the stored rows to take what changed since the refresh from here.
-- Reads: transactions, transaction_items, messages, customers, leads, conductor.lead_events,
-- conductor.opt_out_reviews.

create function conductor.activity_timeline_rows(
    p_customer_id text,
    p_phone_number text,
    p_since timestamptz
)
returns table (
    customer_id text,
    phone_number text,
    activity_type text,
    occurred_at timestamptz,
    source_table text,
    source_id bigint,
    summary text,
    metadata jsonb,
    recorded_at timestamptz
)
stable
security invoker
set search_path = pg_catalog, pg_temp
-- The filters below fold away with constant parameters (every row, or one customer's rows
-- through their indexes); a generic plan could not use the indexes.
set plan_cache_mode = force_custom_plan
language plpgsql
as $$
#variable_conflict use_column
declare
    v_all boolean := p_customer_id is null and p_phone_number is null;
begin
    return query
    select
        t.customer_id,
        null::text,
        case t.transaction_type when 'refund' then 'refund' else 'purchase' end,
        t.date,
        'transactions'::text,
        t.id,
        concat_ws(
            ' ',
            case
                when t.status = 'voided' then 'Voided ' || case t.transaction_type when 'refund' then 'refund' else 'purchase' end
                when t.transaction_type = 'refund' then 'Refund'
                else 'Purchase'
            end,
            '$' || to_char(abs(t.total_amount), 'FM999999999990.00'),
            case
                when li.units is not null then
                    format(
                        '(%s %s: %s%s)',
                        li.units,
                        case when li.units = 1 then 'item' else 'items' end,
                        array_to_string(li.names[1:3], ', '),
                        case when li.lines > 3 then format(' and %s more', li.lines - 3) else '' end
                    )
            end,
            'at ' || t.shop_location,
            'with ' || t.staff_name
        ),
        jsonb_strip_nulls(jsonb_build_object(
            'transaction_id', t.transaction_id,
            'type', t.transaction_type,
            'status', t.status,
            'amount', t.total_amount,
            'tax', t.total_tax,
            'discounts', t.discounts,
            'items_count', coalesce(li.units, 0),
            'lines_count', coalesce(li.lines, 0),
            'location', t.shop_location,
            'staff', t.staff_name,
            'payment_type', t.payment_type,
            'refunded_transaction_id', t.refunded_transaction_id,
            'loyalty_points_earned', nullif(t.loyalty_points_earned, 0),
            'loyalty_points_spent', nullif(t.loyalty_points_spent, 0),
            'items', li.items
        )),
        t.updated_at
    from public.transactions as t
    left join lateral (
        select
            count(*)::integer as lines,
            sum(i.quantity)::integer as units,
            array_agg(coalesce(i.product_name, i.product_sku, 'item') order by i.line_number) as names,
            jsonb_agg(
                jsonb_strip_nulls(jsonb_build_object(
                    'product_name', i.product_name,
                    'sku', i.product_sku,
                    'brand', i.brand,
                    'category', i.category,
                    'quantity', i.quantity,
                    'unit_price', i.unit_price,
                    'total_price', i.total_price
                ))
                order by i.line_number
            ) as items
        from public.transaction_items as i
        where i.transaction_id = t.transaction_id
        having count(*) > 0
    ) as li on true
    where
        t.customer_id is not null
        and (v_all or t.customer_id = p_customer_id)
        and (p_since is null or t.updated_at >= p_since);

    return query
    select
        coalesce(m.customer_id, o.member_id),
        m.phone_number,
        case m.direction when 'inbound' then 'sms_inbound' else 'sms_outbound' end,
        case when m.direction = 'outbound' then coalesce(m.sent_at, m.timestamp) else m.timestamp end,
        'messages'::text,
        m.id,
        case m.direction
            when 'inbound' then 'Texted us: '
            else format('We texted (%s, %s): ', m.message_kind, m.status)
        end
        || case when length(m.content) > 160 then left(m.content, 157) || '...' else m.content end,
        jsonb_strip_nulls(jsonb_build_object(
            'message_id', m.id,
            'direction', m.direction,
            'status', m.status,
            'kind', m.message_kind,
            'content', m.content,
            'in_reply_to', m.in_reply_to,
            'sent_at', m.sent_at,
            'read_at', m.read_at,
            'parts', m.parts,
            'error_code', m.error_code
        )),
        m.updated_at
    from public.messages as m
    left join lateral (
        select c.member_id
        from public.customers as c
        where m.customer_id is null and c.phone = m.phone_number
        order by c.last_visited desc nulls last, c.id desc
        limit 1
    ) as o on true
    where
        (v_all or m.phone_number = p_phone_number or m.customer_id = p_customer_id)
        and (p_since is null or m.updated_at >= p_since);

    return query
    select
        coalesce(sm.customer_id, o.member_id),
        r.phone_number,
        'sms_opt_out_review'::text,
        r.flagged_at,
        'opt_out_reviews'::text,
        r.id,
        case
            when r.resolved_at is null then
                format('Possible opt-out ("%s"): marketing suspended until a person reviews it', r.matched_phrase)
            when r.resolution = 'not_revocation' then
                format('Possible opt-out ("%s") reviewed: not a revocation, marketing resumed', r.matched_phrase)
            else format('Possible opt-out ("%s") closed: %s', r.matched_phrase, replace(r.resolution, '_', ' '))
        end,
        jsonb_strip_nulls(jsonb_build_object(
            'review_id', r.id,
            'message_id', r.source_message_id,
            'matched_phrase', r.matched_phrase,
            'open', r.resolved_at is null,
            'marketing_suspended', r.resolved_at is null,
            'resolved_at', r.resolved_at,
            'resolution', r.resolution,
            'resolved_by', r.resolved_by
        )),
        r.updated_at
    from conductor.opt_out_reviews as r
    left join public.messages as sm on sm.id = r.source_message_id
    left join lateral (
        select c.member_id
        from public.customers as c
        where sm.customer_id is null and c.phone = r.phone_number
        order by c.last_visited desc nulls last, c.id desc
        limit 1
    ) as o on true
    where
        (v_all or r.phone_number = p_phone_number or sm.customer_id = p_customer_id)
        and (p_since is null or r.updated_at >= p_since);

    return query
    select
        l.customer_id,
        l.phone_number,
        'lead_' || e.event,
        e.occurred_at,
        'lead_events'::text,
        e.id,
        case e.event
            when 'created' then format('Became a lead (%s, status %s)', coalesce(l.source, 'unknown source'), e.new_status)
            when 'linked' then
                case
                    when e.previous_customer_id is null then format('Lead linked to customer %s', e.customer_id)
                    else format('Lead moved from customer %s to customer %s', e.previous_customer_id, e.customer_id)
                end
            when 'unlinked' then format('Lead no longer linked to customer %s', e.customer_id)
            else format('Lead status changed from %s to %s', e.old_status, e.new_status)
        end,
        jsonb_strip_nulls(jsonb_build_object(
            'lead_id', l.id,
            'event', e.event,
            'customer_id', e.customer_id,
            'previous_customer_id', e.previous_customer_id,
            'old_status', e.old_status,
            'new_status', e.new_status,
            'conversion_probability', e.conversion_probability,
            'source', case when e.event = 'created' then l.source end
        )),
        l.updated_at
    from public.leads as l
    inner join conductor.lead_events as e on e.lead_id = l.id
    where
        (v_all or l.phone_number = p_phone_number or l.customer_id = p_customer_id)
        and (p_since is null or l.updated_at >= p_since);
end
$$;
comment on function conductor.activity_timeline_rows(text, text, timestamptz) is
'Activity rows (purchases, refunds, SMS both ways, lead events, possible opt-outs under review) built from the base tables: all of them '
'when p_customer_id and p_phone_number are null, else those of that customer or that phone number; with '
'p_since, only rows whose source was written at or after it. Materialized as '
'public.customer_activity_timeline.';
