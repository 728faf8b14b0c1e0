-- The parts of concatenated inbound SMS whose message is committed, written by
-- conductor.bridge_store_inbound and read by conductor.bridge_stored_parts. The bridge deletes
-- a message's SIM slots one by one after the commit; parts a crash left behind are recognised
-- here and deleted, instead of being stored again later as an incomplete message.
select pg_temp.claim_table('conductor', 'inbound_parts');
create table if not exists conductor.inbound_parts (
    part_hash text not null,
    message_hash text not null,
    stored_at timestamptz not null default now(),
    constraint inbound_parts_pkey primary key (part_hash)
);
create index if not exists inbound_parts_stored_at_idx on conductor.inbound_parts (stored_at);
alter table conductor.inbound_parts enable row level security;
comment on table conductor.inbound_parts is
'Parts of concatenated inbound SMS already committed (kept 30 days), so leftovers on the SIM are not stored twice.';
comment on column conductor.inbound_parts.part_hash is
'The bridge''s fingerprint of one part: sender, concatenation reference, part number, network timestamp, text.';
comment on column conductor.inbound_parts.message_hash is 'message_hash of the stored message the part belongs to.';
comment on column conductor.inbound_parts.stored_at is 'When the message was committed.';
