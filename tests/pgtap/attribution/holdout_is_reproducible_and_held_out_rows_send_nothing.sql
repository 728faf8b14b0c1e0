-- Campaign dispatch holds back the recipients whose phone hashes below the campaign's holdout
-- share (status held_out): the draw is sha256 of campaign, batch and phone, so it is the same on
-- every run and every server; a held-out row queues nothing; the compliance rules come first, so
-- an opted-out phone is skipped, never held out; a per-campaign row overrides the setting.
begin;
select plan(14);

-- The draw, recomputed outside the database (Python: sha256 of the UTF-8 text, first 4 bytes / 2^32).
select is(
    conductor.holdout_fraction('spring', 'b1', '+16195550142'),
    0.14416056801564991::double precision,
    'the draw is the first 32 bits of sha256(campaign, batch, phone) as a fraction'
);
select is(
    conductor.holdout_fraction('spring', null, '+16195550142'),
    conductor.holdout_fraction('spring', '', '+16195550142'),
    'a null batch draws as an empty one'
);

insert into public.campaign_holdouts (campaign_name, campaign_batch_id, holdout_share) values ('spring', 'b1', 0.5);
insert into public.customers (member_id, name, phone)
select
    'M-H-' || g as member_id,
    'Customer ' || g as name,
    '+1619555' || (2000 + g) as phone
from generate_series(1, 40) as g;
-- One phone that would be held out has opted out.
insert into conductor.opt_outs (phone_number, keyword)
select
    p.phone as phone_number,
    'STOP' as keyword
from (
    select c.phone from public.customers as c
    where c.member_id like 'M-H-%' and conductor.holdout_fraction('spring', 'b1', c.phone) < 0.5
    order by c.phone limit 1
) as p;
insert into public.campaign_messages (id, customer_id, phone_number, message_content, status)
select
    9000 + g as id,
    'M-H-' || g as customer_id,
    '+1619555' || (2000 + g) as phone_number,
    'Spring deals' as message_content,
    'exported' as status
from generate_series(1, 40) as g;
insert into public.scheduled_messages (
    customer_id, phone_number, message_content, scheduled_send_time, campaign_name, campaign_batch_id,
    campaign_message_id
)
select
    'M-H-' || g as customer_id,
    '+1619555' || (2000 + g) as phone_number,
    'Spring deals' as message_content,
    now() - interval '1 minute' as scheduled_send_time,
    'spring' as campaign_name,
    'b1' as campaign_batch_id,
    9000 + g as campaign_message_id
from generate_series(1, 40) as g;
-- Another campaign without a row of its own: the setting (0 by default) holds nobody back.
insert into public.scheduled_messages (customer_id, phone_number, message_content, scheduled_send_time, campaign_name)
select
    null as customer_id,
    '+1619555' || (3000 + g) as phone_number,
    'Other news' as message_content,
    now() - interval '1 minute' as scheduled_send_time,
    'other' as campaign_name
from generate_series(1, 5) as g;

do $$ begin perform conductor.dispatch_campaigns(); end $$;

select set_eq(
    $$select phone_number from public.scheduled_messages where campaign_name = 'spring' and status = 'held_out'$$,
    $$select phone_number from public.scheduled_messages
      where campaign_name = 'spring' and conductor.holdout_fraction('spring', 'b1', phone_number) < 0.5
        and phone_number not in (select phone_number from conductor.opt_outs)$$,
    'exactly the eligible phones drawn below the share are held out'
);
select cmp_ok(
    (
        select count(*)::integer from public.scheduled_messages
        where campaign_name = 'spring' and status = 'held_out'
    ),
    '>', 10,
    'about half of the audience is held out'
);
select is(
    (
        select count(*)::integer from public.messages as m
        inner join public.scheduled_messages as s on m.phone_number = s.phone_number
        where s.status = 'held_out' and s.campaign_name = 'spring' and m.content = 'Spring deals'
    ),
    0,
    'no message of the campaign is queued to a held-out phone'
);
select is(
    (
        select count(*)::integer from public.scheduled_messages
        where status = 'held_out' and (message_id is not null or delivery_status is not null or dispatched_at is null)
    ),
    0,
    'a held-out row has no message and no delivery status, and records when it was decided'
);
select is(
    (
        select count(*)::integer from public.scheduled_messages
        where campaign_name = 'spring' and status = 'queued' and message_id is not null
    ),
    (
        select count(*)::integer from public.scheduled_messages
        where campaign_name = 'spring'
    ) - 1
    - (
        select count(*)::integer from public.scheduled_messages
        where campaign_name = 'spring' and status = 'held_out'
    ),
    'every other row but the opted-out one is queued'
);
select is(
    (
        select status from public.scheduled_messages
        where campaign_name = 'spring' and phone_number in (select phone_number from conductor.opt_outs)
    ),
    'skipped',
    'an opted-out phone drawn into the holdout is skipped by the rules, not held out'
);
select is(
    (
        select count(*)::integer from public.campaign_messages as c
        inner join public.scheduled_messages as s on c.id = s.campaign_message_id
        where s.status = 'held_out' and (c.delivery_status <> 'held_out' or c.conductor_message_id is not null)
    ),
    0,
    'the draft of a held-out row says held_out and links no message'
);
select is(
    (
        select count(*)::integer from public.scheduled_messages
        where campaign_name = 'other' and status = 'queued'
    ),
    5,
    'a campaign without a holdout row uses the setting: 0 holds nobody back'
);

-- The same campaign and phone land in the same group later: a second customer on a held-out phone
-- is held out too, one on a texted phone gets the campaign once (skipped_duplicate_phone).
insert into public.scheduled_messages (phone_number, message_content, scheduled_send_time, campaign_name, campaign_batch_id)
select
    p.phone_number,
    'Spring deals' as message_content,
    now() - interval '1 minute' as scheduled_send_time,
    'spring' as campaign_name,
    'b1' as campaign_batch_id
from (
    (
        select phone_number from public.scheduled_messages
        where campaign_name = 'spring' and status = 'held_out'
        order by phone_number limit 1
    )
    union all
    (
        select phone_number from public.scheduled_messages
        where campaign_name = 'spring' and status = 'queued'
        order by phone_number limit 1
    )
) as p;
do $$ begin perform conductor.dispatch_campaigns(); end $$;
select results_eq(
    $$select s.status from public.scheduled_messages as s
      where s.campaign_name = 'spring' and s.customer_id is null
      order by conductor.holdout_fraction('spring', 'b1', s.phone_number)$$,
    $$values ('held_out'::text), ('skipped_duplicate_phone'::text)$$,
    'a later row for the same campaign and phone lands in the same group'
);

update conductor.settings set value = '"lots"'
where key = 'campaign_holdout_share';
insert into public.scheduled_messages (phone_number, message_content, scheduled_send_time, campaign_name)
values ('+16195552999', 'Summer', now() - interval '1 minute', 'summer');
select throws_ok(
    'select conductor.dispatch_campaigns()',
    '22023',
    'invalid setting: campaign_holdout_share must be a number from 0 to below 1, not ""lots""',
    'a malformed holdout setting stops dispatch with 22023 naming it'
);
select throws_ok(
    $$insert into public.campaign_holdouts (campaign_name, holdout_share) values ('winter', 1)$$,
    '23514',
    null,
    'a holdout share of 1 (nobody texted) is refused'
);
select throws_ok(
    $$insert into public.campaign_holdouts (campaign_name, campaign_batch_id, holdout_share) values ('spring', 'b1', 0.2)$$,
    '23505',
    null,
    'one holdout row per campaign and batch'
);

select * from finish();
rollback;
