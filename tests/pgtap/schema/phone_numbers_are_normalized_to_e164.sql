-- Phone numbers are stored in E.164: US formats are normalized on the way in, and what cannot
-- be normalized is refused with 22023 naming the field.
begin;
select plan(9);

select is(conductor.normalize_phone('(619) 977-3020'), '+16199773020', 'US format with punctuation');
select is(conductor.normalize_phone('619.977.3020'), '+16199773020', 'dotted US format');
select is(conductor.normalize_phone('1-619-977-3020'), '+16199773020', 'US number with trunk 1');
select is(conductor.normalize_phone('+44 20 7946 0958'), '+442079460958', 'international number kept');
select is(conductor.normalize_phone('555-0100'), null, 'seven digits cannot be normalized');
select is(conductor.normalize_phone('(119) 977-3020'), null, 'US area code cannot start with 1');

insert into public.customers (member_id, phone) values ('M-PHONE-1', '(619) 977-3020');
select is(
    (
        select phone from public.customers
        where member_id = 'M-PHONE-1'
    ), '+16199773020',
    'customers.phone is normalized on insert'
);
select throws_ok(
    $$insert into public.customers (member_id, phone) values ('M-PHONE-2', 'call me')$$,
    '22023', null, 'an unusable customer phone is refused'
);
select throws_like(
    $$insert into public.messages (phone_number, content, direction, status, message_hash)
      values ('12', 'hi', 'inbound', 'unread', 'h1')$$,
    '%messages.phone_number%', 'the error names the field'
);

select * from finish();
rollback;
