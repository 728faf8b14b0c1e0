-- Golden test of the attribution reports on a hand-made history (store time zone UTC, window 7
-- days unless given). Campaign spring/b1 went out on Monday 2025-03-03 10:00: A and B were
-- texted (sent), C's text failed (still the texted arm: intent to treat), D and E were held out,
-- F was skipped by the rules (in neither arm). Flows: a win-back text to G (marketing, not from a
-- campaign) and a reply to A. Visits are completed sales of the customer within the window after
-- the text; a voided sale, a sale before the text and one after the window do not count.
begin;
select plan(16);

update conductor.settings set value = '"UTC"'
where key = 'store_time_zone';
update conductor.settings set value = '0.01'
where key = 'sms_cost_per_message';

insert into public.customers (member_id, name, phone) values
('M-A', 'Ana', '+16195554001'),
('M-B', 'Ben', '+16195554002'),
('M-C', 'Cy', '+16195554003'),
('M-D', 'Di', '+16195554004'),
('M-E', 'Ed', '+16195554005'),
('M-F', 'Fa', '+16195554006'),
('M-G', 'Gus', '+16195554007');

insert into public.messages (
    id, phone_number, content, direction, status, message_kind, customer_id, timestamp, sent_at, parts
) values
(7101, '+16195554001', 'Spring deals', 'outbound', 'sent', 'marketing', 'M-A', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 2),
(7102, '+16195554002', 'Spring deals', 'outbound', 'sent', 'marketing', 'M-B', '2025-03-03 10:05+00', '2025-03-03 10:05+00', 1),
(7103, '+16195554003', 'Spring deals', 'outbound', 'failed', 'marketing', 'M-C', '2025-03-03 10:00+00', null, 1),
(7104, '+16195554007', 'We miss you', 'outbound', 'sent', 'marketing', 'M-G', '2025-03-05 18:00+00', '2025-03-05 18:00+00', 1),
(7105, '+16195554001', 'Thanks Ana!', 'outbound', 'sent', 'reply', 'M-A', '2025-03-10 12:00+00', '2025-03-10 12:00+00', 1);
insert into public.messages (phone_number, content, direction, status, timestamp) values
('+16195554002', 'Sounds good', 'inbound', 'read', '2025-03-03 11:00+00'),
('+16195554001', 'STOP', 'inbound', 'read', '2025-03-03 12:00+00'),
('+16195554004', 'Any deals this week?', 'inbound', 'read', '2025-03-04 09:00+00');

insert into public.campaign_messages (id, customer_id, phone_number, message_content, generation_cost, status)
values (7201, 'M-D', '+16195554004', 'Spring deals', 0.03, 'exported');
insert into public.scheduled_messages (
    customer_id, phone_number, message_content, scheduled_send_time, dispatched_at, status, message_id,
    campaign_message_id, generation_cost, campaign_name, campaign_batch_id
) values
('M-A', '+16195554001', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'sent', 7101, null, 0.02, 'spring', 'b1'),
('M-B', '+16195554002', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'sent', 7102, null, 0.02, 'spring', 'b1'),
('M-C', '+16195554003', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'failed', 7103, null, 0.02, 'spring', 'b1'),
('M-D', '+16195554004', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'held_out', null, 7201, null, 'spring', 'b1'),
('M-E', '+16195554005', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'held_out', null, null, 0.02, 'spring', 'b1'),
('M-F', '+16195554006', 'Spring deals', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'skipped', null, null, 0.02, 'spring', 'b1');

insert into public.transactions (transaction_id, customer_id, date, total_amount, status) values
('T-A1', 'M-A', '2025-03-05 12:00+00', 50, 'completed'),
('T-A2', 'M-A', '2025-03-09 09:00+00', 30, 'completed'),
('T-A3', 'M-A', '2025-03-11 12:00+00', 100, 'completed'),
('T-B1', 'M-B', '2025-03-02 12:00+00', 60, 'completed'),
('T-C1', 'M-C', '2025-03-04 12:00+00', 20, 'completed'),
('T-D1', 'M-D', '2025-03-06 12:00+00', 40, 'completed'),
('T-E1', 'M-E', '2025-03-04 12:00+00', 70, 'voided'),
('T-F1', 'M-F', '2025-03-04 12:00+00', 80, 'completed'),
('T-G1', 'M-G', '2025-04-06 12:00+00', 15, 'completed'),
('T-G2', 'M-G', '2025-03-06 12:00+00', 25, 'completed');

