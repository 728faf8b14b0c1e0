-- The parts of a concatenated SMS commit with their message (conductor.inbound_parts), so the
-- bridge can ask, through conductor.bridge_stored_parts, which leftover SIM parts belong to a
-- message already stored. Storing the message again records nothing twice; old fingerprints
-- expire after 30 days.
begin;
select plan(7);

-- Each bridge identity below says hello first, as the bridge does.
do $$
begin
    perform conductor.bridge_hello('bridge-a', 'test-pc', '/dev/ttyUSB0', 'test');
end
$$;

select results_eq(
    $$select is_new from conductor.bridge_store_inbound(
        'bridge-a', '+16195550701', 'a long text in three parts', '2026-03-01 18:00:05+00', 4, 3::smallint,
        array['part-1', 'part-2', 'part-3'])$$,
    $$values (true)$$,
    'a concatenated SMS is stored with the fingerprints of its parts'
);
select is(
    (
        select count(*)::integer from conductor.inbound_parts as p
        inner join public.messages as m on p.message_hash = m.message_hash
        where m.content = 'a long text in three parts'
    ),
    3,
    'each part is recorded with the message hash'
);
select set_eq(
    $$select conductor.bridge_stored_parts('bridge-a', array['part-2', 'part-3', 'part-9'])$$,
    $$values ('part-2'), ('part-3')$$,
    'bridge_stored_parts names exactly the fingerprints already stored'
);
select results_eq(
    $$select is_new from conductor.bridge_store_inbound(
        'bridge-a', '+16195550701', 'a long text in three parts', '2026-03-01 18:00:05+00', 4, 3::smallint,
        array['part-1', 'part-2', 'part-3'])$$,
    $$values (false)$$,
    'the same message stored again is not new'
);
select is((select count(*)::integer from conductor.inbound_parts), 3, 'and records no part twice');

update conductor.inbound_parts set stored_at = now() - interval '31 days'
where part_hash = 'part-1';
select conductor.bridge_store_inbound(
    'bridge-a', '+16195550702', 'another long one', '2026-03-02 18:00:05+00', 5, 2::smallint,
    array['other-1', 'other-2']
);
select set_eq(
    $$select part_hash from conductor.inbound_parts$$,
    $$values ('part-2'), ('part-3'), ('other-1'), ('other-2')$$,
    'fingerprints older than 30 days are pruned when new ones are recorded'
);
select throws_ok(
    $$select conductor.bridge_stored_parts('', array['part-2'])$$,
    '22023', 'p_bridge_id: a bridge identity is required',
    'the bridge identity is required'
);

select * from finish();
rollback;
