-- A text that a reasonable person may read as "stop texting me" without the rule's words ("no more
-- texts", "no más", "leave me alone") suspends marketing to the number and flags it for a person:
-- queued marketing is cancelled, new marketing and campaign rows are refused with the reason,
-- replies still go; the flag shows in get_customer_insights (opt_out_review) and the activity
-- timeline. resolve_opt_out_review closes it: not a revocation (marketing resumes) or a revocation
-- (opted out, no late confirmation).
begin;
select plan(19);

insert into public.customers (member_id, phone) values ('M-RV-1', '+16195552201');
select public.queue_sms('+16195552201', 'flash sale', 'marketing') as promo \gset
select public.queue_sms('+16195552201', 'your order is ready') as reply \gset

insert into public.messages (phone_number, content, direction) values
('+16195552201', 'no more texts', 'inbound')
returning id as flagged \gset

select results_eq(
    $$select phone_number, matched_phrase, resolved_at from conductor.opt_out_reviews$$,
    $$values ('+16195552201'::text, 'no more texts'::text, null::timestamptz)$$,
    'the number is flagged for review with the phrase'
);
select is((select count(*)::integer from conductor.opt_outs), 0, 'it is not opted out');
select results_eq(
    format($$select id, status from public.messages where id in (%s, %s) order by id$$, :promo, :reply),
    format($$values (%s::bigint, 'cancelled'::text), (%s::bigint, 'queued'::text)$$, :promo, :reply),
    'queued marketing is cancelled, the reply stays queued'
);
select is(
    (
        select status from public.messages
        where id = :flagged
    ), 'unread', 'the flagged text stays unread for a person'
);
select is(
    (
        select count(*)::integer from public.messages
        where phone_number = '+16195552201' and message_kind = 'system'
    ), 0, 'no text is sent for a flag'
);
select throws_like(
    $$select public.queue_sms('+16195552201', 'another sale', 'marketing')$$,
    'marketing suspended: phone_number +16195552201 sent a text that may revoke consent%',
    'new marketing is refused with the reason'
);
select throws_like(
    format($$select public.queue_sms('+16195552201', 'deal for you', 'marketing', %s)$$, :flagged),
    'marketing suspended:%',
    'a marketing reply too'
);
select lives_ok(
    format($$select public.queue_sms('+16195552201', 'sorry, a person will read this', 'reply', %s)$$, :flagged),
    'a conversation reply is still possible'
);
insert into public.scheduled_messages (id, customer_id, phone_number, message_content, scheduled_send_time, campaign_name)
values (8801, 'M-RV-1', '+16195552201', 'We miss you', now() - interval '1 minute', 'winter');
select conductor.dispatch_campaigns();
select results_eq(
    $$select status, error_message like 'marketing suspended:%' from public.scheduled_messages where id = 8801$$,
    $$values ('skipped'::text, true)$$,
    'a campaign row is skipped with the reason'
);
select is(
    public.get_customer_insights('+16195552201') #>> '{opt_out_review,matched_phrase}', 'no more texts',
    'get_customer_insights shows the flag under opt_out_review'
);
select is(
    public.get_customer_insights('+16195552299')::jsonb -> 'opt_out_review', 'null'::jsonb,
    'and null for a number without one'
);
select is(
    (
        select a -> 'metadata' ->> 'marketing_suspended'
        from jsonb_array_elements(public.get_customer_timeline('+16195552201') -> 'activities') as a
        where a ->> 'activity_type' = 'sms_opt_out_review'
    ), 'true', 'the activity timeline shows the flag'
);

-- A person decides: not a revocation.
select is(
    public.resolve_opt_out_review('(619) 555-2201', false, 'store manager'), 'not_revocation',
    'a person closes the review'
);
select lives_ok(
    $$select public.queue_sms('+16195552201', 'another sale', 'marketing')$$, 'marketing resumes'
);
select is(
    public.get_customer_insights('+16195552201')::jsonb -> 'opt_out_review', 'null'::jsonb,
    'the flag is gone from the insights'
);
select throws_ok(
    $$select public.resolve_opt_out_review('+16195552201', true)$$, 'P0002',
    'no open opt-out review: phone_number +16195552201 has no text waiting for review',
    'closing a review that is not open is an error'
);

-- Another number: a revocation after all.
insert into public.messages (phone_number, content, direction) values ('+16195552202', 'no más', 'inbound');
select is(public.resolve_opt_out_review('+16195552202', true, 'store manager'), 'opted_out', 'a revocation after all');
select results_eq(
    $$select o.keyword, (select count(*)::integer from public.messages as m
      where m.phone_number = o.phone_number and m.direction = 'outbound')
      from conductor.opt_outs as o where o.phone_number = '+16195552202'$$,
    $$values ('no mas'::text, 0)$$,
    'the number is opted out, with no late confirmation'
);
select throws_ok(
    $$select public.resolve_opt_out_review('+16195552201', null)$$, '22023',
    'is_revocation is required: true opts the number out, false resumes marketing',
    'is_revocation is required'
);

select * from finish();
rollback;