-- Two larger campaigns with a clear effect each way: 40 texted and 40 held out.
insert into public.customers (member_id, name, phone)
select
    'M-K-' || g as member_id,
    'K ' || g as name,
    '+1619556' || (1000 + g) as phone
from generate_series(1, 80) as g;
insert into public.scheduled_messages (
    customer_id, phone_number, message_content, scheduled_send_time, dispatched_at, status, campaign_name
)
select
    'M-K-' || g.n as customer_id,
    '+1619556' || (1000 + g.n) as phone_number,
    'Deals' as message_content,
    c.at as scheduled_send_time,
    c.at as dispatched_at,
    case when g.n <= 40 then 'sent' else 'held_out' end as status,
    c.campaign_name
from generate_series(1, 80) as g (n)
cross join (values ('up', '2025-05-01 15:00+00'::timestamptz), ('down', '2025-06-01 15:00+00')) as c (campaign_name, at);
insert into public.transactions (transaction_id, customer_id, date, total_amount)
select
    'T-K-' || g as transaction_id,
    'M-K-' || g as customer_id,
    case when g <= 40 then '2025-05-02 12:00+00'::timestamptz else '2025-06-02 12:00+00' end as date,
    10 as total_amount
from generate_series(1, 80) as g;

select results_eq(
    $$select source, campaign_name, campaign_batch_id, audience, texted, held_out, messages_sent, visitors,
             conversion_rate, visits, revenue, revenue_per_texted, generation_cost, sms_cost, total_cost,
             cost_per_message, cost_per_conversion, held_out_visitors, held_out_conversion_rate,
             held_out_revenue_per_recipient, window_complete, attribution_window_days
      from public.campaign_attribution()
      where campaign_name = 'spring' or campaign_name is null$$,
    $$values
      ('reply'::text, null::text, null::text, 1, 1, 0, 1, 1, 1.0000::numeric, 1, 100.00::numeric, 100.00::numeric,
       0::numeric, 0.01::numeric, 0.01::numeric, 0.0100::numeric, 0.0100::numeric, null::integer, null::numeric,
       null::numeric, true, 7),
      ('marketing', null, null, 1, 1, 0, 1, 1, 1.0000, 1, 25.00, 25.00, 0, 0.01, 0.01, 0.0100, 0.0100, null, null,
       null, true, 7),
      ('campaign', 'spring', 'b1', 5, 3, 2, 2, 2, 0.6667, 3, 100.00, 33.33, 0.1300, 0.03, 0.1600, 0.0800, 0.0800, 1,
       0.5000, 20.00, true, 7)$$,
    'campaign and flows: texted, held out, visitors, visits, revenue and cost, newest first'
);
select results_eq(
    $$select visits, revenue from public.campaign_attribution(window_days => 10) where campaign_name = 'spring'$$,
    $$values (4, 200.00::numeric)$$,
    'a 10-day window takes in the sale 8 days after the text'
);
select results_eq(
    $$select source from public.campaign_attribution(sent_since => '2025-03-04 00:00+00') where campaign_name is null
      or campaign_name = 'spring'$$,
    $$values ('reply'::text), ('marketing'::text)$$,
    'sent_since leaves out the texts before it'
);

