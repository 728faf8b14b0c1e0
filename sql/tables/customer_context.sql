-- Each customer's AI context, kept ready: the clock-free, history-dependent columns that
-- public.customer_sms_context reads instead of walking the customer's history (top products, last
-- three purchases with their lines, favourite category, preferred location and budtender, time of
-- the last purchase), and the whole answer of public.get_customer_insights for the store's today,
-- already rendered as JSON text, which the call returns with one lookup and no conversion.
-- Validity is a version stamp, not a deletion: every write that can change a customer's context
-- (their transactions or lines, a catalogue name their lines fall back to, a repair) raises
-- version in the same database transaction (conductor.invalidate_customer_context), and a builder
-- (conductor.refresh_customer_context) writes the values together with the version it read in the
-- same snapshot. A row is used only while built_version = version, so a build that raced a sale
-- is never served: the sale's higher version outlives it. The whole answer also depends on the
-- store's today, so it is served only before insights_valid_until (the next local midnight), and
-- on the customer's own row, opt-out state and leads, whose writes raise version too.
-- Written by the maintenance triggers and the builder; read by public.customer_sms_context.
select pg_temp.claim_table('conductor', 'customer_context');
create table if not exists conductor.customer_context (
    customer_id text not null,
    version bigint not null default 1,
    built_version bigint not null default 0,
    built_at timestamptz,
    favorite_products jsonb,
    recent_purchases jsonb,
    favorite_category text,
    preferred_location text,
    preferred_budtender text,
    last_purchase_at timestamptz,
    insights json,
    insights_valid_until timestamptz,
    constraint customer_context_pkey primary key (customer_id),
    constraint customer_context_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade
);
alter table conductor.customer_context add column if not exists insights json;
alter table conductor.customer_context add column if not exists insights_valid_until timestamptz;
-- Earlier versions kept the answer as jsonb, which is rendered to text at every call.
do $types$
begin
    if (
        select a.atttypid from pg_catalog.pg_attribute as a
        where a.attrelid = 'conductor.customer_context'::regclass and a.attname = 'insights'
    ) = 'pg_catalog.jsonb'::pg_catalog.regtype then
        alter table conductor.customer_context alter column insights type json using insights::json;
    end if;
end
$types$;
-- Room on each page for the version bumps, which then add no index entries (heap-only tuples).
alter table conductor.customer_context set (fillfactor = 80);
alter table conductor.customer_context enable row level security;
comment on table conductor.customer_context is
'Each customer''s AI context, built ahead of time; a row is current only while built_version = version '
'(public.customer_sms_context and get_customer_insights compute the values live otherwise).';
comment on column conductor.customer_context.customer_id is 'member_id of the customer.';
comment on column conductor.customer_context.version is
'Raised by every write that can change the values below (conductor.invalidate_customer_context).';
comment on column conductor.customer_context.built_version is
'The version the values were computed at; the row is current only while it equals version.';
comment on column conductor.customer_context.built_at is 'When the values were last computed.';
comment on column conductor.customer_context.favorite_products is
'public.customer_sms_context.favorite_products as of built_version.';
comment on column conductor.customer_context.recent_purchases is
'public.customer_sms_context.recent_purchases as of built_version.';
comment on column conductor.customer_context.favorite_category is
'public.customer_sms_context.favorite_category as of built_version.';
comment on column conductor.customer_context.preferred_location is
'public.customer_sms_context.preferred_location as of built_version.';
comment on column conductor.customer_context.preferred_budtender is
'public.customer_sms_context.preferred_budtender as of built_version.';
comment on column conductor.customer_context.last_purchase_at is
'public.customer_sms_context.last_purchase_at as of built_version.';
comment on column conductor.customer_context.insights is
'public.get_customer_insights(phone) for this customer as of built_version and the store date of built_at, '
'as the JSON text the call returns (jsonb''s rendering: keys in jsonb order).';
comment on column conductor.customer_context.insights_valid_until is
'The store''s next midnight after built_at: insights holds days since the last visit, churn, RFM and lead '
'values of that date, so it is served only before this time.';
