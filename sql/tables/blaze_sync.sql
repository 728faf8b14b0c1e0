-- Live sync from the Blaze POS partner API: where each entity's sync stands (the next window
-- and page to fetch), the version of every Blaze record already applied (so an older copy that
-- arrives late never overwrites a newer one), and the transactions held back until the member,
-- products or refunded sale they reference arrive. Written and read by public.blaze_sync_page and
-- public.blaze_sync_next (sql/functions/blaze/); the settings rows name the shop and the grace
-- period.
select pg_temp.claim_table('conductor', 'blaze_sync_cursors');
create table if not exists conductor.blaze_sync_cursors (
    entity text not null,
    window_start timestamptz not null,
    skip integer not null default 0,
    caught_up boolean not null default false,
    pages_applied bigint not null default 0,
    last_page_at timestamptz,
    updated_at timestamptz not null default now(),
    constraint blaze_sync_cursors_pkey primary key (entity),
    constraint blaze_sync_cursors_entity_check check (entity in ('members', 'products', 'transactions')),
    constraint blaze_sync_cursors_skip_check check (skip >= 0)
);
alter table conductor.blaze_sync_cursors enable row level security;
comment on table conductor.blaze_sync_cursors is
'Where the Blaze sync of each entity stands: the window and page public.blaze_sync_next hands out next.';
comment on column conductor.blaze_sync_cursors.entity is 'members, products or transactions.';
comment on column conductor.blaze_sync_cursors.window_start is
'Start of the window to fetch (for transactions: local midnight in store_time_zone); the window is at most '
'7 days long and ends no later than now.';
comment on column conductor.blaze_sync_cursors.skip is 'Rows of the window already applied (the skip of the next request).';
comment on column conductor.blaze_sync_cursors.caught_up is 'True once a window reached now: the sync only re-reads the recent past.';
comment on column conductor.blaze_sync_cursors.pages_applied is 'Pages applied through this cursor.';
comment on column conductor.blaze_sync_cursors.last_page_at is 'When the last page was applied through this cursor.';
comment on column conductor.blaze_sync_cursors.updated_at is 'Last change.';

select pg_temp.claim_table('conductor', 'blaze_versions');
create table if not exists conductor.blaze_versions (
    entity text not null,
    blaze_id text not null,
    modified bigint not null,
    applied_at timestamptz not null default now(),
    constraint blaze_versions_pkey primary key (entity, blaze_id),
    constraint blaze_versions_entity_check check (entity in ('members', 'products', 'transactions'))
);
alter table conductor.blaze_versions enable row level security;
comment on table conductor.blaze_versions is
'The newest Blaze version (modified, epoch ms) of each record applied: a copy with an older modified is skipped.';
comment on column conductor.blaze_versions.entity is 'members, products or transactions.';
comment on column conductor.blaze_versions.blaze_id is 'The Blaze id (member_id, product_id or transaction_id).';
comment on column conductor.blaze_versions.modified is 'The record''s modified field (epoch milliseconds) when applied.';
comment on column conductor.blaze_versions.applied_at is 'When that version was applied.';

select pg_temp.claim_table('conductor', 'blaze_pending_transactions');
create table if not exists conductor.blaze_pending_transactions (
    transaction_id text not null,
    payload jsonb not null,
    missing text not null,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now(),
    constraint blaze_pending_transactions_pkey primary key (transaction_id)
);
alter table conductor.blaze_pending_transactions enable row level security;
comment on table conductor.blaze_pending_transactions is
'Blaze transactions held back because their member, a product or the sale they refund is not stored yet; '
'applied as soon as it is, or after blaze_pending_grace_hours with the import''s data issues.';
comment on column conductor.blaze_pending_transactions.transaction_id is 'The Blaze transaction id.';
comment on column conductor.blaze_pending_transactions.payload is 'The transaction exactly as Blaze sent it (the newest copy).';
comment on column conductor.blaze_pending_transactions.missing is 'What it waits for, e.g. "member 5f3a..., product 61b2...".';
comment on column conductor.blaze_pending_transactions.first_seen_at is 'When it first arrived; the grace period counts from here.';
comment on column conductor.blaze_pending_transactions.last_seen_at is 'When it last arrived.';

insert into conductor.settings (key, value, description) values
('blaze_shop_id', '""', 'The Blaze shop id whose data the sync accepts; pages with another shopId are refused'),
('blaze_shop_name', '""', 'The store name Blaze transactions are recorded under (transactions.shop_location)'),
(
    'blaze_pending_grace_hours', '24',
    'A Blaze transaction whose member, product or refunded sale is missing waits this long, then is '
    'applied and the gaps are recorded in conductor.data_issues'
)
on conflict (key) do nothing;