select results_eq(
    $$select texted, held_out, verdict, revenue_verdict from public.campaign_lift() where campaign_name = 'spring'$$,
    $$values (3, 2, 'too_small_to_tell'::text, 'too_small_to_tell'::text)$$,
    'three texted and two held out are too few to tell (attribution_min_group_size 30)'
);
select results_eq(
    $$select texted_conversion_rate, held_out_conversion_rate, conversion_lift, conversion_lift_lower,
             conversion_lift_upper, verdict
      from public.campaign_lift(min_group_size => 2) where campaign_name = 'spring'$$,
    $$values (0.6667::numeric, 0.5000::numeric, 0.1667::numeric, round((
        select n.lower_bound from conductor.newcombe_difference_interval(2, 3, 1, 2, conductor.normal_quantile(0.975)) as n
      )::numeric, 4), round((
        select n.upper_bound from conductor.newcombe_difference_interval(2, 3, 1, 2, conductor.normal_quantile(0.975)) as n
      )::numeric, 4), 'no_detectable_effect'::text)$$,
    'with groups of two allowed: a lift of 16.7 points whose Newcombe interval includes 0 is no_detectable_effect'
);
select results_eq(
    $$select campaign_name, texted, texted_visitors, held_out, held_out_visitors, conversion_lift, relative_lift,
             revenue_lift, revenue_lift_lower, revenue_lift_upper, incremental_visitors, incremental_revenue,
             verdict, revenue_verdict
      from public.campaign_lift() where campaign_name in ('up', 'down')$$,
    $$values ('down'::text, 40, 0, 40, 40, -1.0000::numeric, -1.0000::numeric, -10.00::numeric, -10.00::numeric,
              -10.00::numeric, -40.0::numeric, -400.00::numeric, 'negative'::text, 'negative'::text),
             ('up', 40, 40, 40, 0, 1.0000, null, 10.00, 10.00, 10.00, 40.0, 400.00, 'positive', 'positive')$$,
    'every texted recipient visiting and no held-out one is positive; the reverse is negative'
);
select ok(
    (
        select conversion_lift_lower > 0.8 and conversion_lift_upper = 1
        from public.campaign_lift()
        where campaign_name = 'up'
    ),
    'a 40-to-0 difference has a Newcombe interval well above 0'
);
select alike(
    (
        select verdict_reason from public.campaign_lift()
        where campaign_name = 'spring'
    ),
    '3 texted and 2 held out: each group needs at least 30%',
    'the reason says why there is no verdict'
);
insert into public.scheduled_messages (
    phone_number, message_content, scheduled_send_time, dispatched_at, status, campaign_name
) values ('+16195554009', 'Solo', '2025-03-03 10:00+00', '2025-03-03 10:00+00', 'sent', 'solo');
select is(
    (
        select verdict from public.campaign_lift()
        where campaign_name = 'solo'
    ),
    'no_holdout',
    'a campaign without a held-out group says no_holdout'
);

select results_eq(
    $$select source, texted, responders, response_rate, opt_outs, opt_out_rate, held_out, held_out_responders,
             held_out_response_rate
      from public.campaign_response_rates() where campaign_name = 'spring' or campaign_name is null$$,
    $$values ('reply'::text, 1, 0, 0.0000::numeric, 0, 0.0000::numeric, 0, null::integer, null::numeric),
             ('marketing', 1, 0, 0.0000, 0, 0.0000, 0, null, null),
             ('campaign', 3, 1, 0.3333, 1, 0.3333, 2, 1, 0.5000)$$,
    'replies and opt-outs within the window are counted apart; the held-out group gives the baseline'
);
select ok(
    (
        select response_rate_lower < 0.3333 and response_rate_upper > 0.3333
        from public.campaign_response_rates()
        where campaign_name = 'spring'
    ),
    'the response rate comes with its Wilson interval'
);

select results_eq(
    $$select day_of_week, day_name, hour_of_day, texts, visits, visit_rate, replies, reply_rate, visit_rank, reply_rank
      from public.best_contact_times()$$,
    $$values (3, 'Wednesday'::text, 18, 1, 1, 1.0000::numeric, 0, 0.0000::numeric, 1, 2),
             (1, 'Monday', 10, 2, 1, 0.5000, 1, 0.5000, 2, 1)$$,
    'contact slots at the store''s time zone, ranked by the Wilson lower bound of their rates'
);
update conductor.settings set value = '"America/Los_Angeles"'
where key = 'store_time_zone';
select results_eq(
    $$select day_of_week, hour_of_day from public.best_contact_times() order by day_of_week$$,
    $$values (1, 2), (3, 10)$$,
    'the slots follow the store''s time zone'
);

select throws_ok(
    'select * from public.campaign_attribution(window_days => 0)', '22023',
    'window_days is out of range: must be between 1 and 365, got 0',
    'a window of 0 days is refused naming window_days'
);
select throws_ok(
    'select * from public.campaign_lift(min_group_size => 1)', '22023',
    'min_group_size is out of range: must be between 2 and 1000000, got 1',
    'a minimum group of 1 is refused naming min_group_size'
);
update conductor.settings set value = '-1'
where key = 'sms_cost_per_message';
select throws_ok(
    'select * from public.campaign_attribution()', '22023',
    'invalid setting: sms_cost_per_message must be a dollar amount >= 0, not "-1"',
    'a negative SMS cost setting is refused naming it'
);

select * from finish();
rollback;
