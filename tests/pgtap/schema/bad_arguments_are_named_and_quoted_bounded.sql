-- A bad argument gets an error that names it and quotes a bounded excerpt of what was sent with
-- its length: a 1 MB phone number gives a one-line message, not a 1 MB one. Bridge identities
-- are bounded printable names, refused with 22023 naming p_bridge_id.
begin;
select plan(9);

create function pg_temp.error_of(p_sql text) returns text
language plpgsql as $$
begin
    execute p_sql;
    return 'no error';
exception when others then
    return sqlstate || ' ' || sqlerrm;
end
$$;

select is(
    conductor.error_excerpt('short'), '"short"', 'a short value is quoted whole'
);
select is(
    conductor.error_excerpt(repeat('9', 1048576)),
    '"' || repeat('9', 40) || '..." (1048576 characters)',
    'a long value is quoted as its first 40 characters and its length'
);

select matches(
    pg_temp.error_of(format('select public.get_customer_insights(phone_number => %L)', repeat('9', 1048576))),
    '^22023 phone_number: "9{40}\.\.\." \(1048576 characters\) is not a phone number',
    'a 1 MB phone number: 22023 naming phone_number with an excerpt and the length'
);
select cmp_ok(
    length(pg_temp.error_of(format('select public.get_customer_insights(phone_number => %L)', repeat('9', 1048576)))),
    '<', 200,
    'and the message stays short'
);
select matches(
    pg_temp.error_of($$select public.get_customer_insights(phone_number => 'call me')$$),
    '^22023 phone_number: "call me" is not a phone number',
    'a short bad phone number is quoted whole'
);

select matches(
    pg_temp.error_of(format('select conductor.bridge_hello(%L, %L, %L, %L)', repeat('b', 9000), 'pc', 'tty', '1')),
    '^22023 p_bridge_id: "b{40}\.\.\." \(9000 characters\) is not a bridge identity',
    'a 9 kB bridge id: 22023 naming p_bridge_id (not 54000 from the index)'
);
select matches(
    pg_temp.error_of(format('select conductor.bridge_hello(%L, %L, %L, %L)', E'pc-1\n', 'pc', 'tty', '1')),
    '^22023 p_bridge_id: ',
    'a bridge id with a control character is refused naming p_bridge_id'
);
select matches(
    pg_temp.error_of($$select conductor.bridge_hello('', 'pc', 'tty', '1')$$),
    '^22023 p_bridge_id: a bridge identity is required',
    'an empty bridge id is refused'
);
select ok(
    conductor.bridge_hello(repeat('b', 200), 'pc', 'tty', '1') ? 'lease_seconds',
    'a 200-character bridge id is accepted'
);

select * from finish();
rollback;
