-- RPC for the inbound-SMS responder: everything the AI needs about the sender in one call.
-- Several customers may share a phone: conductor.customer_for_phone picks the most recent visitor
-- (the rule leads and messages use) and customers_sharing_phone says how many there are.
-- The answer is kept ready per customer as JSON text (conductor.customer_context.insights) and
-- returned as stored with one lookup while current for the store's today; otherwise it is computed
-- from customer_sms_context. It is json rather than jsonb so that the ready answer is not rendered
-- again at every call; the live answers are built as jsonb and rendered the same way.
-- Reads: conductor.phone_owners, conductor.customer_context, customer_sms_context, conductor.opt_outs,
-- conductor.opt_out_reviews, conductor.open_leads.
create function public.get_customer_insights(phone_number text)
returns json
stable
security definer
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_phone text;
    v_member_id text;
    v_context json;
begin
    -- The ready answer: current (no write since it was built) and of the store's today. Stored
    -- phones are in E.164, so an argument equal to one is already normalized; any other form is
    -- checked and normalized below and looked up again.
    select x.insights into v_context
    from conductor.phone_owners as o
    inner join conductor.customer_context as x on o.member_id = x.customer_id
    where o.phone = get_customer_insights.phone_number and x.built_version = x.version
        and x.insights_valid_until > now();
    if found then
        return v_context;
    end if;

    v_phone := conductor.phone_argument(get_customer_insights.phone_number, 'phone_number');
    if v_phone is distinct from get_customer_insights.phone_number then
        select x.insights into v_context
        from conductor.phone_owners as o
        inner join conductor.customer_context as x on o.member_id = x.customer_id
        where o.phone = v_phone and x.built_version = x.version and x.insights_valid_until > now();
        if found then
            return v_context;
        end if;
    end if;

    v_member_id := conductor.customer_for_phone(v_phone);
    if v_member_id is null then
        -- No customer: still say whether the number may be texted and what lead it has.
        return jsonb_build_object(
            'found', false,
            'phone_number', v_phone,
            'customers_sharing_phone', 0,
            'opted_out', exists (select from conductor.opt_outs as o where o.phone_number = v_phone),
            'opted_out_at', (select o.opted_out_at from conductor.opt_outs as o where o.phone_number = v_phone),
            'opt_out_review', (
                select jsonb_build_object(
                    'flagged_at', r.flagged_at, 'message_id', r.source_message_id, 'matched_phrase', r.matched_phrase,
                    'marketing_suspended', true
                )
                from conductor.opt_out_reviews as r
                where r.phone_number = v_phone and r.resolved_at is null
            ),
            'open_lead', (
                select ol.lead from conductor.open_leads as ol
                where ol.phone_number = v_phone
                order by ol.updated_at desc, ol.id desc
                limit 1
            )
        )::json;
    end if;

    -- Not built yet (a write in the last minute, or the day turned): computed live by the view.
    select (jsonb_build_object('found', true, 'phone_number', v_phone) || to_jsonb(v))::json into v_context
    from public.customer_sms_context as v
    where v.member_id = v_member_id;
    return v_context;
end
$$;
comment on function public.get_customer_insights(text) is
'Everything the AI needs about the customer with this phone, as one JSON object (type json: cast to jsonb '
'for jsonb operators): found = true plus every column '
'of customer_sms_context (identity, tier, churn, RFM, LTV, visits and rhythm, loyalty points, '
'favorite_products, recent_purchases, favorite_category, preferred_location and preferred_budtender, '
'last purchase, opted_out, opt_out_review, open_lead, customers_sharing_phone, and the lifetime-value model''s '
'p_alive, expected_visits_30d, expected_visits_90d, expected_spend_per_visit, expected_value_12m and '
'lifetime_value_as_of). When several customers share the phone, '
'the one with the most recent visit. Unknown phone: {"found": false, phone_number, customers_sharing_phone: '
'0, opted_out, opted_out_at, opt_out_review, open_lead}. opt_out_review: a text that may revoke consent '
'waiting for a person (marketing suspended), or null. Missing or malformed phone_number: SQLSTATE 22023.';
