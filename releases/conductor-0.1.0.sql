-- Conductor 0.1.0, as released: the whole install as one script (psql -1 -f, or a migration).
-- Written by `make release`; a frozen record, never edited.
-- Conductor install manifest: the only place that fixes what is installed and in what order.
-- Run as one transaction: psql --single-transaction -v ON_ERROR_STOP=1 \
--   -v conductor_version=$(cat VERSION) -f sql/install.sql
-- State (sql/tables) only ever grows convergently; everything else is dropped and re-created.

-- >>> sql/lib/begin.sql
-- Opens every install and uninstall: one lock so two deploys never interleave, the private
-- schema `conductor` with the package registry, and the Supabase API roles when a plain
-- PostgreSQL lacks them. Writes: conductor.package_objects (created if missing).
select pg_advisory_xact_lock(hashtext('conductor install'));

set local client_min_messages = warning;
-- Every name in the package is schema-qualified; an empty search_path proves it, and makes the
-- identities recorded in conductor.package_objects fully qualified.
set local search_path = '';

create schema if not exists conductor;
comment on schema conductor is
'Conductor internals: settings, thresholds, opt-outs, import staging, data issues, bridge health '
'and private functions. PostgREST does not expose this schema; n8n uses the RPC functions in public.';

create table if not exists conductor.package_objects (
    object_kind text not null,
    object_identity text not null,
    registered_at timestamptz not null default now(),
    constraint package_objects_pkey primary key (object_kind, object_identity),
    constraint package_objects_kind_check check (object_kind in ('table', 'function', 'view', 'materialized view'))
);
alter table conductor.package_objects enable row level security;
comment on table conductor.package_objects is
'What the package created: tables (claimed when first created) and code objects in public '
'(registered by each install). Uninstall drops exactly these.';

-- The roles Supabase provides; created here only when missing (plain PostgreSQL).
do $roles$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_catalog.pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
end
$roles$;

-- Claims a package table before `create table if not exists`: a table of that name that the
-- package did not create is somebody else's data, and the install stops rather than adopt it.
create function pg_temp.claim_table(p_schema text, p_table text) returns void
language plpgsql as $claim$
declare
    v_identity text := format('%I.%I', p_schema, p_table);
begin
    if to_regclass(v_identity) is not null
        and not exists (
            select from conductor.package_objects
            where object_kind = 'table' and object_identity = v_identity
        ) then
        raise exception 'table % already exists and was not created by Conductor', v_identity
            using errcode = '42P07',
                  hint = 'Rename it (or move it to another schema) and import its rows through '
                         'conductor.import_* after the install.';
    end if;
    insert into conductor.package_objects (object_kind, object_identity)
    values ('table', v_identity)
    on conflict do nothing;
end
$claim$;
-- >>> sql/lib/drop_code_layer.sql
-- Drops the stateless layer so the install can re-create it exactly: every function and view
-- in `conductor`, and the functions, views and materialized views the previous install
-- registered in public. Triggers and policies go with their functions (cascade). Tables,
-- their rows, settings and cron history are never touched here.
do $drop$
declare
    v_object record;
begin
    for v_object in
        select object_kind, object_identity
        from conductor.package_objects
        where object_kind <> 'table'
        order by object_kind desc
    loop
        execute format(
            'drop %s if exists %s cascade',
            v_object.object_kind,
            v_object.object_identity
        );
    end loop;
    delete from conductor.package_objects where object_kind <> 'table';

    for v_object in
        select c.oid::regclass::text as identity, c.relkind
        from pg_catalog.pg_class as c
        where c.relnamespace = 'conductor'::regnamespace and c.relkind in ('v', 'm')
    loop
        execute format(
            'drop %s if exists %s cascade',
            case v_object.relkind when 'v' then 'view' else 'materialized view' end,
            v_object.identity
        );
    end loop;

    for v_object in
        select p.oid::regprocedure::text as identity, p.prokind
        from pg_catalog.pg_proc as p
        where p.pronamespace = 'conductor'::regnamespace
    loop
        execute format(
            'drop %s if exists %s cascade',
            case v_object.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
            v_object.identity
        );
    end loop;
end
$drop$;

-- Objects in public that exist now belong to somebody else; whatever the install adds to
-- public from here on is registered as the package's by lib/finish.sql.
create temporary table conductor_public_before on commit drop as
select
    'function' as object_kind,
    p.oid::regprocedure::text as object_identity
from pg_catalog.pg_proc as p
where p.pronamespace = 'public'::regnamespace
union all
select
    case c.relkind when 'v' then 'view' else 'materialized view' end as object_kind,
    c.oid::regclass::text as object_identity
from pg_catalog.pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm');

-- State: tables, indexes, default settings.
-- >>> sql/tables/package.sql
-- The package's own records: which versions were installed into this database, and when.
-- Read by the bridge at startup to refuse a database it does not understand.
select pg_temp.claim_table('conductor', 'installed_versions');
create table if not exists conductor.installed_versions (
    version text not null,
    installed_at timestamptz not null default now(),
    installed_by text not null default current_user,
    constraint installed_versions_pkey primary key (version)
);
alter table conductor.installed_versions enable row level security;
comment on table conductor.installed_versions is
'Each package version installed into this database, with when it was first installed.';
comment on column conductor.installed_versions.version is 'Package version (the VERSION file).';
comment on column conductor.installed_versions.installed_at is 'When this version was first installed.';
comment on column conductor.installed_versions.installed_by is 'Database role that installed it.';
-- >>> sql/tables/settings.sql
-- Business thresholds and operating settings as data: VIP tiers, churn levels, RFM score
-- bounds, lead segments, win-back offers and scalar settings (time zone, quiet hours, caps).
-- Default rows are inserted once; an owner's edits survive every later install.

select pg_temp.claim_table('conductor', 'settings');
create table if not exists conductor.settings (
    key text not null,
    value jsonb not null,
    description text not null,
    updated_at timestamptz not null default now(),
    constraint settings_pkey primary key (key)
);
alter table conductor.settings enable row level security;
comment on table conductor.settings is 'Scalar operating settings; read through conductor.setting(key).';
comment on column conductor.settings.key is 'Setting name.';
comment on column conductor.settings.value is 'Setting value as JSON (a string, number, boolean or object).';
comment on column conductor.settings.description is 'What the setting controls.';
comment on column conductor.settings.updated_at is 'Last change.';

insert into conductor.settings (key, value, description) values
(
    'store_time_zone', '"America/Los_Angeles"',
    'IANA time zone of the store: visits are counted per local calendar day in this zone'
),
('quiet_hours_start', '"08:00"', 'Marketing messages are sent only from this local time on'),
('quiet_hours_end', '"21:00"', 'Marketing messages are sent only before this local time'),
('marketing_cap_messages', '2', 'At most this many marketing messages per number ...'),
('marketing_cap_days', '7', '... within this many days'),
(
    'default_offer', '"$10 off your next purchase"',
    'Win-back offer for customers whose favourite category has no row in conductor.offers'
)
on conflict (key) do nothing;

select pg_temp.claim_table('conductor', 'vip_tiers');
create table if not exists conductor.vip_tiers (
    tier text not null,
    min_visits integer not null,
    constraint vip_tiers_pkey primary key (tier),
    constraint vip_tiers_min_visits_key unique (min_visits),
    constraint vip_tiers_min_visits_check check (min_visits >= 0)
);
alter table conductor.vip_tiers enable row level security;
comment on table conductor.vip_tiers is
'VIP tiers by visit count: a customer gets the tier with the highest min_visits not above their visits.';
comment on column conductor.vip_tiers.tier is 'Tier name as stored in customers.vip_status.';
comment on column conductor.vip_tiers.min_visits is 'Fewest visits (distinct local days) for this tier.';
insert into conductor.vip_tiers (tier, min_visits) values
('New', 0), ('Casual', 2), ('Regular', 6), ('VIP', 16)
on conflict do nothing;

select pg_temp.claim_table('conductor', 'churn_levels');
create table if not exists conductor.churn_levels (
    level text not null,
    min_days integer not null,
    constraint churn_levels_pkey primary key (level),
    constraint churn_levels_min_days_key unique (min_days),
    constraint churn_levels_min_days_check check (min_days >= 0)
);
alter table conductor.churn_levels enable row level security;
comment on table conductor.churn_levels is
'Churn risk by days since the last visit: the level with the highest min_days not above the gap.';
comment on column conductor.churn_levels.level is 'Level name as stored in customers.churn_risk.';
comment on column conductor.churn_levels.min_days is 'Fewest days since the last visit for this level.';
insert into conductor.churn_levels (level, min_days) values
('Low', 0), ('Medium', 30), ('High', 60)
on conflict do nothing;

select pg_temp.claim_table('conductor', 'rfm_scores');
create table if not exists conductor.rfm_scores (
    dimension text not null,
    score smallint not null,
    bound numeric,
    constraint rfm_scores_pkey primary key (dimension, score),
    constraint rfm_scores_dimension_check check (dimension in ('recency', 'frequency', 'monetary')),
    constraint rfm_scores_score_check check (score between 1 and 5)
);
alter table conductor.rfm_scores enable row level security;
comment on table conductor.rfm_scores is
'RFM score bounds. recency: the best score whose bound (days) is >= days since the last visit, '
'else the row with a null bound. frequency (orders) and monetary (net dollars): the best score whose '
'bound is <= the value.';
comment on column conductor.rfm_scores.dimension is 'recency, frequency or monetary.';
comment on column conductor.rfm_scores.score is 'Score 1 (worst) to 5 (best).';
comment on column conductor.rfm_scores.bound is
'recency: most days for this score (null: anything older); frequency, monetary: least value.';
insert into conductor.rfm_scores (dimension, score, bound) values
('recency', 5, 30), ('recency', 4, 60), ('recency', 3, 90), ('recency', 2, 180), ('recency', 1, null),
('frequency', 5, 10), ('frequency', 4, 5), ('frequency', 3, 3), ('frequency', 2, 1), ('frequency', 1, 0),
('monetary', 5, 1000), ('monetary', 4, 500), ('monetary', 3, 200), ('monetary', 2, 50), ('monetary', 1, 0)
on conflict do nothing;

select pg_temp.claim_table('conductor', 'lead_segments');
create table if not exists conductor.lead_segments (
    segment text not null,
    min_score smallint not null,
    constraint lead_segments_pkey primary key (segment),
    constraint lead_segments_min_score_key unique (min_score)
);
alter table conductor.lead_segments enable row level security;
comment on table conductor.lead_segments is
'Lead segments by lead score (3R + 2F + M, 6-30): the segment with the highest min_score not above it.';
comment on column conductor.lead_segments.segment is 'Segment name as stored in customers.lead_segment.';
comment on column conductor.lead_segments.min_score is 'Lowest lead score in this segment.';
insert into conductor.lead_segments (segment, min_score) values
('cold', 6), ('cool', 12), ('warm', 18), ('hot', 24)
on conflict do nothing;

select pg_temp.claim_table('conductor', 'offers');
create table if not exists conductor.offers (
    category text not null,
    offer_text text not null,
    constraint offers_pkey primary key (category)
);
alter table conductor.offers enable row level security;
comment on table conductor.offers is
'Win-back offer per favourite product category; other categories get the default_offer setting.';
comment on column conductor.offers.category is 'Product category as in transaction_items.category.';
comment on column conductor.offers.offer_text is 'Offer text for the win-back message.';
insert into conductor.offers (category, offer_text) values
('Vapes', '20% off all vapes'),
('Edibles', 'Buy 2 get 1 free edibles')
on conflict do nothing;

-- Messaging: outbound sending, compliance keywords and texts, and what the modem bridge is told.
insert into conductor.settings (key, value, description) values
(
    'send_lease_seconds', '300',
    'A claimed outbound message not reported within this many seconds becomes outcome_unknown'
),
('send_max_retries', '3', 'Transient send failures are retried this many times; then the message fails'),
(
    'send_backoff_seconds', '[60, 300, 900]',
    'Wait before retry n (1-based) after a transient send failure; the last value repeats'
),
('sms_max_content_length', '1600', 'Longest outbound text accepted, in characters (about 10 SMS parts)'),
('bridge_poll_seconds', '30', 'The bridge re-checks the queue and lists the SIM at least this often'),
(
    'bridge_multipart_timeout_seconds', '900',
    'The bridge keeps parts of an incomplete multipart SMS on the SIM this long, then stores what it has'
),
('campaign_dispatch_batch_size', '1000', 'Most scheduled messages one campaign dispatch run queues'),
(
    'opt_out_keywords', '["STOP", "END", "CANCEL", "UNSUBSCRIBE", "QUIT", "STOPALL", "REVOKE", "OPTOUT"]',
    'An inbound text that is one of these words (any case, ignoring spaces and punctuation) opts the number out'
),
(
    'opt_in_keywords', '["START", "UNSTOP", "YES"]',
    'From an opted-out number, an inbound text that is one of these words opts it back in'
),
('help_keywords', '["HELP", "INFO"]', 'An inbound text that is one of these words gets the help_text reply'),
(
    'opt_out_confirmation_text',
    '"MoTa: You are unsubscribed and will get no more messages from us. Reply START to resubscribe."',
    'The one reply sent to a number that opts out'
),
(
    'opt_in_confirmation_text',
    '"MoTa: You are subscribed again. Msg frequency varies. Msg&data rates may apply. Reply HELP for help, STOP to opt out."',
    'The reply sent to a number that opts back in'
),
(
    'help_text',
    '"MoTa dispensary: offers and replies from our team. Msg frequency varies. Msg&data rates may apply. Reply STOP to opt out."',
    'The reply to HELP and INFO: program name, frequency, rates and how to opt out'
)
on conflict (key) do nothing;

-- Derived customer data: the weights of the seeds' win-back score.
insert into conductor.settings (key, value, description) values
(
    'win_back_score_weights', '{"lifetime_value": 0.3, "visit": 2, "recency": 30, "loyalty_point": 0.2}',
    'win_back_score = lifetime_value x lifetime_value + total_visits x visit + recency / days since the last '
    'visit + loyalty_points x loyalty_point (the seeds'' 0.3, 10 x 0.2, 100 x 0.3 and 0.2)'
)
on conflict (key) do nothing;

-- Leads, activity timeline, reporting views and cron history.
insert into conductor.settings (key, value, description) values
(
    'lead_probability_customer', '0.8',
    'Conversion probability given to a lead linked to an existing customer (same phone)'
),
('lead_probability_prospect', '0.3', 'Conversion probability given to a lead with no customer on its phone'),
(
    'timeline_live_overlap_hours', '24',
    'get_customer_timeline reads from the base tables every row written within this many hours before the '
    'newest row the materialized timeline holds for the customer (covers transactions that committed during a refresh)'
),
('timeline_max_rows', '500', 'Largest page get_customer_timeline returns (max_rows)'),
(
    'spending_trend_window_days', '90',
    'customer_spending_analysis compares net spend in the last this-many days with the same span before it'
),
(
    'spending_trend_change_ratio', '0.2',
    'A change of net spend beyond this fraction (up or down) between the two windows is rising or declining'
),
('cron_history_retention_days', '14', 'conductor_cleanup_cron_history deletes cron.job_run_details older than this')
on conflict (key) do nothing;
-- >>> sql/tables/customers.sql
-- POS members: identity, contact and loyalty from the POS, plus the metrics Conductor keeps
-- (visits, sales, refunds, value, tiers, RFM). Metric columns are written only by
-- conductor functions; the POS import writes the rest. Business key: member_id.
select pg_temp.claim_table('public', 'customers');
create table if not exists public.customers (
    id bigint generated by default as identity,
    member_id text not null,
    name text,
    phone text,
    email text,
    loyalty_points numeric(12, 2) not null default 0,
    customer_type text,
    member_group text,
    marketing_source text,
    street_address text,
    city text,
    state text,
    zip_code text,
    time_zone text,
    registered_on date,
    total_visits integer not null default 0,
    total_sales integer not null default 0,
    total_refunds integer not null default 0,
    gross_sales numeric(14, 2) not null default 0,
    gross_refunds numeric(14, 2) not null default 0,
    avg_sale_value numeric(12, 2),
    lifetime_value numeric(14, 2) not null default 0,
    date_joined date,
    first_visited date,
    last_visited date,
    days_since_last_visit integer,
    vip_status text,
    churn_risk text,
    rfm_recency smallint,
    rfm_frequency smallint,
    rfm_monetary smallint,
    lead_score smallint,
    lead_segment text,
    last_scored_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customers_pkey primary key (id),
    constraint customers_member_id_key unique (member_id),
    constraint customers_member_id_check check (member_id <> ''),
    constraint customers_phone_check check (phone ~ '^\+[1-9][0-9]{7,14}$'),
    constraint customers_loyalty_points_check check (loyalty_points >= 0),
    constraint customers_counts_check check (total_visits >= 0 and total_sales >= 0 and total_refunds >= 0),
    constraint customers_rfm_check check (
        rfm_recency between 1 and 5 and rfm_frequency between 1 and 5 and rfm_monetary between 1 and 5
    ),
    constraint customers_lead_score_check check (lead_score between 6 and 30)
);
create index if not exists customers_phone_idx on public.customers (phone);
create index if not exists customers_last_visited_idx on public.customers (last_visited);

alter table public.customers enable row level security;

comment on table public.customers is
'POS members with the metrics Conductor maintains as sales arrive. A visit is a distinct calendar '
'day (in the store_time_zone setting) with at least one completed sale.';
comment on column public.customers.id is 'Surrogate key.';
comment on column public.customers.member_id is 'Business key: the POS member id.';
comment on column public.customers.name is 'Full name.';
comment on column public.customers.phone is 'Mobile number in E.164 (+16199773020); US formats are normalized on input.';
comment on column public.customers.email is 'Email address.';
comment on column public.customers.loyalty_points is 'Current loyalty points balance (from the POS).';
comment on column public.customers.customer_type is 'POS customer classification (for example Recreational, Medical).';
comment on column public.customers.member_group is 'POS membership group.';
comment on column public.customers.marketing_source is 'How the customer was acquired.';
comment on column public.customers.street_address is 'Street address.';
comment on column public.customers.city is 'City.';
comment on column public.customers.state is 'State or province.';
comment on column public.customers.zip_code is 'Postal code.';
comment on column public.customers.time_zone is
'IANA time zone for quiet hours when it differs from the store''s; null means the store''s.';
comment on column public.customers.registered_on is 'Registration date from the POS, if known.';
comment on column public.customers.total_visits is
'Maintained: distinct calendar days (store_time_zone) with at least one completed sale.';
comment on column public.customers.total_sales is 'Maintained: completed sale transactions (orders).';
comment on column public.customers.total_refunds is 'Maintained: completed refund transactions.';
comment on column public.customers.gross_sales is 'Maintained: dollars of the completed sales.';
comment on column public.customers.gross_refunds is 'Maintained: dollars of the completed refunds, as a positive amount.';
comment on column public.customers.avg_sale_value is
'Maintained: gross_sales / total_sales rounded to cents; null without sales.';
comment on column public.customers.lifetime_value is 'Maintained: gross_sales - gross_refunds (net dollars).';
comment on column public.customers.date_joined is 'Maintained: the earlier of registered_on and first_visited.';
comment on column public.customers.first_visited is 'Maintained: local date of the first visit.';
comment on column public.customers.last_visited is 'Maintained: local date of the most recent visit.';
comment on column public.customers.days_since_last_visit is
'Days from last_visited to the store''s today (0 for a visit dated later than today); null without '
'visits. Written on every sale and by the nightly refresh; the views and RPCs compute it against today.';
comment on column public.customers.vip_status is
'Tier from conductor.vip_tiers by total_visits: New (0-1), Casual (2-5), Regular (6-15), VIP (16+).';
comment on column public.customers.churn_risk is
'From conductor.churn_levels by days_since_last_visit: Low (<30), Medium (30-59), High (60+); null without visits.';
comment on column public.customers.rfm_recency is
'RFM recency 1-5 from conductor.rfm_scores by days_since_last_visit (5: <=30 ... 1: >180 or no visit).';
comment on column public.customers.rfm_frequency is
'RFM frequency 1-5 from conductor.rfm_scores by total_sales (5: >=10, 4: >=5, 3: >=3, 2: >=1, 1: 0).';
comment on column public.customers.rfm_monetary is
'RFM monetary 1-5 from conductor.rfm_scores by lifetime_value (5: >=$1000 ... 1: <$50).';
comment on column public.customers.lead_score is 'Lead score 3 x recency + 2 x frequency + monetary, from 6 to 30.';
comment on column public.customers.lead_segment is
'Segment of lead_score from conductor.lead_segments: hot (24+), warm (18+), cool (12+), cold (6+).';
comment on column public.customers.last_scored_at is
'When the tier, churn or RFM values last changed (recomputed on every sale, nightly and when thresholds change).';
comment on column public.customers.created_at is 'Row creation time.';
comment on column public.customers.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/products.sql
-- The product catalogue with cannabis and Leafly attributes. Business key: product_id; sku is
-- unique too, because line items and affinity reference products by sku.
select pg_temp.claim_table('public', 'products');
create table if not exists public.products (
    id bigint generated by default as identity,
    product_id text not null,
    sku text,
    name text not null,
    brand text,
    category text,
    strain text,
    flower_type text,
    vendor text,
    thc_content numeric(8, 3),
    cbd_content numeric(8, 3),
    retail_price numeric(12, 2),
    cost numeric(12, 2),
    is_active boolean not null default true,
    leafly_strain_type text,
    leafly_description text,
    leafly_rating numeric(3, 2),
    leafly_review_count integer,
    effects text[],
    helps_with text[],
    negatives text[],
    flavors text[],
    terpenes text[],
    parent_strains text[],
    lineage text,
    image_url text,
    leafly_url text,
    leafly_data_updated timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint products_pkey primary key (id),
    constraint products_product_id_key unique (product_id),
    constraint products_sku_key unique (sku),
    constraint products_prices_check check (retail_price >= 0 and cost >= 0),
    constraint products_potency_check check (thc_content >= 0 and cbd_content >= 0),
    constraint products_leafly_rating_check check (leafly_rating between 0 and 5)
);
create index if not exists products_category_idx on public.products (category);

alter table public.products enable row level security;

comment on table public.products is 'Product catalogue; line items reference it by sku.';
comment on column public.products.id is 'Surrogate key.';
comment on column public.products.product_id is 'Business key: the POS product id.';
comment on column public.products.sku is 'Stock keeping unit; unique.';
comment on column public.products.name is 'Product name.';
comment on column public.products.brand is 'Brand or manufacturer.';
comment on column public.products.category is 'Product category (Flower, Vapes, Edibles, ...).';
comment on column public.products.strain is 'Strain name.';
comment on column public.products.flower_type is 'Indica, Sativa or Hybrid.';
comment on column public.products.vendor is 'Supplier.';
comment on column public.products.thc_content is 'THC content (percent or mg, as the POS records it).';
comment on column public.products.cbd_content is 'CBD content (percent or mg, as the POS records it).';
comment on column public.products.retail_price is 'Current retail price in dollars.';
comment on column public.products.cost is 'Cost price in dollars.';
comment on column public.products.is_active is 'Whether the product is currently sold.';
comment on column public.products.leafly_strain_type is 'Leafly strain classification.';
comment on column public.products.leafly_description is 'Leafly description.';
comment on column public.products.leafly_rating is 'Leafly user rating (0-5).';
comment on column public.products.leafly_review_count is 'Number of Leafly reviews.';
comment on column public.products.effects is 'Effects (Leafly).';
comment on column public.products.helps_with is 'Conditions it may help with (Leafly).';
comment on column public.products.negatives is 'Possible negative effects (Leafly).';
comment on column public.products.flavors is 'Flavour profile (Leafly).';
comment on column public.products.terpenes is 'Terpene profile (Leafly).';
comment on column public.products.parent_strains is 'Parent strains (Leafly).';
comment on column public.products.lineage is 'Strain lineage (Leafly).';
comment on column public.products.image_url is 'Product image URL.';
comment on column public.products.leafly_url is 'Leafly page URL.';
comment on column public.products.leafly_data_updated is 'When the Leafly fields were last refreshed.';
comment on column public.products.created_at is 'Row creation time.';
comment on column public.products.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/staff.sql
-- Staff (budtenders at the counter) per location, with sales performance that Conductor
-- maintains from transactions. Business key: (staff_name, shop_location), the names the POS
-- writes on each transaction (a transaction without a location counts for the staff row whose
-- location is null); a sale by an unknown name adds its staff row.
select pg_temp.claim_table('public', 'staff');
create table if not exists public.staff (
    id bigint generated by default as identity,
    staff_name text not null,
    shop_location text,
    employee_id text,
    role text,
    is_active boolean not null default true,
    hire_date date,
    total_transactions integer not null default 0,
    total_refunds integer not null default 0,
    gross_sales numeric(14, 2) not null default 0,
    gross_refunds numeric(14, 2) not null default 0,
    total_sales numeric(14, 2) not null default 0,
    avg_transaction_value numeric(12, 2),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint staff_pkey primary key (id),
    constraint staff_name_location_key unique nulls not distinct (staff_name, shop_location),
    constraint staff_employee_id_key unique (employee_id),
    constraint staff_staff_name_check check (staff_name <> ''),
    constraint staff_total_transactions_check check (total_transactions >= 0 and total_refunds >= 0)
);

alter table public.staff enable row level security;

comment on table public.staff is
'Staff per location with sales performance maintained from completed transactions (voided ones count '
'nowhere). Transactions with a blank staff_name count for nobody.';
comment on column public.staff.id is 'Surrogate key.';
comment on column public.staff.staff_name is 'Name as the POS writes it on transactions.';
comment on column public.staff.shop_location is 'Store location; null for transactions the POS wrote without one.';
comment on column public.staff.employee_id is 'Employee number, if known.';
comment on column public.staff.role is 'Position.';
comment on column public.staff.is_active is 'Currently employed.';
comment on column public.staff.hire_date is 'Date hired.';
comment on column public.staff.total_transactions is 'Maintained: completed sale transactions handled.';
comment on column public.staff.total_refunds is 'Maintained: completed refund transactions handled.';
comment on column public.staff.gross_sales is 'Maintained: dollars of the completed sales handled.';
comment on column public.staff.gross_refunds is 'Maintained: dollars refunded in the refunds handled (a positive amount).';
comment on column public.staff.total_sales is 'Maintained: net dollars handled, gross_sales - gross_refunds.';
comment on column public.staff.avg_transaction_value is
'Maintained: gross_sales / total_transactions, rounded to cents; null without sales.';
comment on column public.staff.created_at is 'Row creation time.';
comment on column public.staff.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/transactions.sql
-- POS transactions: sales and refunds, each optionally tied to a member (walk-ins have none).
-- Voided transactions stay as history but count nowhere. Business key: transaction_id.
select pg_temp.claim_table('public', 'transactions');
create table if not exists public.transactions (
    id bigint generated by default as identity,
    transaction_id text not null,
    customer_id text,
    date timestamptz not null,
    shop_location text,
    staff_name text,
    terminal text,
    payment_type text,
    transaction_type text not null default 'sale',
    status text not null default 'completed',
    refunded_transaction_id text,
    total_amount numeric(12, 2) not null,
    total_tax numeric(12, 2) not null default 0,
    discounts numeric(12, 2) not null default 0,
    loyalty_points_earned numeric(12, 2) not null default 0,
    loyalty_points_spent numeric(12, 2) not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint transactions_pkey primary key (id),
    constraint transactions_transaction_id_key unique (transaction_id),
    constraint transactions_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete restrict,
    constraint transactions_refunded_transaction_id_fkey foreign key (refunded_transaction_id)
    references public.transactions (transaction_id) on update cascade on delete set null,
    constraint transactions_transaction_id_check check (transaction_id <> ''),
    constraint transactions_type_check check (transaction_type in ('sale', 'refund')),
    constraint transactions_status_check check (status in ('completed', 'voided')),
    constraint transactions_amount_sign_check check (
        (transaction_type = 'sale' and total_amount >= 0)
        or (transaction_type = 'refund' and total_amount <= 0)
    ),
    constraint transactions_refund_link_check check (
        refunded_transaction_id is null or transaction_type = 'refund'
    ),
    constraint transactions_loyalty_check check (loyalty_points_earned >= 0 and loyalty_points_spent >= 0)
);
create index if not exists transactions_customer_id_date_idx
on public.transactions (customer_id, date) include (total_amount, transaction_type, status);
create index if not exists transactions_refunded_transaction_id_idx
on public.transactions (refunded_transaction_id);
create index if not exists transactions_staff_idx on public.transactions (staff_name, shop_location);
create index if not exists transactions_date_idx on public.transactions (date);

alter table public.transactions enable row level security;

comment on table public.transactions is
'POS transactions. A refund has transaction_type refund and a negative total_amount; a voided '
'transaction (status voided) counts in no metric.';
comment on column public.transactions.id is 'Surrogate key.';
comment on column public.transactions.transaction_id is 'Business key: the POS transaction id.';
comment on column public.transactions.customer_id is 'Member (customers.member_id); null for a walk-in sale.';
comment on column public.transactions.date is 'When the sale happened.';
comment on column public.transactions.shop_location is 'Store location.';
comment on column public.transactions.staff_name is 'Budtender who rang the sale (staff.staff_name).';
comment on column public.transactions.terminal is 'POS terminal.';
comment on column public.transactions.payment_type is 'Payment method.';
comment on column public.transactions.transaction_type is 'sale or refund.';
comment on column public.transactions.status is 'completed or voided.';
comment on column public.transactions.refunded_transaction_id is 'For a refund: the sale it refunds, if known.';
comment on column public.transactions.total_amount is 'Total in dollars: >= 0 for a sale, <= 0 for a refund.';
comment on column public.transactions.total_tax is 'Tax in dollars.';
comment on column public.transactions.discounts is 'Discounts in dollars.';
comment on column public.transactions.loyalty_points_earned is 'Loyalty points earned.';
comment on column public.transactions.loyalty_points_spent is 'Loyalty points spent.';
comment on column public.transactions.created_at is 'Row creation time.';
comment on column public.transactions.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/transaction_items.sql
-- Line items of transactions, with product attributes as sold. Business key:
-- (transaction_id, line_number); deleting a transaction deletes its lines.
select pg_temp.claim_table('public', 'transaction_items');
create table if not exists public.transaction_items (
    id bigint generated by default as identity,
    transaction_id text not null,
    line_number integer not null,
    product_sku text,
    product_name text,
    brand text,
    category text,
    strain text,
    flower_type text,
    quantity integer not null,
    unit_price numeric(12, 2) not null,
    discount numeric(12, 2) not null default 0,
    total_price numeric(12, 2) not null,
    thc_content numeric(8, 3),
    cbd_content numeric(8, 3),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint transaction_items_pkey primary key (id),
    constraint transaction_items_line_key unique (transaction_id, line_number),
    constraint transaction_items_transaction_id_fkey foreign key (transaction_id)
    references public.transactions (transaction_id) on update cascade on delete cascade,
    constraint transaction_items_product_sku_fkey foreign key (product_sku)
    references public.products (sku) on update cascade on delete restrict,
    constraint transaction_items_line_number_check check (line_number > 0),
    constraint transaction_items_quantity_check check (quantity > 0),
    constraint transaction_items_unit_price_check check (unit_price >= 0),
    constraint transaction_items_discount_check check (discount >= 0)
);
create index if not exists transaction_items_product_sku_idx on public.transaction_items (product_sku);

alter table public.transaction_items enable row level security;

comment on table public.transaction_items is
'Line items. On a refund transaction total_price is negative (money returned); quantity is always positive.';
comment on column public.transaction_items.id is 'Surrogate key.';
comment on column public.transaction_items.transaction_id is 'Transaction (transactions.transaction_id).';
comment on column public.transaction_items.line_number is 'Line number within the transaction, from 1.';
comment on column public.transaction_items.product_sku is 'Product (products.sku); null if the POS had none.';
comment on column public.transaction_items.product_name is 'Product name at the time of sale.';
comment on column public.transaction_items.brand is 'Brand at the time of sale.';
comment on column public.transaction_items.category is 'Category at the time of sale.';
comment on column public.transaction_items.strain is 'Strain.';
comment on column public.transaction_items.flower_type is 'Flower type.';
comment on column public.transaction_items.quantity is 'Units; always positive.';
comment on column public.transaction_items.unit_price is 'Price per unit in dollars.';
comment on column public.transaction_items.discount is 'Line discount in dollars.';
comment on column public.transaction_items.total_price is 'Line total in dollars; negative on a refund.';
comment on column public.transaction_items.thc_content is 'THC content as sold.';
comment on column public.transaction_items.cbd_content is 'CBD content as sold.';
comment on column public.transaction_items.created_at is 'Row creation time.';
comment on column public.transaction_items.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/messages.sql
-- The SMS log, both directions, and the outbound queue the modem bridge drains.
-- Inbound: unread -> read. Outbound: queued -> sending -> sent | failed | outcome_unknown
-- (a crash between claim and modem answer), or cancelled. Duplicate detection: message_hash.
-- The transitions are enforced by triggers (sql/triggers/messaging.sql).
select pg_temp.claim_table('public', 'messages');
create table if not exists public.messages (
    id bigint generated by default as identity,
    phone_number text not null,
    content text not null,
    timestamp timestamptz not null default now(),
    modem_timestamp timestamptz,
    direction text not null,
    status text not null,
    message_kind text not null default 'reply',
    message_hash text not null,
    customer_id text,
    in_reply_to bigint,
    modem_index integer,
    retry_count integer not null default 0,
    last_retry_at timestamptz,
    next_attempt_at timestamptz,
    claimed_by text,
    claimed_at timestamptz,
    lease_expires_at timestamptz,
    sent_at timestamptz,
    modem_reference integer,
    parts smallint,
    error_code text,
    error_message text,
    read_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint messages_pkey primary key (id),
    constraint messages_message_hash_key unique (message_hash),
    constraint messages_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete set null,
    constraint messages_in_reply_to_fkey foreign key (in_reply_to)
    references public.messages (id) on delete set null,
    constraint messages_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    constraint messages_direction_check check (direction in ('inbound', 'outbound')),
    constraint messages_status_check check (
        (direction = 'inbound' and status in ('unread', 'read'))
        or (
            direction = 'outbound'
            and status in ('queued', 'sending', 'sent', 'failed', 'outcome_unknown', 'cancelled')
        )
    ),
    constraint messages_kind_check check (message_kind in ('reply', 'marketing', 'system')),
    constraint messages_retry_count_check check (retry_count >= 0)
);
create index if not exists messages_phone_number_timestamp_idx on public.messages (phone_number, timestamp);
create index if not exists messages_customer_id_idx on public.messages (customer_id);
create index if not exists messages_in_reply_to_idx on public.messages (in_reply_to);
create index if not exists messages_outbound_due_idx on public.messages (message_kind, next_attempt_at, id)
where direction = 'outbound' and status = 'queued';
create index if not exists messages_sending_idx on public.messages (lease_expires_at)
where status = 'sending';

alter table public.messages enable row level security;

comment on table public.messages is
'SMS in and out. Outbound rows are queued here (through conductor functions or by insert) and the '
'modem bridge claims, sends and records them; inbound rows arrive from the bridge.';
comment on column public.messages.id is 'Surrogate key.';
comment on column public.messages.phone_number is 'The other party, E.164.';
comment on column public.messages.content is 'Message text (multipart messages joined).';
comment on column public.messages.timestamp is 'When the message was received or queued.';
comment on column public.messages.modem_timestamp is 'Inbound: the network (SMSC) timestamp. Outbound: when the modem accepted it.';
comment on column public.messages.direction is 'inbound or outbound.';
comment on column public.messages.status is
'inbound: unread, read. outbound: queued, sending, sent, failed, outcome_unknown, cancelled.';
comment on column public.messages.message_kind is
'reply (conversation), marketing (quiet hours and frequency cap apply unless in_reply_to is set) or '
'system (compliance replies).';
comment on column public.messages.message_hash is
'Duplicate-detection key; unique. Inbound: sha256 of sender, network timestamp and text (computed when '
'absent), so the same SMS stored twice is one row. Outbound: "outbound:<id>" when absent (every row '
'unique); a caller may pass its own idempotency key instead, and a second insert with the same key '
'is refused with 23505 (or ignored with on conflict (message_hash) do nothing).';
comment on column public.messages.customer_id is 'Customer with this phone, when known.';
comment on column public.messages.in_reply_to is 'For a reply: the inbound message it answers.';
comment on column public.messages.modem_index is 'Inbound: SIM storage index the message was read from.';
comment on column public.messages.retry_count is 'Outbound: failed send attempts so far.';
comment on column public.messages.last_retry_at is 'Outbound: when the last failed attempt ended.';
comment on column public.messages.next_attempt_at is
'Outbound: not sent before this time (backoff, quiet hours); set to the queue time when absent.';
comment on column public.messages.claimed_by is 'Outbound: bridge that claimed the message for sending.';
comment on column public.messages.claimed_at is 'Outbound: when it was claimed.';
comment on column public.messages.lease_expires_at is
'Outbound: a send still open after this is outcome_unknown (never resent automatically).';
comment on column public.messages.sent_at is 'Outbound: when the modem confirmed the send.';
comment on column public.messages.modem_reference is 'Outbound: message reference from +CMGS (last part).';
comment on column public.messages.parts is 'Number of SMS parts.';
comment on column public.messages.error_code is 'Last error code (for example CMS:330, timeout).';
comment on column public.messages.error_message is 'Last error text.';
comment on column public.messages.read_at is 'Inbound: when it was marked read.';
comment on column public.messages.created_at is 'Row creation time.';
comment on column public.messages.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/leads.sql
-- Leads: people who texted (or were entered) and may become or already are customers.
-- Linked to the customer with the same phone when one exists (sql/functions/leads/linking.sql
-- keeps customer_id, conversion_probability and the new -> warm promotion). Business key:
-- phone_number. Their history (created, linked, unlinked, status changed) is
-- conductor.lead_events, written by trigger and shown in the activity timeline.
select pg_temp.claim_table('public', 'leads');
create table if not exists public.leads (
    id bigint generated by default as identity,
    phone_number text not null,
    lead_status text not null default 'new',
    conversation_stage text not null default 'initial',
    last_message text,
    last_message_at timestamptz,
    source text,
    customer_id text,
    conversion_probability numeric(4, 3),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint leads_pkey primary key (id),
    constraint leads_phone_number_key unique (phone_number),
    constraint leads_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete set null,
    constraint leads_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    constraint leads_lead_status_check check (
        lead_status in ('new', 'warm', 'hot', 'cold', 'converted', 'lost')
    ),
    constraint leads_conversion_probability_check check (conversion_probability between 0 and 1)
);
create index if not exists leads_customer_id_idx on public.leads (customer_id);

alter table public.leads enable row level security;

comment on table public.leads is
'Leads from SMS and other sources, linked by Conductor to the customer with the same phone (the most '
'recent visitor when several share it). A linked lead is never new: new becomes warm.';
comment on column public.leads.id is 'Surrogate key.';
comment on column public.leads.phone_number is 'Business key: the lead''s phone, E.164.';
comment on column public.leads.lead_status is
'new, warm, hot, cold, converted or lost. Conductor only ever changes new to warm (when the lead is '
'linked to a customer); every other status is the workflow''s.';
comment on column public.leads.conversation_stage is 'Where the SMS conversation stands (free text set by the workflow).';
comment on column public.leads.last_message is 'Last message received from the lead.';
comment on column public.leads.last_message_at is 'When the last message arrived.';
comment on column public.leads.source is 'Where the lead came from (sms, web, event, ...).';
comment on column public.leads.customer_id is
'Linked customer (customers.member_id with the same phone; the most recent visitor when several share it). '
'Maintained by Conductor on every insert and update of the lead and whenever a customer gains, loses or '
'changes that phone; a value written here is replaced.';
comment on column public.leads.conversion_probability is
'Estimated probability (0-1) the lead converts. Set from the settings lead_probability_customer (linked) '
'or lead_probability_prospect (not linked) when the lead is created without one and whenever its link '
'changes; a value the workflow writes is kept until the link changes again.';
comment on column public.leads.created_at is 'Row creation time.';
comment on column public.leads.updated_at is 'Last change, maintained by trigger.';

-- The history of each lead, one row per event, written by the statement-level triggers of
-- sql/triggers/leads.sql (never by hand). customer_id and previous_customer_id record the
-- member ids at the time, as history: no foreign key, they survive the customer.
select pg_temp.claim_table('conductor', 'lead_events');
create table if not exists conductor.lead_events (
    id bigint generated by default as identity,
    lead_id bigint not null,
    event text not null,
    occurred_at timestamptz not null default now(),
    customer_id text,
    previous_customer_id text,
    old_status text,
    new_status text,
    conversion_probability numeric(4, 3),
    constraint lead_events_pkey primary key (id),
    constraint lead_events_lead_id_fkey foreign key (lead_id)
    references public.leads (id) on delete cascade,
    constraint lead_events_event_check check (event in ('created', 'linked', 'unlinked', 'status_changed'))
);
create index if not exists lead_events_lead_id_idx on conductor.lead_events (lead_id, occurred_at);

alter table conductor.lead_events enable row level security;

comment on table conductor.lead_events is
'History of each lead: created, linked (to a customer), unlinked, status_changed. Written by trigger; '
'read through public.customer_activity_timeline and public.get_customer_timeline.';
comment on column conductor.lead_events.id is 'Surrogate key.';
comment on column conductor.lead_events.lead_id is 'The lead (leads.id); its events go with it.';
comment on column conductor.lead_events.event is 'created, linked, unlinked or status_changed.';
comment on column conductor.lead_events.occurred_at is
'When it happened: the lead''s created_at for created, the changing transaction''s time otherwise.';
comment on column conductor.lead_events.customer_id is
'Member id at the time: the customer linked to (linked), left (unlinked), or linked then (created, status_changed).';
comment on column conductor.lead_events.previous_customer_id is 'linked: the customer it was linked to before, if any.';
comment on column conductor.lead_events.old_status is 'status_changed: the status before.';
comment on column conductor.lead_events.new_status is 'created: the first status; status_changed: the status after.';
comment on column conductor.lead_events.conversion_probability is 'The lead''s conversion probability after the event.';
-- >>> sql/tables/customer_visit_patterns.sql
-- Per-customer visit rhythm, maintained by Conductor from transactions: gaps between visits,
-- their consistency, the predicted next visit and how late the customer is against it.
select pg_temp.claim_table('public', 'customer_visit_patterns');
create table if not exists public.customer_visit_patterns (
    customer_id text not null,
    total_visits integer not null default 0,
    avg_days_between_visits numeric(10, 2),
    visit_consistency_score numeric(4, 2),
    predicted_next_visit date,
    last_visit_deviation_days integer,
    longest_gap_days integer,
    shortest_gap_days integer,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customer_visit_patterns_pkey primary key (customer_id),
    constraint customer_visit_patterns_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade,
    constraint customer_visit_patterns_consistency_check check (visit_consistency_score between 0 and 10)
);
create index if not exists customer_visit_patterns_predicted_next_visit_idx
on public.customer_visit_patterns (predicted_next_visit);

alter table public.customer_visit_patterns enable row level security;

comment on table public.customer_visit_patterns is
'Maintained visit rhythm, one row per customer with at least one visit (a distinct calendar day in the '
'store_time_zone setting with a completed sale). A gap is the number of days between two consecutive visits.';
comment on column public.customer_visit_patterns.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_visit_patterns.total_visits is 'Visits (distinct local days), as customers.total_visits.';
comment on column public.customer_visit_patterns.avg_days_between_visits is
'Mean gap = (last visit - first visit) / (visits - 1), rounded to 2 decimals; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.visit_consistency_score is
'0-10, higher is more regular: 10 x (1 - CV) clamped to 0-10 and rounded to 2 decimals, where CV is the '
'population standard deviation of the gaps divided by their mean (equal gaps: 10; CV of 1 or more: 0); '
'null with fewer than 3 visits (fewer than 2 gaps).';
comment on column public.customer_visit_patterns.predicted_next_visit is
'Last visit + avg_days_between_visits rounded to whole days; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.last_visit_deviation_days is
'Store''s today - predicted_next_visit: days since the last visit minus the rounded mean gap; positive '
'means late against their own rhythm. Refreshed nightly; the RPCs compute it against today.';
comment on column public.customer_visit_patterns.longest_gap_days is 'Longest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.shortest_gap_days is 'Shortest gap; null with fewer than 2 visits.';
comment on column public.customer_visit_patterns.created_at is 'Row creation time.';
comment on column public.customer_visit_patterns.updated_at is 'Last change.';
-- >>> sql/tables/customer_product_affinity.sql
-- Per customer and product: how often and how much they bought it, maintained by Conductor
-- from completed transactions (refunds reduce the amounts; voided ones count nowhere). One row
-- per (customer, sku) with at least one completed sale line; lines without a sku count nowhere.
select pg_temp.claim_table('public', 'customer_product_affinity');
create table if not exists public.customer_product_affinity (
    customer_id text not null,
    product_sku text not null,
    product_name text,
    category text,
    brand text,
    purchase_count integer not null default 0,
    units_purchased integer not null default 0,
    total_spent numeric(14, 2) not null default 0,
    first_purchased date,
    last_purchased date,
    avg_price_paid numeric(12, 2),
    repurchase_rate numeric(5, 4),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint customer_product_affinity_pkey primary key (customer_id, product_sku),
    constraint customer_product_affinity_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete cascade,
    constraint customer_product_affinity_product_sku_fkey foreign key (product_sku)
    references public.products (sku) on update cascade on delete cascade,
    constraint customer_product_affinity_repurchase_rate_check check (repurchase_rate between 0 and 1)
);
create index if not exists customer_product_affinity_product_sku_idx
on public.customer_product_affinity (product_sku);

alter table public.customer_product_affinity enable row level security;

comment on table public.customer_product_affinity is
'Maintained purchase history per customer and product: one row per (customer, sku) bought in at least '
'one completed sale. Days are calendar days in the store_time_zone setting.';
comment on column public.customer_product_affinity.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_product_affinity.product_sku is 'Product (products.sku).';
comment on column public.customer_product_affinity.product_name is 'Product name as sold on the latest sale line.';
comment on column public.customer_product_affinity.category is 'Category as sold on the latest sale line.';
comment on column public.customer_product_affinity.brand is 'Brand as sold on the latest sale line.';
comment on column public.customer_product_affinity.purchase_count is 'Completed sale transactions containing the product.';
comment on column public.customer_product_affinity.units_purchased is 'Units on those sale lines (refunds not deducted).';
comment on column public.customer_product_affinity.total_spent is
'Dollars on its completed sale lines minus the dollars on its completed refund lines: net spend.';
comment on column public.customer_product_affinity.first_purchased is 'Local date of the first completed sale with it.';
comment on column public.customer_product_affinity.last_purchased is 'Local date of the latest completed sale with it.';
comment on column public.customer_product_affinity.avg_price_paid is
'Dollars on its sale lines / units on them, rounded to cents: the unit price actually paid.';
comment on column public.customer_product_affinity.repurchase_rate is
'Of the customer''s visits after the first purchase of this product, the share in which they bought '
'it again (0-1, 4 decimals); null until the customer has visited again.';
comment on column public.customer_product_affinity.created_at is 'Row creation time.';
comment on column public.customer_product_affinity.updated_at is 'Last change.';
-- >>> sql/tables/campaign_messages.sql
-- Bulk campaign drafts for review and export, with the customer context they were written
-- from; conductor_message_id links the sent message and delivery_status follows it.
select pg_temp.claim_table('public', 'campaign_messages');
create table if not exists public.campaign_messages (
    id bigint generated by default as identity,
    customer_id text,
    customer_name text,
    phone_number text,
    customer_segment text,
    message_content text not null,
    strategy_type text,
    confidence numeric(4, 3),
    reasoning text,
    days_since_visit integer,
    favorite_budtender text,
    favorite_product text,
    total_visits integer,
    lifetime_value numeric(14, 2),
    preferred_day text,
    preferred_time text,
    scheduling_reasoning text,
    generated_by text,
    generation_cost numeric(10, 4),
    generated_at timestamptz,
    status text not null default 'draft',
    campaign_name text,
    campaign_batch_id text,
    priority integer,
    exported_at timestamptz,
    exported_to text,
    conductor_message_id bigint,
    delivery_status text,
    reviewed_by text,
    reviewed_at timestamptz,
    feedback_notes text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint campaign_messages_pkey primary key (id),
    constraint campaign_messages_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete set null,
    constraint campaign_messages_conductor_message_id_fkey foreign key (conductor_message_id)
    references public.messages (id) on delete set null,
    constraint campaign_messages_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    constraint campaign_messages_status_check check (
        status in ('draft', 'approved', 'rejected', 'exported', 'sent', 'failed')
    ),
    constraint campaign_messages_confidence_check check (confidence between 0 and 1)
);
create index if not exists campaign_messages_customer_id_idx on public.campaign_messages (customer_id);
create index if not exists campaign_messages_conductor_message_id_idx
on public.campaign_messages (conductor_message_id);

alter table public.campaign_messages enable row level security;

comment on table public.campaign_messages is 'Campaign drafts for review and export, linked to the sent message.';
comment on column public.campaign_messages.id is 'Surrogate key.';
comment on column public.campaign_messages.customer_id is 'Target customer (customers.member_id).';
comment on column public.campaign_messages.customer_name is 'Customer name when generated.';
comment on column public.campaign_messages.phone_number is 'Destination, E.164.';
comment on column public.campaign_messages.customer_segment is 'Targeted segment.';
comment on column public.campaign_messages.message_content is 'Draft text.';
comment on column public.campaign_messages.strategy_type is 'Campaign strategy.';
comment on column public.campaign_messages.confidence is 'Generator confidence 0-1.';
comment on column public.campaign_messages.reasoning is 'Why this message.';
comment on column public.campaign_messages.days_since_visit is 'Days since the last visit when generated.';
comment on column public.campaign_messages.favorite_budtender is 'Favourite budtender when generated.';
comment on column public.campaign_messages.favorite_product is 'Favourite product when generated.';
comment on column public.campaign_messages.total_visits is 'Visits when generated.';
comment on column public.campaign_messages.lifetime_value is 'Lifetime value when generated.';
comment on column public.campaign_messages.preferred_day is 'Suggested day to send.';
comment on column public.campaign_messages.preferred_time is 'Suggested time to send.';
comment on column public.campaign_messages.scheduling_reasoning is 'Why that day and time.';
comment on column public.campaign_messages.generated_by is 'Who or what wrote it.';
comment on column public.campaign_messages.generation_cost is 'Generation cost in dollars.';
comment on column public.campaign_messages.generated_at is 'When it was generated.';
comment on column public.campaign_messages.status is 'draft, approved, rejected, exported, sent or failed.';
comment on column public.campaign_messages.campaign_name is 'Campaign name.';
comment on column public.campaign_messages.campaign_batch_id is 'Campaign batch.';
comment on column public.campaign_messages.priority is 'Send priority (higher first).';
comment on column public.campaign_messages.exported_at is 'When it was exported.';
comment on column public.campaign_messages.exported_to is 'Where it was exported (for example scheduled_messages).';
comment on column public.campaign_messages.conductor_message_id is
'The messages row it became (set by campaign dispatch through scheduled_messages.campaign_message_id, '
'or by the workflow).';
comment on column public.campaign_messages.delivery_status is
'Status of that messages row, kept by trigger; status becomes sent or failed with it.';
comment on column public.campaign_messages.reviewed_by is 'Reviewer.';
comment on column public.campaign_messages.reviewed_at is 'Review time.';
comment on column public.campaign_messages.feedback_notes is 'Reviewer notes.';
comment on column public.campaign_messages.created_at is 'Row creation time.';
comment on column public.campaign_messages.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/scheduled_messages.sql
-- Campaign messages scheduled for a time: due rows move into messages as queued (linked by
-- message_id) under the same compliance rules, and their delivery status flows back here.
select pg_temp.claim_table('public', 'scheduled_messages');
create table if not exists public.scheduled_messages (
    id bigint generated by default as identity,
    customer_id text,
    phone_number text not null,
    customer_segment text,
    message_content text not null,
    original_message text,
    message_id bigint,
    campaign_message_id bigint,
    generated_by text,
    generation_prompt text,
    generation_model text,
    generation_cost numeric(10, 4),
    strategy_type text,
    reasoning text,
    confidence_score numeric(4, 3),
    days_since_visit integer,
    favorite_budtender text,
    favorite_product text,
    scheduled_send_time timestamptz not null,
    actual_send_time timestamptz,
    status text not null default 'scheduled',
    delivery_status text,
    error_message text,
    campaign_name text,
    campaign_batch_id text,
    reviewed_by text,
    reviewed_at timestamptz,
    human_override boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint scheduled_messages_pkey primary key (id),
    constraint scheduled_messages_message_id_key unique (message_id),
    constraint scheduled_messages_customer_id_fkey foreign key (customer_id)
    references public.customers (member_id) on update cascade on delete set null,
    constraint scheduled_messages_message_id_fkey foreign key (message_id)
    references public.messages (id) on delete set null,
    constraint scheduled_messages_campaign_message_id_fkey foreign key (campaign_message_id)
    references public.campaign_messages (id) on delete set null,
    constraint scheduled_messages_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{7,14}$'),
    constraint scheduled_messages_status_check check (
        status in ('draft', 'scheduled', 'queued', 'sent', 'failed', 'outcome_unknown', 'skipped', 'cancelled')
    ),
    constraint scheduled_messages_confidence_check check (confidence_score between 0 and 1)
);
create index if not exists scheduled_messages_customer_id_idx on public.scheduled_messages (customer_id);
create index if not exists scheduled_messages_due_idx on public.scheduled_messages (scheduled_send_time)
where status = 'scheduled';
create index if not exists scheduled_messages_campaign_message_id_idx
on public.scheduled_messages (campaign_message_id);
create index if not exists scheduled_messages_campaign_idx
on public.scheduled_messages (campaign_name, campaign_batch_id);

alter table public.scheduled_messages enable row level security;

comment on table public.scheduled_messages is
'Scheduled campaign messages; a pg_cron job (conductor_dispatch_campaigns) queues due rows into messages '
'as marketing and links message_id; the message''s status flows back here.';
comment on column public.scheduled_messages.id is 'Surrogate key.';
comment on column public.scheduled_messages.customer_id is 'Target customer (customers.member_id).';
comment on column public.scheduled_messages.phone_number is 'Destination, E.164.';
comment on column public.scheduled_messages.customer_segment is 'Segment the campaign targeted.';
comment on column public.scheduled_messages.message_content is 'Text to send.';
comment on column public.scheduled_messages.original_message is 'Text before human edits.';
comment on column public.scheduled_messages.message_id is 'The queued messages row, once dispatched.';
comment on column public.scheduled_messages.campaign_message_id is
'The campaign_messages draft this was exported from, if any; dispatch links its conductor_message_id.';
comment on column public.scheduled_messages.generated_by is 'Who or what wrote the text.';
comment on column public.scheduled_messages.generation_prompt is 'Prompt used to generate it.';
comment on column public.scheduled_messages.generation_model is 'Model used to generate it.';
comment on column public.scheduled_messages.generation_cost is 'Generation cost in dollars.';
comment on column public.scheduled_messages.strategy_type is 'Campaign strategy.';
comment on column public.scheduled_messages.reasoning is 'Why this message for this customer.';
comment on column public.scheduled_messages.confidence_score is 'Generator confidence 0-1.';
comment on column public.scheduled_messages.days_since_visit is 'Days since the last visit when generated.';
comment on column public.scheduled_messages.favorite_budtender is 'Favourite budtender when generated.';
comment on column public.scheduled_messages.favorite_product is 'Favourite product when generated.';
comment on column public.scheduled_messages.scheduled_send_time is 'Not sent before this time.';
comment on column public.scheduled_messages.actual_send_time is 'When the modem sent it (follows messages.sent_at).';
comment on column public.scheduled_messages.status is
'draft, scheduled, queued (in messages, not finished), sent, failed, outcome_unknown (the modem never '
'answered; not resent), skipped (a rule refused it: opted out, frequency cap) or cancelled.';
comment on column public.scheduled_messages.delivery_status is
'Status of the linked messages row (queued, sending, sent, failed, outcome_unknown, cancelled), kept by trigger.';
comment on column public.scheduled_messages.error_message is 'Why it failed or was skipped.';
comment on column public.scheduled_messages.campaign_name is 'Campaign name.';
comment on column public.scheduled_messages.campaign_batch_id is 'Campaign batch.';
comment on column public.scheduled_messages.reviewed_by is 'Reviewer.';
comment on column public.scheduled_messages.reviewed_at is 'Review time.';
comment on column public.scheduled_messages.human_override is 'Whether a human changed the generated text.';
comment on column public.scheduled_messages.created_at is 'Row creation time.';
comment on column public.scheduled_messages.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/budtenders.sql
-- Budtenders of partner dispensaries enrolled in the rewards programme (contact and points).
select pg_temp.claim_table('public', 'budtenders');
create table if not exists public.budtenders (
    id bigint generated by default as identity,
    first_name text not null,
    last_name text,
    phone text,
    email text,
    dispensary_name text,
    points integer not null default 0,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint budtenders_pkey primary key (id),
    constraint budtenders_phone_key unique (phone),
    constraint budtenders_phone_check check (phone ~ '^\+[1-9][0-9]{7,14}$'),
    constraint budtenders_points_check check (points >= 0)
);

alter table public.budtenders enable row level security;

comment on table public.budtenders is 'Budtenders in the rewards programme.';
comment on column public.budtenders.id is 'Surrogate key.';
comment on column public.budtenders.first_name is 'First name.';
comment on column public.budtenders.last_name is 'Last name.';
comment on column public.budtenders.phone is 'Mobile, E.164; unique.';
comment on column public.budtenders.email is 'Email.';
comment on column public.budtenders.dispensary_name is 'Dispensary they work at.';
comment on column public.budtenders.points is 'Reward points.';
comment on column public.budtenders.created_at is 'Row creation time.';
comment on column public.budtenders.updated_at is 'Last change, maintained by trigger.';
-- >>> sql/tables/opt_outs.sql
-- SMS consent: the numbers that opted out (current state) and every consent event
-- (STOP, START, HELP) as an append-only history.
select pg_temp.claim_table('conductor', 'opt_outs');
create table if not exists conductor.opt_outs (
    phone_number text not null,
    opted_out_at timestamptz not null default now(),
    keyword text,
    source_message_id bigint,
    confirmation_message_id bigint,
    constraint opt_outs_pkey primary key (phone_number),
    constraint opt_outs_confirmation_message_id_fkey foreign key (confirmation_message_id)
    references public.messages (id) on delete set null,
    constraint opt_outs_phone_number_check check (phone_number ~ '^\+[1-9][0-9]{7,14}$')
);
create index if not exists opt_outs_confirmation_message_id_idx on conductor.opt_outs (confirmation_message_id);
alter table conductor.opt_outs enable row level security;
comment on table conductor.opt_outs is
'Numbers that must not receive any message except the opt-out confirmation. Inserting a row (by the '
'STOP keywords or by an operator) cancels the messages still queued to the number; deleting it (START) '
'opts the number back in.';
comment on column conductor.opt_outs.phone_number is 'Opted-out number, E.164.';
comment on column conductor.opt_outs.opted_out_at is 'When the opt-out arrived.';
comment on column conductor.opt_outs.keyword is 'Keyword that opted out (STOP, END, ...), or null when set by an operator.';
comment on column conductor.opt_outs.source_message_id is 'Inbound message that carried the keyword.';
comment on column conductor.opt_outs.confirmation_message_id is
'The one confirmation queued for this opt-out: the only message that may still go to the number.';

select pg_temp.claim_table('conductor', 'consent_events');
create table if not exists conductor.consent_events (
    id bigint generated by default as identity,
    phone_number text not null,
    event text not null,
    keyword text,
    source_message_id bigint,
    occurred_at timestamptz not null default now(),
    constraint consent_events_pkey primary key (id),
    constraint consent_events_event_check check (event in ('opt_out', 'opt_in', 'help'))
);
create index if not exists consent_events_phone_number_idx on conductor.consent_events (phone_number, occurred_at);
alter table conductor.consent_events enable row level security;
comment on table conductor.consent_events is 'Append-only history of opt-outs, opt-ins and HELP requests.';
comment on column conductor.consent_events.id is 'Surrogate key.';
comment on column conductor.consent_events.phone_number is 'Number, E.164.';
comment on column conductor.consent_events.event is 'opt_out, opt_in or help.';
comment on column conductor.consent_events.keyword is 'Keyword received.';
comment on column conductor.consent_events.source_message_id is 'Inbound message that carried it.';
comment on column conductor.consent_events.occurred_at is 'When it happened.';
-- >>> sql/tables/data_issues.sql
-- Data problems found on the way in: a value that could not be used is recorded here, with the
-- row it came from, instead of being silently dropped or corrupted. Also each import batch.
select pg_temp.claim_table('conductor', 'import_batches');
create table if not exists conductor.import_batches (
    id bigint generated by default as identity,
    entity text not null,
    source text,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    rows_read integer not null default 0,
    rows_inserted integer not null default 0,
    rows_updated integer not null default 0,
    rows_unchanged integer not null default 0,
    rows_rejected integer not null default 0,
    fields_cleared integer not null default 0,
    constraint import_batches_pkey primary key (id)
);
alter table conductor.import_batches enable row level security;
comment on table conductor.import_batches is 'One row per import run of one entity, with its counts.';
comment on column conductor.import_batches.id is 'Batch id.';
comment on column conductor.import_batches.entity is 'What was imported (customers, products, transactions, ...).';
comment on column conductor.import_batches.source is 'Where the rows came from (file name, generator, API).';
comment on column conductor.import_batches.started_at is 'Start time.';
comment on column conductor.import_batches.finished_at is 'End time.';
comment on column conductor.import_batches.rows_read is 'Staged rows read.';
comment on column conductor.import_batches.rows_inserted is 'New rows.';
comment on column conductor.import_batches.rows_updated is 'Existing rows that changed.';
comment on column conductor.import_batches.rows_unchanged is 'Existing rows already equal.';
comment on column conductor.import_batches.rows_rejected is 'Rows refused (see conductor.data_issues).';
comment on column conductor.import_batches.fields_cleared is
'Values left out of rows that were imported (see conductor.data_issues).';

select pg_temp.claim_table('conductor', 'data_issues');
create table if not exists conductor.data_issues (
    id bigint generated by default as identity,
    entity text not null,
    business_key text,
    field text,
    bad_value text,
    problem text not null,
    action text not null,
    import_batch_id bigint,
    source_row bigint,
    detected_at timestamptz not null default now(),
    constraint data_issues_pkey primary key (id),
    constraint data_issues_import_batch_id_fkey foreign key (import_batch_id)
    references conductor.import_batches (id) on delete set null,
    constraint data_issues_action_check check (action in ('rejected', 'field_cleared', 'corrected'))
);
create index if not exists data_issues_import_batch_id_idx on conductor.data_issues (import_batch_id);
alter table conductor.data_issues enable row level security;
comment on table conductor.data_issues is 'Problems found in incoming data and what was done about each.';
comment on column conductor.data_issues.id is 'Surrogate key.';
comment on column conductor.data_issues.entity is 'Entity of the row (customers, transactions, ...).';
comment on column conductor.data_issues.business_key is 'Business key of the row, when it had one.';
comment on column conductor.data_issues.field is 'Field with the problem.';
comment on column conductor.data_issues.bad_value is 'The value as received.';
comment on column conductor.data_issues.problem is 'What is wrong with it.';
comment on column conductor.data_issues.action is
'rejected (row not imported), field_cleared (row imported without the value: a new row leaves the '
'field empty or at its default, an existing row keeps its stored value) or corrected.';
comment on column conductor.data_issues.import_batch_id is 'Import batch, if it came from an import.';
comment on column conductor.data_issues.source_row is 'Row number of the staged row within its source.';
comment on column conductor.data_issues.detected_at is 'When it was found.';
-- >>> sql/tables/import_staging.sql
-- Import staging: one table per POS entity, every data column text, exactly as a CSV export
-- arrives (COPY into them never fails on a bad value). conductor.import_<entity>(source) reads
-- the rows of one source label, validates and casts them, upserts by business key, records
-- problems in conductor.data_issues and deletes the staged rows it consumed.
-- Usage: \copy conductor.staging_customers (member_id, name, phone, ...) from 'x.csv' csv header
-- then select conductor.import_all('csv'); rows copied without a source get the label 'csv'
-- and row numbers in file order.

select pg_temp.claim_table('conductor', 'staging_customers');
create table if not exists conductor.staging_customers (
    source text not null default 'csv',
    row_number bigint generated by default as identity,
    staged_at timestamptz not null default now(),
    member_id text,
    name text,
    phone text,
    email text,
    loyalty_points text,
    customer_type text,
    member_group text,
    marketing_source text,
    street_address text,
    city text,
    state text,
    zip_code text,
    time_zone text,
    registered_on text,
    constraint staging_customers_pkey primary key (source, row_number)
);
alter table conductor.staging_customers enable row level security;
comment on table conductor.staging_customers is
'Customers as exported by the POS, all text; consumed by conductor.import_customers(source).';
comment on column conductor.staging_customers.source is 'Label of the load (file name, generator); the import reads one label.';
comment on column conductor.staging_customers.row_number is 'Row number within the source, reported with data issues.';
comment on column conductor.staging_customers.staged_at is 'When the row was staged.';
comment on column conductor.staging_customers.member_id is 'Business key: POS member id (required).';
comment on column conductor.staging_customers.name is 'Full name.';
comment on column conductor.staging_customers.phone is 'Phone in any common US format; normalized to E.164 on import.';
comment on column conductor.staging_customers.email is 'Email address.';
comment on column conductor.staging_customers.loyalty_points is 'Loyalty points balance (number >= 0).';
comment on column conductor.staging_customers.customer_type is 'POS customer classification.';
comment on column conductor.staging_customers.member_group is 'POS membership group.';
comment on column conductor.staging_customers.marketing_source is 'How the customer was acquired.';
comment on column conductor.staging_customers.street_address is 'Street address.';
comment on column conductor.staging_customers.city is 'City.';
comment on column conductor.staging_customers.state is 'State or province.';
comment on column conductor.staging_customers.zip_code is 'Postal code.';
comment on column conductor.staging_customers.time_zone is 'IANA time zone, if different from the store''s.';
comment on column conductor.staging_customers.registered_on is 'Registration date.';

select pg_temp.claim_table('conductor', 'staging_products');
create table if not exists conductor.staging_products (
    source text not null default 'csv',
    row_number bigint generated by default as identity,
    staged_at timestamptz not null default now(),
    product_id text,
    sku text,
    name text,
    brand text,
    category text,
    strain text,
    flower_type text,
    vendor text,
    thc_content text,
    cbd_content text,
    retail_price text,
    cost text,
    is_active text,
    leafly_strain_type text,
    leafly_description text,
    leafly_rating text,
    leafly_review_count text,
    effects text,
    helps_with text,
    negatives text,
    flavors text,
    terpenes text,
    parent_strains text,
    lineage text,
    image_url text,
    leafly_url text,
    leafly_data_updated text,
    constraint staging_products_pkey primary key (source, row_number)
);
alter table conductor.staging_products enable row level security;
comment on table conductor.staging_products is
'Products as exported by the POS, all text; consumed by conductor.import_products(source).';
comment on column conductor.staging_products.source is 'Label of the load (file name, generator); the import reads one label.';
comment on column conductor.staging_products.row_number is 'Row number within the source, reported with data issues.';
comment on column conductor.staging_products.staged_at is 'When the row was staged.';
comment on column conductor.staging_products.product_id is 'Business key: POS product id (required).';
comment on column conductor.staging_products.sku is 'Stock keeping unit; unique across products.';
comment on column conductor.staging_products.name is 'Product name (required).';
comment on column conductor.staging_products.brand is 'Brand.';
comment on column conductor.staging_products.category is 'Category.';
comment on column conductor.staging_products.strain is 'Strain.';
comment on column conductor.staging_products.flower_type is 'Indica, Sativa or Hybrid.';
comment on column conductor.staging_products.vendor is 'Supplier.';
comment on column conductor.staging_products.thc_content is 'THC content (number >= 0).';
comment on column conductor.staging_products.cbd_content is 'CBD content (number >= 0).';
comment on column conductor.staging_products.retail_price is 'Retail price in dollars (number >= 0, $ and thousands commas allowed).';
comment on column conductor.staging_products.cost is 'Cost price in dollars (number >= 0).';
comment on column conductor.staging_products.is_active is 'true/false, yes/no, 1/0, active/inactive.';
comment on column conductor.staging_products.leafly_strain_type is 'Leafly strain classification.';
comment on column conductor.staging_products.leafly_description is 'Leafly description.';
comment on column conductor.staging_products.leafly_rating is 'Leafly rating (0-5).';
comment on column conductor.staging_products.leafly_review_count is 'Leafly review count (whole number >= 0).';
comment on column conductor.staging_products.effects is 'List: {a,b}, ["a","b"] or a, b.';
comment on column conductor.staging_products.helps_with is 'List, as effects.';
comment on column conductor.staging_products.negatives is 'List, as effects.';
comment on column conductor.staging_products.flavors is 'List, as effects.';
comment on column conductor.staging_products.terpenes is 'List, as effects.';
comment on column conductor.staging_products.parent_strains is 'List, as effects.';
comment on column conductor.staging_products.lineage is 'Strain lineage.';
comment on column conductor.staging_products.image_url is 'Product image URL.';
comment on column conductor.staging_products.leafly_url is 'Leafly page URL.';
comment on column conductor.staging_products.leafly_data_updated is 'When the Leafly fields were refreshed (timestamp).';

select pg_temp.claim_table('conductor', 'staging_staff');
create table if not exists conductor.staging_staff (
    source text not null default 'csv',
    row_number bigint generated by default as identity,
    staged_at timestamptz not null default now(),
    staff_name text,
    shop_location text,
    employee_id text,
    role text,
    is_active text,
    hire_date text,
    constraint staging_staff_pkey primary key (source, row_number)
);
alter table conductor.staging_staff enable row level security;
comment on table conductor.staging_staff is
'Staff as exported by the POS, all text; consumed by conductor.import_staff(source).';
comment on column conductor.staging_staff.source is 'Label of the load (file name, generator); the import reads one label.';
comment on column conductor.staging_staff.row_number is 'Row number within the source, reported with data issues.';
comment on column conductor.staging_staff.staged_at is 'When the row was staged.';
comment on column conductor.staging_staff.staff_name is 'Business key, with shop_location: the name the POS prints (required).';
comment on column conductor.staging_staff.shop_location is 'Business key, with staff_name: the store (required).';
comment on column conductor.staging_staff.employee_id is 'Employee number; unique across staff.';
comment on column conductor.staging_staff.role is 'Position.';
comment on column conductor.staging_staff.is_active is 'true/false, yes/no, 1/0, active/inactive.';
comment on column conductor.staging_staff.hire_date is 'Date hired.';

select pg_temp.claim_table('conductor', 'staging_transactions');
create table if not exists conductor.staging_transactions (
    source text not null default 'csv',
    row_number bigint generated by default as identity,
    staged_at timestamptz not null default now(),
    transaction_id text,
    customer_id text,
    date text,
    shop_location text,
    staff_name text,
    terminal text,
    payment_type text,
    transaction_type text,
    status text,
    refunded_transaction_id text,
    total_amount text,
    total_tax text,
    discounts text,
    loyalty_points_earned text,
    loyalty_points_spent text,
    constraint staging_transactions_pkey primary key (source, row_number)
);
alter table conductor.staging_transactions enable row level security;
comment on table conductor.staging_transactions is
'Transactions as exported by the POS, all text; consumed by conductor.import_transactions(source).';
comment on column conductor.staging_transactions.source is 'Label of the load (file name, generator); the import reads one label.';
comment on column conductor.staging_transactions.row_number is 'Row number within the source, reported with data issues.';
comment on column conductor.staging_transactions.staged_at is 'When the row was staged.';
comment on column conductor.staging_transactions.transaction_id is 'Business key: POS transaction id (required).';
comment on column conductor.staging_transactions.customer_id is 'Member id (customers.member_id); empty for a walk-in.';
comment on column conductor.staging_transactions.date is
'When it happened; a value without a zone is local time in the store_time_zone setting.';
comment on column conductor.staging_transactions.shop_location is 'Store.';
comment on column conductor.staging_transactions.staff_name is 'Budtender; an unknown name at a store adds a staff row.';
comment on column conductor.staging_transactions.terminal is 'POS terminal.';
comment on column conductor.staging_transactions.payment_type is 'Payment method.';
comment on column conductor.staging_transactions.transaction_type is 'sale or refund (also return); empty: by the sign of total_amount.';
comment on column conductor.staging_transactions.status is 'completed (default) or voided (also void).';
comment on column conductor.staging_transactions.refunded_transaction_id is 'For a refund: the sale it refunds.';
comment on column conductor.staging_transactions.total_amount is 'Total in dollars (required; <= 0 for a refund).';
comment on column conductor.staging_transactions.total_tax is 'Tax in dollars (default 0).';
comment on column conductor.staging_transactions.discounts is 'Discounts in dollars (default 0).';
comment on column conductor.staging_transactions.loyalty_points_earned is 'Points earned (number >= 0, default 0).';
comment on column conductor.staging_transactions.loyalty_points_spent is 'Points spent (number >= 0, default 0).';

select pg_temp.claim_table('conductor', 'staging_transaction_items');
create table if not exists conductor.staging_transaction_items (
    source text not null default 'csv',
    row_number bigint generated by default as identity,
    staged_at timestamptz not null default now(),
    transaction_id text,
    line_number text,
    product_sku text,
    product_name text,
    brand text,
    category text,
    strain text,
    flower_type text,
    quantity text,
    unit_price text,
    discount text,
    total_price text,
    thc_content text,
    cbd_content text,
    constraint staging_transaction_items_pkey primary key (source, row_number)
);
alter table conductor.staging_transaction_items enable row level security;
comment on table conductor.staging_transaction_items is
'Line items as exported by the POS, all text; consumed by conductor.import_transaction_items(source).';
comment on column conductor.staging_transaction_items.source is
'Label of the load (file name, generator); the import reads one label.';
comment on column conductor.staging_transaction_items.row_number is
'Row number within the source, reported with data issues; orders lines that have no line_number.';
comment on column conductor.staging_transaction_items.staged_at is 'When the row was staged.';
comment on column conductor.staging_transaction_items.transaction_id is 'Business key part: the transaction (required).';
comment on column conductor.staging_transaction_items.line_number is
'Business key part: line within the transaction (whole number > 0); empty: numbered in row order.';
comment on column conductor.staging_transaction_items.product_sku is 'Product sku; must be in products when given.';
comment on column conductor.staging_transaction_items.product_name is 'Product name as sold; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.brand is 'Brand as sold; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.category is 'Category as sold; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.strain is 'Strain; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.flower_type is 'Flower type; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.quantity is 'Units (whole number > 0, required).';
comment on column conductor.staging_transaction_items.unit_price is 'Price per unit in dollars (>= 0, required).';
comment on column conductor.staging_transaction_items.discount is 'Line discount in dollars (>= 0, default 0).';
comment on column conductor.staging_transaction_items.total_price is
'Line total in dollars; empty: quantity * unit_price - discount, negative on a refund.';
comment on column conductor.staging_transaction_items.thc_content is 'THC content as sold; empty: from the catalogue.';
comment on column conductor.staging_transaction_items.cbd_content is 'CBD content as sold; empty: from the catalogue.';
-- >>> sql/tables/bridge_health.sql
-- Health of each running modem bridge, written by the bridge through conductor.bridge_hello and
-- conductor.bridge_heartbeat.
select pg_temp.claim_table('conductor', 'bridge_health');
create table if not exists conductor.bridge_health (
    bridge_id text not null,
    hostname text,
    port text,
    bridge_version text,
    started_at timestamptz,
    last_seen_at timestamptz not null default now(),
    modem_state text,
    modem_model text,
    signal_quality smallint,
    messages_received bigint not null default 0,
    messages_sent bigint not null default 0,
    last_error text,
    last_error_at timestamptz,
    constraint bridge_health_pkey primary key (bridge_id)
);
alter table conductor.bridge_health enable row level security;
comment on table conductor.bridge_health is 'Last known state of each modem bridge.';
comment on column conductor.bridge_health.bridge_id is 'Bridge identity (hostname:port unless configured).';
comment on column conductor.bridge_health.hostname is 'Host the bridge runs on.';
comment on column conductor.bridge_health.port is 'Serial port.';
comment on column conductor.bridge_health.bridge_version is 'Version of the bridge program.';
comment on column conductor.bridge_health.started_at is 'When the bridge process started.';
comment on column conductor.bridge_health.last_seen_at is 'Last heartbeat.';
comment on column conductor.bridge_health.modem_state is 'ready, no_answer, port_missing, sim_error, ...';
comment on column conductor.bridge_health.modem_model is 'Modem identification (AT+CGMM).';
comment on column conductor.bridge_health.signal_quality is 'RSSI from AT+CSQ (0-31, 99 unknown).';
comment on column conductor.bridge_health.messages_received is 'Inbound messages stored since start (the bridge reports deltas).';
comment on column conductor.bridge_health.messages_sent is 'Outbound messages sent since start (the bridge reports deltas).';
comment on column conductor.bridge_health.last_error is 'Last error seen.';
comment on column conductor.bridge_health.last_error_at is 'When it was seen.';
-- >>> sql/tables/send_error_codes.sql
-- How the modem's send errors are classified: a permanent error fails the message at once, any
-- other (and any code not listed here) is transient and retried with backoff up to the
-- send_max_retries setting. Codes as the bridge reports them: 'CMS:<n>' (+CMS ERROR, 3GPP
-- TS 27.005 3.2.5 and 24.011 E-2), 'CME:<n>' (+CME ERROR, 27.007 9.2), 'no_prompt',
-- 'port_lost', 'encode_error'. Default rows are inserted once; an owner's edits survive.
select pg_temp.claim_table('conductor', 'send_error_codes');
create table if not exists conductor.send_error_codes (
    code text not null,
    is_permanent boolean not null,
    description text not null,
    constraint send_error_codes_pkey primary key (code),
    constraint send_error_codes_code_check check (code ~ '^(CMS:[0-9]+|CME:[0-9]+|[a-z][a-z0-9_]*)$')
);
alter table conductor.send_error_codes enable row level security;
comment on table conductor.send_error_codes is
'Send error codes reported by the bridge and whether they are permanent (fail at once) or transient '
'(retry with backoff). Codes not listed are transient.';
comment on column conductor.send_error_codes.code is 'CMS:<n>, CME:<n> or a bridge code (no_prompt, port_lost, encode_error).';
comment on column conductor.send_error_codes.is_permanent is 'true: retrying cannot help, the message fails at once.';
comment on column conductor.send_error_codes.description is 'What the code means.';

insert into conductor.send_error_codes (code, is_permanent, description) values
('CMS:1', true, 'Unassigned (unallocated) number'),
('CMS:8', true, 'Operator determined barring'),
('CMS:10', true, 'Call barred'),
('CMS:21', true, 'Short message transfer rejected'),
('CMS:27', false, 'Destination out of service'),
('CMS:28', true, 'Unidentified subscriber'),
('CMS:29', true, 'Facility rejected'),
('CMS:30', true, 'Unknown subscriber'),
('CMS:38', false, 'Network out of order'),
('CMS:41', false, 'Temporary failure'),
('CMS:42', false, 'Congestion'),
('CMS:47', false, 'Resources unavailable, unspecified'),
('CMS:50', true, 'Requested facility not subscribed'),
('CMS:69', true, 'Requested facility not implemented'),
('CMS:95', true, 'Invalid message, unspecified'),
('CMS:96', true, 'Invalid mandatory information'),
('CMS:97', true, 'Message type non-existent or not implemented'),
('CMS:98', true, 'Message not compatible with short message protocol state'),
('CMS:99', true, 'Information element non-existent or not implemented'),
('CMS:111', false, 'Protocol error, unspecified'),
('CMS:127', false, 'Interworking, unspecified'),
('CMS:197', true, 'SM rejected: duplicate SM (the service centre already has it; resending would duplicate)'),
('CMS:300', false, 'ME failure'),
('CMS:301', true, 'SMS service of ME reserved'),
('CMS:302', false, 'Operation not allowed'),
('CMS:303', true, 'Operation not supported'),
('CMS:304', true, 'Invalid PDU mode parameter'),
('CMS:305', true, 'Invalid text mode parameter'),
('CMS:310', false, 'SIM not inserted'),
('CMS:311', false, 'SIM PIN required'),
('CMS:313', false, 'SIM failure'),
('CMS:314', false, 'SIM busy'),
('CMS:320', false, 'Memory failure'),
('CMS:322', false, 'Memory full'),
('CMS:330', true, 'SMSC address unknown (modem configuration)'),
('CMS:331', false, 'No network service'),
('CMS:332', false, 'Network timeout'),
('CMS:340', false, 'No +CNMA acknowledgement expected'),
('CMS:500', false, 'Unknown error'),
('CMS:515', false, 'Vendor specific: busy, initialisation or command in progress'),
('CME:3', false, 'Operation not allowed'),
('CME:4', true, 'Operation not supported'),
('CME:10', false, 'SIM not inserted'),
('CME:11', false, 'SIM PIN required'),
('CME:13', false, 'SIM failure'),
('CME:14', false, 'SIM busy'),
('CME:30', false, 'No network service'),
('CME:31', false, 'Network timeout'),
('CME:100', false, 'Unknown error'),
('no_prompt', false, 'The modem did not answer AT+CMGS with the "> " prompt; nothing was submitted'),
('port_lost', false, 'The serial port went away before the PDU was written; nothing was submitted'),
('encode_error', true, 'The text could not be encoded as an SMS PDU')
on conflict do nothing;
-- >>> sql/tables/other_sender_messages.sql
-- Inbound SMS whose sender is not a phone number (a short code such as 72345, an alphanumeric
-- name such as "MyCarrier"): stored durably like any inbound SMS, but outside public.messages,
-- which holds conversations with E.164 numbers (nobody can reply to these senders).
-- Written by conductor.bridge_store_inbound; idempotent on message_hash.
select pg_temp.claim_table('conductor', 'other_sender_messages');
create table if not exists conductor.other_sender_messages (
    id bigint generated by default as identity,
    sender text not null,
    content text not null,
    modem_timestamp timestamptz,
    received_at timestamptz not null default now(),
    received_by text,
    modem_index integer,
    parts smallint,
    message_hash text not null,
    constraint other_sender_messages_pkey primary key (id),
    constraint other_sender_messages_message_hash_key unique (message_hash)
);
create index if not exists other_sender_messages_received_at_idx on conductor.other_sender_messages (received_at);
alter table conductor.other_sender_messages enable row level security;
comment on table conductor.other_sender_messages is
'Inbound SMS from senders that are not phone numbers (short codes, alphanumeric names), kept so no '
'received message is ever lost; not part of any conversation.';
comment on column conductor.other_sender_messages.id is 'Surrogate key.';
comment on column conductor.other_sender_messages.sender is 'Sender exactly as the network gave it.';
comment on column conductor.other_sender_messages.content is 'Message text (multipart messages joined).';
comment on column conductor.other_sender_messages.modem_timestamp is 'Network (SMSC) timestamp.';
comment on column conductor.other_sender_messages.received_at is 'When it was stored.';
comment on column conductor.other_sender_messages.received_by is 'Bridge that stored it.';
comment on column conductor.other_sender_messages.modem_index is 'SIM storage index it was read from.';
comment on column conductor.other_sender_messages.parts is 'Number of SMS parts.';
comment on column conductor.other_sender_messages.message_hash is 'sha256 of sender, network timestamp and text; unique.';

-- Code: private functions first, then triggers, views and the public API.
-- >>> sql/functions/common/setting.sql
-- conductor.setting(key): one operating setting from conductor.settings, as jsonb.
-- Raises 22023 for an unknown key so a typo never reads as "no limit".
create function conductor.setting(p_key text)
returns jsonb
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_value jsonb;
begin
    select s.value into v_value from conductor.settings as s where s.key = p_key;
    if not found then
        raise exception 'unknown setting: %', p_key
            using errcode = '22023', hint = 'See conductor.settings for the known keys.';
    end if;
    return v_value;
end
$$;
comment on function conductor.setting(text) is
'Value of one setting from conductor.settings as jsonb; raises 22023 for an unknown key.';

-- conductor.store_time_zone(): the store's IANA time zone, used to define visit days.
create function conductor.store_time_zone()
returns text
stable
security invoker
set search_path = ''
language sql
as $$
    select s.value #>> '{}' from conductor.settings as s where s.key = 'store_time_zone'
$$;
comment on function conductor.store_time_zone() is 'The store''s IANA time zone (setting store_time_zone).';

-- conductor.store_today(): today's date at the store.
create function conductor.store_today()
returns date
stable
security invoker
set search_path = ''
language sql
as $$
    select (now() at time zone conductor.store_time_zone())::date
$$;
comment on function conductor.store_today() is 'Today''s calendar date in the store''s time zone.';
-- >>> sql/functions/common/phone.sql
-- Phone numbers in E.164. conductor.normalize_phone turns common US formats into +1XXXXXXXXXX
-- and keeps valid international numbers; anything else gives null. conductor.require_phone
-- raises a clear error naming the field instead.
create function conductor.normalize_phone(p_phone text)
returns text
immutable
parallel safe
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_digits text;
begin
    if p_phone is null or btrim(p_phone) = '' then
        return null;
    end if;
    -- Drop punctuation people type: spaces, dots, dashes, parentheses; and a trailing extension.
    v_digits := regexp_replace(btrim(p_phone), '\s*(ext\.?|x)\s*\d+$', '', 'i');
    if v_digits ~ '[^0-9+().\s-]' or v_digits ~ '.\+' then
        return null;
    end if;
    if left(v_digits, 1) = '+' then
        v_digits := '+' || regexp_replace(v_digits, '[^0-9]', '', 'g');
    else
        v_digits := regexp_replace(v_digits, '[^0-9]', '', 'g');
        if v_digits ~ '^00[1-9]' then
            v_digits := '+' || substr(v_digits, 3);
        elsif length(v_digits) = 10 then
            v_digits := '+1' || v_digits;
        elsif length(v_digits) = 11 and left(v_digits, 1) = '1' then
            v_digits := '+' || v_digits;
        else
            return null;
        end if;
    end if;
    -- North American numbers: area code and exchange cannot start with 0 or 1.
    if left(v_digits, 2) = '+1' and v_digits !~ '^\+1[2-9][0-9]{2}[2-9][0-9]{6}$' then
        return null;
    end if;
    if v_digits !~ '^\+[1-9][0-9]{7,14}$' then
        return null;
    end if;
    return v_digits;
end
$$;
comment on function conductor.normalize_phone(text) is
'E.164 form of a phone number ("(619) 977-3020" -> "+16199773020"), or null if it cannot be normalized.';

create function conductor.require_phone(p_phone text, p_field text)
returns text
immutable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_phone text := conductor.normalize_phone(p_phone);
begin
    if v_phone is null and p_phone is not null and btrim(p_phone) <> '' then
        raise exception '%: "%" is not a phone number that can be written in E.164', p_field, p_phone
            using errcode = '22023',
                  hint = 'Use +<country code><number>, or a 10-digit US number such as (619) 977-3020.';
    end if;
    return v_phone;
end
$$;
comment on function conductor.require_phone(text, text) is
'E.164 form of a phone number; raises 22023 naming the field when it cannot be normalized.';

-- Trigger: normalizes the phone column named in TG_ARGV[0] on insert and update.
-- Security definer: it runs for service_role's inserts too, and calls into conductor.
create function conductor.tg_normalize_phone()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_column text := tg_argv[0];
    v_raw text := pg_catalog.to_jsonb(new) ->> v_column;
    v_phone text;
begin
    v_phone := conductor.require_phone(v_raw, format('%s.%s', tg_table_name, v_column));
    if v_phone is distinct from v_raw then
        new := pg_catalog.jsonb_populate_record(new, pg_catalog.jsonb_build_object(v_column, v_phone));
    end if;
    return new;
end
$$;
comment on function conductor.tg_normalize_phone() is
'Trigger: rewrites the phone column named by the trigger argument to E.164, or raises 22023.';
-- >>> sql/functions/common/updated_at.sql
-- Trigger: keeps updated_at current on every row that actually changes.
create function conductor.tg_set_updated_at()
returns trigger
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if new is distinct from old then
        new.updated_at := now();
    end if;
    return new;
end
$$;
comment on function conductor.tg_set_updated_at() is 'Trigger: sets updated_at to now() when a row changes.';
-- >>> sql/triggers/common.sql
-- Row triggers every table shares: updated_at maintenance and E.164 phone normalization.
-- Named with a number prefix so their firing order is explicit (_100 before _500).
create trigger _900_set_updated_at before update on public.customers
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.products
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.staff
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.transactions
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.transaction_items
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.messages
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.leads
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.customer_visit_patterns
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.customer_product_affinity
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.scheduled_messages
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.campaign_messages
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.budtenders
for each row execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on conductor.settings
for each row execute function conductor.tg_set_updated_at();

create trigger _100_normalize_phone before insert or update of phone on public.customers
for each row execute function conductor.tg_normalize_phone('phone');
create trigger _100_normalize_phone before insert or update of phone_number on public.messages
for each row execute function conductor.tg_normalize_phone('phone_number');
create trigger _100_normalize_phone before insert or update of phone_number on public.leads
for each row execute function conductor.tg_normalize_phone('phone_number');
create trigger _100_normalize_phone before insert or update of phone_number on public.scheduled_messages
for each row execute function conductor.tg_normalize_phone('phone_number');
create trigger _100_normalize_phone before insert or update of phone_number on public.campaign_messages
for each row execute function conductor.tg_normalize_phone('phone_number');
create trigger _100_normalize_phone before insert or update of phone on public.budtenders
for each row execute function conductor.tg_normalize_phone('phone');
create trigger _100_normalize_phone before insert or update of phone_number on conductor.opt_outs
for each row execute function conductor.tg_normalize_phone('phone_number');

-- Code: import path (staging -> upsert by business key).
-- >>> sql/functions/import/parse.sql
-- Lenient parsers for staged text: each returns null for a value it cannot read instead of
-- raising, so an import can record the problem as a data issue and go on. Numbers and flags are
-- checked inline in the import statements (a regular expression is faster than a function
-- call per value); dates, times and lists need the server's own parser, wrapped here.
-- Reads nothing, writes nothing.

create function conductor.parse_timestamptz(p_value text)
returns timestamptz
stable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_value is null or btrim(p_value) = '' then
        return null;
    end if;
    return p_value::timestamptz;
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_timestamptz(text) is
'Timestamp from text, or null when it is not one. A value without a zone is read in the session '
'TimeZone (the import functions set it to the store''s) and the session DateStyle (ISO, MDY).';

create function conductor.parse_date(p_value text)
returns date
stable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_value is null or btrim(p_value) = '' then
        return null;
    end if;
    return p_value::date;
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_date(text) is
'Calendar date from text (ISO or the session DateStyle, ISO, MDY during imports), or null when it is not one.';

create function conductor.parse_text_list(p_value text)
returns text[]
immutable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_value text := btrim(p_value);
    v_list text[];
begin
    if v_value is null or v_value = '' then
        return null;
    end if;
    if left(v_value, 1) = '[' then
        select pg_catalog.array_agg(btrim(e.item) order by e.ordinality)
        into v_list
        from pg_catalog.jsonb_array_elements_text(v_value::jsonb) with ordinality as e (item, ordinality);
    elsif left(v_value, 1) = '{' then
        v_list := v_value::text[];
    else
        select pg_catalog.array_agg(btrim(e.item) order by e.ordinality)
        into v_list
        from pg_catalog.regexp_split_to_table(v_value, '\s*[,;|]\s*') with ordinality as e (item, ordinality);
    end if;
    return pg_catalog.array_remove(v_list, '');
exception
    when data_exception then
        return null;
end
$$;
comment on function conductor.parse_text_list(text) is
'List from text: a JSON array, a PostgreSQL array literal or items separated by , ; or |. '
'Null when the text is empty or malformed.';
-- >>> sql/functions/import/batch.sql
-- The result every import function returns: one batch of conductor.import_batches as jsonb.
-- Reads conductor.import_batches.

create function conductor.import_batch_result(p_entity text, p_source text, p_batch_id bigint)
returns jsonb
stable
security invoker
set search_path = ''
language sql
as $$
    select pg_catalog.jsonb_build_object(
        'entity', p_entity,
        'source', p_source,
        'batch_id', b.id,
        'read', coalesce(b.rows_read, 0),
        'inserted', coalesce(b.rows_inserted, 0),
        'updated', coalesce(b.rows_updated, 0),
        'unchanged', coalesce(b.rows_unchanged, 0),
        'rejected', coalesce(b.rows_rejected, 0),
        'fields_cleared', coalesce(b.fields_cleared, 0)
    )
    from (select) as nothing
    left join conductor.import_batches as b on b.id = p_batch_id
$$;
comment on function conductor.import_batch_result(text, text, bigint) is
'Counts of one import batch as jsonb {entity, source, batch_id, read, inserted, updated, unchanged, '
'rejected, fields_cleared}; all zero with a null batch_id when nothing was staged.';

create function conductor.require_import_source(p_source text)
returns void
immutable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_source is null or btrim(p_source) = '' then
        raise exception 'p_source: the label of the staged rows to import is required'
            using errcode = '22023',
                  hint = 'Rows copied into conductor.staging_* without a source have the label csv.';
    end if;
end
$$;
comment on function conductor.require_import_source(text) is
'Raises 22023 naming p_source when an import is called without a source label.';
-- >>> sql/functions/import/import_products.sql
-- conductor.import_products(source): staged products -> public.products, upserted by
-- product_id in one statement. Rejected: a row without product_id or name, an earlier row of a
-- product_id that appears again later in the batch, and a row whose sku another product already
-- has (in the catalogue, or in a later row of the batch). A bad number, flag, list or time is
-- left out and recorded; the product is still imported (a new product gets the field empty or
-- at its default, an existing one keeps its stored value).
-- Reads and deletes conductor.staging_products; writes public.products,
-- conductor.import_batches, conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_products(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
set datestyle = 'ISO, MDY'
set timezone = 'UTC'
set jit = off
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_true constant text[] := array['true', 't', 'yes', 'y', '1', 'active'];
    v_false constant text[] := array['false', 'f', 'no', 'n', '0', 'inactive'];
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    perform pg_catalog.set_config('TimeZone', conductor.store_time_zone(), true);
    if not exists (select from conductor.staging_products as s where s.source = p_source) then
        return conductor.import_batch_result('products', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('products', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_products;

    with consumed as (
        delete from conductor.staging_products as s
        where s.source = p_source
        returning s.*
    ),

    cleaned as (
        select
            c.row_number,
            nullif(btrim(c.product_id), '') as product_id,
            nullif(btrim(c.sku), '') as sku,
            nullif(btrim(c.name), '') as name,
            nullif(btrim(c.brand), '') as brand,
            nullif(btrim(c.category), '') as category,
            nullif(btrim(c.strain), '') as strain,
            nullif(btrim(c.flower_type), '') as flower_type,
            nullif(btrim(c.vendor), '') as vendor,
            nullif(btrim(c.thc_content), '') as thc_content,
            nullif(btrim(c.cbd_content), '') as cbd_content,
            nullif(btrim(c.retail_price), '') as retail_price,
            nullif(btrim(c.cost), '') as cost,
            lower(nullif(btrim(c.is_active), '')) as is_active,
            nullif(btrim(c.leafly_strain_type), '') as leafly_strain_type,
            nullif(btrim(c.leafly_description), '') as leafly_description,
            nullif(btrim(c.leafly_rating), '') as leafly_rating,
            nullif(btrim(c.leafly_review_count), '') as leafly_review_count,
            nullif(btrim(c.effects), '') as effects,
            nullif(btrim(c.helps_with), '') as helps_with,
            nullif(btrim(c.negatives), '') as negatives,
            nullif(btrim(c.flavors), '') as flavors,
            nullif(btrim(c.terpenes), '') as terpenes,
            nullif(btrim(c.parent_strains), '') as parent_strains,
            nullif(btrim(c.lineage), '') as lineage,
            nullif(btrim(c.image_url), '') as image_url,
            nullif(btrim(c.leafly_url), '') as leafly_url,
            nullif(btrim(c.leafly_data_updated), '') as leafly_data_updated
        from consumed as c
    ),

    parsed as materialized (
        select
            c.*,
            case
                when c.thc_content ~ v_number
                    then pg_catalog.replace(c.thc_content, ',', '')::numeric
            end as thc_value,
            case
                when c.cbd_content ~ v_number
                    then pg_catalog.replace(c.cbd_content, ',', '')::numeric
            end as cbd_value,
            case
                when c.retail_price ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.retail_price, ',', ''), '$', '')::numeric
            end as retail_price_value,
            case
                when c.cost ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.cost, ',', ''), '$', '')::numeric
            end as cost_value,
            case when c.is_active = any(v_true) then true when c.is_active = any(v_false) then false end
                as is_active_value,
            case when c.leafly_rating ~ v_number then c.leafly_rating::numeric end as rating_value,
            case
                when c.leafly_review_count ~ v_number
                    then pg_catalog.replace(c.leafly_review_count, ',', '')::numeric
            end as review_count_value,
            conductor.parse_text_list(c.effects) as effects_value,
            conductor.parse_text_list(c.helps_with) as helps_with_value,
            conductor.parse_text_list(c.negatives) as negatives_value,
            conductor.parse_text_list(c.flavors) as flavors_value,
            conductor.parse_text_list(c.terpenes) as terpenes_value,
            conductor.parse_text_list(c.parent_strains) as parent_strains_value,
            conductor.parse_timestamptz(c.leafly_data_updated) as leafly_data_updated_value
        from cleaned as c
    ),

    keyed as (
        select
            p.*,
            case
                when p.product_id is null then 'missing_product_id'
                when p.name is null then 'missing_name'
            end as invalid
        from parsed as p
    ),

    ranked as (
        select
            k.*,
            max(k.row_number) filter (where k.invalid is null) over (partition by k.product_id) as last_row
        from keyed as k
    ),

    sku_holders as (
        select
            r.*,
            max(r.row_number) filter (where r.invalid is null and r.row_number = r.last_row)
                over (partition by r.sku) as sku_last_row
        from ranked as r
    ),

    checked as (
        select
            h.*,
            case
                when h.invalid is not null then h.invalid
                when h.row_number < h.last_row then 'duplicate'
                when h.sku is not null and h.row_number < h.sku_last_row then 'sku_in_batch'
                when e.product_id is not null then 'sku_taken'
            end as rejection,
            e.product_id as sku_owner,
            h.thc_content is not null and (h.thc_value is null or h.thc_value < 0 or h.thc_value >= 1e5)
                as thc_bad,
            h.cbd_content is not null and (h.cbd_value is null or h.cbd_value < 0 or h.cbd_value >= 1e5)
                as cbd_bad,
            h.retail_price is not null and (
                h.retail_price_value is null or h.retail_price_value < 0 or h.retail_price_value >= 1e10
            ) as retail_price_bad,
            h.cost is not null and (h.cost_value is null or h.cost_value < 0 or h.cost_value >= 1e10)
                as cost_bad,
            h.is_active is not null and h.is_active_value is null as is_active_bad,
            h.leafly_rating is not null and (h.rating_value is null or h.rating_value not between 0 and 5)
                as rating_bad,
            h.leafly_review_count is not null and (
                h.review_count_value is null or h.review_count_value < 0
                or h.review_count_value <> pg_catalog.trunc(h.review_count_value)
                or h.review_count_value >= 2e9
            ) as review_count_bad,
            h.effects is not null and h.effects_value is null as effects_bad,
            h.helps_with is not null and h.helps_with_value is null as helps_with_bad,
            h.negatives is not null and h.negatives_value is null as negatives_bad,
            h.flavors is not null and h.flavors_value is null as flavors_bad,
            h.terpenes is not null and h.terpenes_value is null as terpenes_bad,
            h.parent_strains is not null and h.parent_strains_value is null as parent_strains_bad,
            h.leafly_data_updated is not null and h.leafly_data_updated_value is null as leafly_data_updated_bad
        from sku_holders as h
        left join public.products as e on e.sku = h.sku and e.product_id <> h.product_id
    ),

    final as (
        select
            k.product_id,
            k.sku,
            k.name,
            k.brand,
            k.category,
            k.strain,
            k.flower_type,
            k.vendor,
            case when k.thc_bad then e.thc_content else pg_catalog.round(k.thc_value, 3) end as thc_content,
            case when k.cbd_bad then e.cbd_content else pg_catalog.round(k.cbd_value, 3) end as cbd_content,
            case
                when k.retail_price_bad then e.retail_price else pg_catalog.round(k.retail_price_value, 2)
            end as retail_price,
            case when k.cost_bad then e.cost else pg_catalog.round(k.cost_value, 2) end as cost,
            case
                when k.is_active_bad or k.is_active is null then coalesce(e.is_active, true)
                else k.is_active_value
            end as is_active,
            k.leafly_strain_type,
            k.leafly_description,
            case when k.rating_bad then e.leafly_rating else pg_catalog.round(k.rating_value, 2) end
                as leafly_rating,
            case when k.review_count_bad then e.leafly_review_count else k.review_count_value::integer end
                as leafly_review_count,
            case when k.effects_bad then e.effects else k.effects_value end as effects,
            case when k.helps_with_bad then e.helps_with else k.helps_with_value end as helps_with,
            case when k.negatives_bad then e.negatives else k.negatives_value end as negatives,
            case when k.flavors_bad then e.flavors else k.flavors_value end as flavors,
            case when k.terpenes_bad then e.terpenes else k.terpenes_value end as terpenes,
            case when k.parent_strains_bad then e.parent_strains else k.parent_strains_value end
                as parent_strains,
            k.lineage,
            k.image_url,
            k.leafly_url,
            case when k.leafly_data_updated_bad then e.leafly_data_updated else k.leafly_data_updated_value end
                as leafly_data_updated
        from checked as k
        left join public.products as e on e.product_id = k.product_id
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select 'products', k.product_id, i.field, i.bad_value, i.problem, i.action, v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing_product_id', 'product_id', null::text,
                'product_id is missing (it is the business key)', 'rejected'
            ),
            (k.rejection = 'missing_name', 'name', null::text, 'name is missing', 'rejected'),
            (
                k.rejection = 'duplicate', 'product_id', k.product_id,
                format(
                    'product_id is given again in the batch: row %s of the source was imported instead', k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection = 'sku_in_batch', 'sku', k.sku,
                format('sku is also given to the product in row %s of the source', k.sku_last_row),
                'rejected'
            ),
            (
                k.rejection = 'sku_taken', 'sku', k.sku,
                format('sku already belongs to product %s', k.sku_owner), 'rejected'
            ),
            (
                k.rejection is null and k.thc_bad, 'thc_content', k.thc_content,
                'thc_content is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.cbd_bad, 'cbd_content', k.cbd_content,
                'cbd_content is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.retail_price_bad, 'retail_price', k.retail_price,
                'retail_price is not an amount >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.cost_bad, 'cost', k.cost,
                'cost is not an amount >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.is_active_bad, 'is_active', k.is_active,
                'is_active is not true or false', 'field_cleared'
            ),
            (
                k.rejection is null and k.rating_bad, 'leafly_rating', k.leafly_rating,
                'leafly_rating is not a number from 0 to 5', 'field_cleared'
            ),
            (
                k.rejection is null and k.review_count_bad, 'leafly_review_count', k.leafly_review_count,
                'leafly_review_count is not a whole number >= 0', 'field_cleared'
            ),
            (k.rejection is null and k.effects_bad, 'effects', k.effects, 'effects is not a list', 'field_cleared'),
            (
                k.rejection is null and k.helps_with_bad, 'helps_with', k.helps_with,
                'helps_with is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.negatives_bad, 'negatives', k.negatives,
                'negatives is not a list', 'field_cleared'
            ),
            (k.rejection is null and k.flavors_bad, 'flavors', k.flavors, 'flavors is not a list', 'field_cleared'),
            (
                k.rejection is null and k.terpenes_bad, 'terpenes', k.terpenes,
                'terpenes is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.parent_strains_bad, 'parent_strains', k.parent_strains,
                'parent_strains is not a list', 'field_cleared'
            ),
            (
                k.rejection is null and k.leafly_data_updated_bad, 'leafly_data_updated', k.leafly_data_updated,
                'leafly_data_updated is not a timestamp', 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.products as p (
            product_id, sku, name, brand, category, strain, flower_type, vendor, thc_content, cbd_content,
            retail_price, cost, is_active, leafly_strain_type, leafly_description, leafly_rating,
            leafly_review_count, effects, helps_with, negatives, flavors, terpenes, parent_strains, lineage,
            image_url, leafly_url, leafly_data_updated
        )
        select
            f.product_id, f.sku, f.name, f.brand, f.category, f.strain, f.flower_type, f.vendor, f.thc_content,
            f.cbd_content, f.retail_price, f.cost, f.is_active, f.leafly_strain_type, f.leafly_description,
            f.leafly_rating, f.leafly_review_count, f.effects, f.helps_with, f.negatives, f.flavors, f.terpenes,
            f.parent_strains, f.lineage, f.image_url, f.leafly_url, f.leafly_data_updated
        from final as f
        on conflict (product_id) do update set
            sku = excluded.sku,
            name = excluded.name,
            brand = excluded.brand,
            category = excluded.category,
            strain = excluded.strain,
            flower_type = excluded.flower_type,
            vendor = excluded.vendor,
            thc_content = excluded.thc_content,
            cbd_content = excluded.cbd_content,
            retail_price = excluded.retail_price,
            cost = excluded.cost,
            is_active = excluded.is_active,
            leafly_strain_type = excluded.leafly_strain_type,
            leafly_description = excluded.leafly_description,
            leafly_rating = excluded.leafly_rating,
            leafly_review_count = excluded.leafly_review_count,
            effects = excluded.effects,
            helps_with = excluded.helps_with,
            negatives = excluded.negatives,
            flavors = excluded.flavors,
            terpenes = excluded.terpenes,
            parent_strains = excluded.parent_strains,
            lineage = excluded.lineage,
            image_url = excluded.image_url,
            leafly_url = excluded.leafly_url,
            leafly_data_updated = excluded.leafly_data_updated
        where (
            p.sku, p.name, p.brand, p.category, p.strain, p.flower_type, p.vendor, p.thc_content, p.cbd_content,
            p.retail_price, p.cost, p.is_active, p.leafly_strain_type, p.leafly_description, p.leafly_rating,
            p.leafly_review_count, p.effects, p.helps_with, p.negatives, p.flavors, p.terpenes, p.parent_strains,
            p.lineage, p.image_url, p.leafly_url, p.leafly_data_updated
        ) is distinct from (
            excluded.sku, excluded.name, excluded.brand, excluded.category, excluded.strain, excluded.flower_type,
            excluded.vendor, excluded.thc_content, excluded.cbd_content, excluded.retail_price, excluded.cost,
            excluded.is_active, excluded.leafly_strain_type, excluded.leafly_description, excluded.leafly_rating,
            excluded.leafly_review_count, excluded.effects, excluded.helps_with, excluded.negatives,
            excluded.flavors, excluded.terpenes, excluded.parent_strains, excluded.lineage, excluded.image_url,
            excluded.leafly_url, excluded.leafly_data_updated
        )
        returning p.xmax = 0 as inserted
    )

    select
        (select count(*) from checked) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from checked where rejection is not null) as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('products', p_source, v_batch);
end
$$;
comment on function conductor.import_products(text) is
'Imports the staged products of one source (conductor.staging_products) into public.products, '
'upserting by product_id (sku kept unique); returns the batch counts as jsonb. Re-importing the same '
'rows changes nothing.';
-- >>> sql/functions/import/import_customers.sql
-- conductor.import_customers(source): staged customers -> public.customers, upserted by
-- member_id in one statement. A row without member_id, or an earlier row of a member_id that
-- appears again later in the batch, is rejected. A value that cannot be used (a phone that is
-- not a phone, a bad date or number, an unknown time zone, a malformed email) is left out and
-- recorded, and the customer is still imported: a new customer gets the field empty, an
-- existing one keeps its stored value. Only the POS columns are written; the metrics belong to
-- the maintenance functions.
-- Reads and deletes conductor.staging_customers; writes public.customers,
-- conductor.import_batches, conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_customers(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
set datestyle = 'ISO, MDY'
set jit = off
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_email constant text := '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$';
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_customers as s where s.source = p_source) then
        return conductor.import_batch_result('customers', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('customers', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_customers;

    with consumed as (
        delete from conductor.staging_customers as s
        where s.source = p_source
        returning s.*
    ),

    cleaned as (
        select
            c.row_number,
            nullif(btrim(c.member_id), '') as member_id,
            nullif(btrim(c.name), '') as name,
            nullif(btrim(c.phone), '') as phone,
            nullif(btrim(c.email), '') as email,
            nullif(btrim(c.loyalty_points), '') as loyalty_points,
            nullif(btrim(c.customer_type), '') as customer_type,
            nullif(btrim(c.member_group), '') as member_group,
            nullif(btrim(c.marketing_source), '') as marketing_source,
            nullif(btrim(c.street_address), '') as street_address,
            nullif(btrim(c.city), '') as city,
            nullif(btrim(c.state), '') as state,
            nullif(btrim(c.zip_code), '') as zip_code,
            nullif(btrim(c.time_zone), '') as time_zone,
            nullif(btrim(c.registered_on), '') as registered_on
        from consumed as c
    ),

    parsed as materialized (
        select
            c.*,
            conductor.normalize_phone(c.phone) as phone_e164,
            case
                when c.loyalty_points ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(c.loyalty_points, ',', ''), '$', '')::numeric
            end as loyalty_points_value,
            conductor.parse_date(c.registered_on) as registered_on_value,
            c.email ~ v_email as email_ok,
            z.name is not null as time_zone_ok,
            max(c.row_number) filter (where c.member_id is not null)
                over (partition by c.member_id) as last_row
        from cleaned as c
        left join (select distinct t.name from pg_catalog.pg_timezone_names as t) as z on z.name = c.time_zone
    ),

    checked as (
        select
            p.*,
            case
                when p.member_id is null then 'missing'
                when p.row_number < p.last_row then 'duplicate'
            end as rejection,
            p.phone is not null and p.phone_e164 is null as phone_bad,
            p.loyalty_points is not null and (
                p.loyalty_points_value is null or p.loyalty_points_value < 0
                or p.loyalty_points_value >= 1e10
            ) as loyalty_points_bad,
            p.registered_on is not null and p.registered_on_value is null as registered_on_bad,
            p.email is not null and not p.email_ok as email_bad,
            p.time_zone is not null and not p.time_zone_ok as time_zone_bad
        from parsed as p
    ),

    final as (
        select
            k.member_id,
            k.name,
            case when k.phone_bad then e.phone else k.phone_e164 end as phone,
            case when k.email_bad then e.email else k.email end as email,
            case
                when k.loyalty_points_bad then coalesce(e.loyalty_points, 0)
                else coalesce(pg_catalog.round(k.loyalty_points_value, 2), 0)
            end as loyalty_points,
            k.customer_type,
            k.member_group,
            k.marketing_source,
            k.street_address,
            k.city,
            k.state,
            k.zip_code,
            case when k.time_zone_bad then e.time_zone else k.time_zone end as time_zone,
            case when k.registered_on_bad then e.registered_on else k.registered_on_value end as registered_on
        from checked as k
        left join public.customers as e on e.member_id = k.member_id
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select 'customers', k.member_id, i.field, i.bad_value, i.problem, i.action, v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing', 'member_id', null::text,
                'member_id is missing (it is the business key)', 'rejected'
            ),
            (
                k.rejection = 'duplicate', 'member_id', k.member_id,
                format(
                    'member_id is given again in the batch: row %s of the source was imported instead', k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection is null and k.phone_bad, 'phone', k.phone,
                'phone is not a number that can be written in E.164', 'field_cleared'
            ),
            (
                k.rejection is null and k.loyalty_points_bad, 'loyalty_points', k.loyalty_points,
                'loyalty_points is not a number >= 0', 'field_cleared'
            ),
            (
                k.rejection is null and k.registered_on_bad, 'registered_on', k.registered_on,
                'registered_on is not a date', 'field_cleared'
            ),
            (
                k.rejection is null and k.email_bad, 'email', k.email,
                'email is not an email address', 'field_cleared'
            ),
            (
                k.rejection is null and k.time_zone_bad, 'time_zone', k.time_zone,
                'time_zone is not a known IANA time zone', 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.customers as c (
            member_id, name, phone, email, loyalty_points, customer_type, member_group,
            marketing_source, street_address, city, state, zip_code, time_zone, registered_on
        )
        select
            f.member_id, f.name, f.phone, f.email, f.loyalty_points, f.customer_type, f.member_group,
            f.marketing_source, f.street_address, f.city, f.state, f.zip_code, f.time_zone, f.registered_on
        from final as f
        on conflict (member_id) do update set
            name = excluded.name,
            phone = excluded.phone,
            email = excluded.email,
            loyalty_points = excluded.loyalty_points,
            customer_type = excluded.customer_type,
            member_group = excluded.member_group,
            marketing_source = excluded.marketing_source,
            street_address = excluded.street_address,
            city = excluded.city,
            state = excluded.state,
            zip_code = excluded.zip_code,
            time_zone = excluded.time_zone,
            registered_on = excluded.registered_on
        where (
            c.name, c.phone, c.email, c.loyalty_points, c.customer_type, c.member_group,
            c.marketing_source, c.street_address, c.city, c.state, c.zip_code, c.time_zone, c.registered_on
        ) is distinct from (
            excluded.name, excluded.phone, excluded.email, excluded.loyalty_points, excluded.customer_type,
            excluded.member_group, excluded.marketing_source, excluded.street_address, excluded.city,
            excluded.state, excluded.zip_code, excluded.time_zone, excluded.registered_on
        )
        returning c.xmax = 0 as inserted
    )

    select
        (select count(*) from checked) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from checked where rejection is not null) as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('customers', p_source, v_batch);
end
$$;
comment on function conductor.import_customers(text) is
'Imports the staged customers of one source (conductor.staging_customers) into public.customers, '
'upserting by member_id; returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
-- >>> sql/functions/import/import_staff.sql
-- conductor.import_staff(source): staged staff -> public.staff, upserted by
-- (staff_name, shop_location) in one statement. Rejected: a row without either key part, and an
-- earlier row of a key that appears again later in the batch. Left out and recorded (the row is
-- still imported): a bad hire_date or is_active, and an employee_id another staff row already has.
-- The performance columns belong to the maintenance functions.
-- Reads and deletes conductor.staging_staff; writes public.staff, conductor.import_batches,
-- conductor.data_issues.

-- JIT is off: compiling this statement costs more than it saves.
create function conductor.import_staff(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
set datestyle = 'ISO, MDY'
set jit = off
language plpgsql
as $$
declare
    v_true constant text[] := array['true', 't', 'yes', 'y', '1', 'active'];
    v_false constant text[] := array['false', 'f', 'no', 'n', '0', 'inactive'];
    v_batch bigint;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_staff as s where s.source = p_source) then
        return conductor.import_batch_result('staff', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('staff', p_source)
    returning id into v_batch;
    -- Fresh statistics for the rows just staged, so the statement below is planned for its size.
    analyze conductor.staging_staff;

    with consumed as (
        delete from conductor.staging_staff as s
        where s.source = p_source
        returning s.*
    ),

    parsed as materialized (
        select
            c.row_number,
            nullif(btrim(c.staff_name), '') as staff_name,
            nullif(btrim(c.shop_location), '') as shop_location,
            nullif(btrim(c.employee_id), '') as employee_id,
            nullif(btrim(c.role), '') as role,
            lower(nullif(btrim(c.is_active), '')) as is_active,
            nullif(btrim(c.hire_date), '') as hire_date,
            conductor.parse_date(c.hire_date) as hire_date_value
        from consumed as c
    ),

    keyed as (
        select
            p.*,
            case
                when p.is_active = any(v_true) then true
                when p.is_active = any(v_false) then false
            end as is_active_value,
            case
                when p.staff_name is null then 'missing_staff_name'
                when p.shop_location is null then 'missing_shop_location'
            end as invalid
        from parsed as p
    ),

    ranked as (
        select
            k.*,
            max(k.row_number) filter (where k.invalid is null)
                over (partition by k.staff_name, k.shop_location) as last_row
        from keyed as k
    ),

    checked as (
        select
            r.*,
            coalesce(r.invalid, case when r.row_number < r.last_row then 'duplicate' end) as rejection,
            r.is_active is not null and r.is_active_value is null as is_active_bad,
            r.hire_date is not null and r.hire_date_value is null as hire_date_bad,
            r.employee_id is not null and (
                exists (
                    select from public.staff as o
                    where
                        o.employee_id = r.employee_id
                        and (o.staff_name, o.shop_location) is distinct from (r.staff_name, r.shop_location)
                )
                or r.row_number < max(r.row_number) filter (where r.invalid is null and r.row_number = r.last_row)
                over (partition by r.employee_id)
            ) as employee_id_taken
        from ranked as r
    ),

    final as (
        select
            k.staff_name,
            k.shop_location,
            case when k.employee_id_taken then e.employee_id else k.employee_id end as employee_id,
            k.role,
            case
                when k.is_active_bad or k.is_active is null then coalesce(e.is_active, true)
                else k.is_active_value
            end as is_active,
            case when k.hire_date_bad then e.hire_date else k.hire_date_value end as hire_date
        from checked as k
        left join public.staff as e on e.staff_name = k.staff_name and e.shop_location = k.shop_location
        where k.rejection is null
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'staff', k.staff_name || ' @ ' || k.shop_location, i.field, i.bad_value, i.problem, i.action,
            v_batch, k.row_number
        from checked as k
        cross join lateral (
            values
            (
                k.rejection = 'missing_staff_name', 'staff_name', null::text,
                'staff_name is missing (it is part of the business key)', 'rejected'
            ),
            (
                k.rejection = 'missing_shop_location', 'shop_location', null::text,
                'shop_location is missing (it is part of the business key)', 'rejected'
            ),
            (
                k.rejection = 'duplicate', 'staff_name', k.staff_name,
                format(
                    'staff_name is given again for this shop_location in the batch: row %s of the source was imported instead',
                    k.last_row
                ),
                'rejected'
            ),
            (
                k.rejection is null and k.employee_id_taken, 'employee_id', k.employee_id,
                'employee_id already belongs to another staff member', 'field_cleared'
            ),
            (
                k.rejection is null and k.is_active_bad, 'is_active', k.is_active,
                'is_active is not true or false', 'field_cleared'
            ),
            (
                k.rejection is null and k.hire_date_bad, 'hire_date', k.hire_date,
                'hire_date is not a date', 'field_cleared'
            )
        ) as i (hit, field, bad_value, problem, action)
        where i.hit
        returning action
    ),

    upserted as (
        insert into public.staff as s (staff_name, shop_location, employee_id, role, is_active, hire_date)
        select f.staff_name, f.shop_location, f.employee_id, f.role, f.is_active, f.hire_date
        from final as f
        on conflict (staff_name, shop_location) do update set
            employee_id = excluded.employee_id,
            role = excluded.role,
            is_active = excluded.is_active,
            hire_date = excluded.hire_date
        where (s.employee_id, s.role, s.is_active, s.hire_date)
        is distinct from (excluded.employee_id, excluded.role, excluded.is_active, excluded.hire_date)
        returning s.xmax = 0 as inserted
    )

    select
        (select count(*) from checked) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from checked where rejection is not null) as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('staff', p_source, v_batch);
end
$$;
comment on function conductor.import_staff(text) is
'Imports the staged staff of one source (conductor.staging_staff) into public.staff, upserting by '
'(staff_name, shop_location); returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
-- >>> sql/functions/import/import_transactions.sql
-- conductor.import_transactions(source): staged transactions -> public.transactions, upserted
-- by transaction_id in ONE statement, so the statement-level maintenance triggers on
-- transactions run once per import, not once per row. Rejected (one data issue each, naming the
-- field): no transaction_id; a missing, unreadable or future date; a missing or bad total_amount;
-- a bad total_tax or discounts; loyalty points that are not numbers >= 0; an unknown
-- transaction_type or status; an amount whose sign does not fit the type; a refund link on a
-- sale; an unknown customer; an earlier row of a transaction_id that appears again later in the
-- batch. A refund link to a sale that is neither stored nor in the batch is left out and
-- recorded. A (staff_name, shop_location) the staff table does not know yet gets a staff row.
-- A date without a zone is local time in the store's time zone.
-- Reads and deletes conductor.staging_transactions; reads public.customers; writes
-- public.transactions, public.staff, conductor.import_batches, conductor.data_issues.

-- Planning: the staged rows are validated into a temporary table first (statistics the
-- planner can see), with nested loops, memoize and join reordering off for that statement
-- only; the upsert is planned with the session's settings, and so are the maintenance
-- triggers it fires. For the whole call JIT is off (compiling these statements costs more
-- than it saves) and work_mem is 64MB (sorts and hashes of a full export stay in memory).
create function conductor.import_transactions(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
set jit = off
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    -- ISO local times that are surely valid (day up to 28) are cast directly; the rest go
    -- through conductor.parse_timestamptz, which catches what the server cannot read.
    v_plain_time constant text :=
        '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])[ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$';
    v_batch bigint;
    v_settings jsonb;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_transactions as s where s.source = p_source) then
        return conductor.import_batch_result('transactions', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('transactions', p_source)
    returning id into v_batch;
    -- Every staged row once, each value read once (the lateral subquery is not flattened), with
    -- its first problem as "<field> <what is wrong>" (null when the row is good), in a temporary
    -- table whose statistics the statements below can see.
    analyze conductor.staging_transactions;
    v_settings := pg_catalog.jsonb_build_object(
        'enable_nestloop', pg_catalog.current_setting('enable_nestloop'),
        'enable_memoize', pg_catalog.current_setting('enable_memoize'),
        'join_collapse_limit', pg_catalog.current_setting('join_collapse_limit'),
        'DateStyle', pg_catalog.current_setting('DateStyle'),
        'TimeZone', pg_catalog.current_setting('TimeZone')
    );
    -- Dates without a zone are local times at the store; 03/04/2025 is March 4.
    perform pg_catalog.set_config('TimeZone', conductor.store_time_zone(), true);
    perform pg_catalog.set_config('DateStyle', 'ISO, MDY', true);
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
    perform pg_catalog.set_config('enable_memoize', 'off', true);
    perform pg_catalog.set_config('join_collapse_limit', '1', true);
    drop table if exists pg_temp.conductor_import_transactions;
    create temporary table conductor_import_transactions on commit drop as
    select
        s.row_number,
        p.transaction_id,
        p.customer_id,
        p.date_value as date,
        p.shop_location,
        p.staff_name,
        p.terminal,
        p.payment_type,
        t.type_value as transaction_type,
        t.status_value as status,
        p.refunded_transaction_id,
        false as link_unknown,
        pg_catalog.round(p.amount_value, 2) as total_amount,
        pg_catalog.round(p.tax_value, 2) as total_tax,
        pg_catalog.round(p.discounts_value, 2) as discounts,
        pg_catalog.round(p.earned_value, 2) as loyalty_points_earned,
        pg_catalog.round(p.spent_value, 2) as loyalty_points_spent,
        case
            when p.transaction_id is null then 'transaction_id is missing (it is the business key)'
            when p.date_text is null then 'date is missing'
            when p.date_value is null then 'date is not a timestamp'
            when p.date_value > pg_catalog.now() + interval '1 day' then 'date is in the future'
            when p.amount_text is null then 'total_amount is missing'
            when p.amount_value is null or abs(p.amount_value) >= 1e10 then 'total_amount is not an amount'
            when p.tax_value is null or abs(p.tax_value) >= 1e10 then 'total_tax is not an amount'
            when p.discounts_value is null or abs(p.discounts_value) >= 1e10 then 'discounts is not an amount'
            when p.earned_value is null or p.earned_value < 0 or p.earned_value >= 1e10
                then 'loyalty_points_earned is not a number >= 0'
            when p.spent_value is null or p.spent_value < 0 or p.spent_value >= 1e10
                then 'loyalty_points_spent is not a number >= 0'
            when t.type_value is null then 'transaction_type is not sale or refund'
            when t.status_value is null then 'status is not completed or voided'
            when t.type_value = 'sale' and p.amount_value < 0 then 'total_amount of a sale is negative'
            when t.type_value = 'refund' and p.amount_value > 0 then 'total_amount of a refund is positive'
            when t.type_value = 'sale' and p.refunded_transaction_id is not null
                then 'refunded_transaction_id is given on a sale'
            when p.customer_id is not null and c.member_id is null then 'customer_id is not a known customer'
        end as problem
    from conductor.staging_transactions as s
    cross join lateral (
        select
            nullif(btrim(s.transaction_id), '') as transaction_id,
            nullif(btrim(s.customer_id), '') as customer_id,
            nullif(btrim(s.shop_location), '') as shop_location,
            nullif(btrim(s.staff_name), '') as staff_name,
            nullif(btrim(s.terminal), '') as terminal,
            nullif(btrim(s.payment_type), '') as payment_type,
            lower(nullif(btrim(s.transaction_type), '')) as type_text,
            lower(nullif(btrim(s.status), '')) as status_text,
            nullif(btrim(s.refunded_transaction_id), '') as refunded_transaction_id,
            nullif(btrim(s.date), '') as date_text,
            case
                when s.date ~ v_plain_time then s.date::timestamptz
                else conductor.parse_timestamptz(s.date)
            end as date_value,
            nullif(btrim(s.total_amount), '') as amount_text,
            case
                when btrim(s.total_amount) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_amount), ',', ''), '$', '')::numeric
            end as amount_value,
            case
                when nullif(btrim(s.total_tax), '') is null then 0
                when btrim(s.total_tax) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_tax), ',', ''), '$', '')::numeric
            end as tax_value,
            case
                when nullif(btrim(s.discounts), '') is null then 0
                when btrim(s.discounts) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.discounts), ',', ''), '$', '')::numeric
            end as discounts_value,
            case
                when nullif(btrim(s.loyalty_points_earned), '') is null then 0
                when btrim(s.loyalty_points_earned) ~ v_number
                    then pg_catalog.replace(btrim(s.loyalty_points_earned), ',', '')::numeric
            end as earned_value,
            case
                when nullif(btrim(s.loyalty_points_spent), '') is null then 0
                when btrim(s.loyalty_points_spent) ~ v_number
                    then pg_catalog.replace(btrim(s.loyalty_points_spent), ',', '')::numeric
            end as spent_value
        offset 0
    ) as p
    cross join lateral (
        select
            case
                when p.type_text is null then case when p.amount_value < 0 then 'refund' else 'sale' end
                when p.type_text = 'sale' then 'sale'
                when p.type_text in ('refund', 'return') then 'refund'
            end as type_value,
            case
                when p.status_text is null or p.status_text in ('completed', 'complete') then 'completed'
                when p.status_text in ('voided', 'void') then 'voided'
            end as status_value
    ) as t
    left join public.customers as c on c.member_id = p.customer_id
    where s.source = p_source;

    -- A transaction_id given twice: the last good row wins, earlier ones are rejected.
    update pg_temp.conductor_import_transactions as v
    set problem = format(
        'transaction_id is given again in the batch: row %s of the source was imported instead', d.last_row
    )
    from (
        select r.transaction_id, max(r.row_number) as last_row
        from pg_temp.conductor_import_transactions as r
        where r.problem is null
        group by r.transaction_id
        having count(*) > 1
    ) as d
    where v.problem is null and v.transaction_id = d.transaction_id and v.row_number < d.last_row;

    -- A refund of a sale that is neither stored nor imported by this batch: the link is left out
    -- (an existing row keeps its stored link).
    update pg_temp.conductor_import_transactions as v
    set link_unknown = true
    where
        v.problem is null
        and v.refunded_transaction_id is not null
        and (
            v.refunded_transaction_id = v.transaction_id
            or (
                not exists (
                    select from pg_temp.conductor_import_transactions as b
                    where b.transaction_id = v.refunded_transaction_id and b.problem is null
                )
                and not exists (
                    select from public.transactions as o where o.transaction_id = v.refunded_transaction_id
                )
            )
        );
    analyze pg_temp.conductor_import_transactions;
    perform pg_catalog.set_config(e.key, e.value, true) from pg_catalog.jsonb_each_text(v_settings) as e;

    with consumed as (
        delete from conductor.staging_transactions as s
        using pg_temp.conductor_import_transactions as v
        where s.source = p_source and s.row_number = v.row_number
        returning 1
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'transactions', i.transaction_id, split_part(i.problem, ' ', 1),
            pg_catalog.to_jsonb(s) ->> split_part(i.problem, ' ', 1), i.problem, i.action, v_batch, i.row_number
        from (
            select v.row_number, v.transaction_id, v.problem, 'rejected' as action
            from pg_temp.conductor_import_transactions as v
            where v.problem is not null
            union all
            select v.row_number, v.transaction_id, 'refunded_transaction_id is not a known transaction', 'field_cleared'
            from pg_temp.conductor_import_transactions as v
            where v.problem is null and v.link_unknown
        ) as i
        inner join conductor.staging_transactions as s on s.source = p_source and s.row_number = i.row_number
        returning action
    ),

    staff_added as (
        insert into public.staff (staff_name, shop_location)
        select distinct v.staff_name, v.shop_location
        from pg_temp.conductor_import_transactions as v
        where v.problem is null and v.staff_name is not null and v.shop_location is not null
        on conflict (staff_name, shop_location) do nothing
        returning 1
    ),

    upserted as (
        insert into public.transactions as t (
            transaction_id, customer_id, date, shop_location, staff_name, terminal, payment_type,
            transaction_type, status, refunded_transaction_id, total_amount, total_tax, discounts,
            loyalty_points_earned, loyalty_points_spent
        )
        select
            v.transaction_id, v.customer_id, v.date, v.shop_location, v.staff_name, v.terminal, v.payment_type,
            v.transaction_type, v.status,
            case
                when v.link_unknown
                    then (
                        select e.refunded_transaction_id from public.transactions as e
                        where e.transaction_id = v.transaction_id
                    )
                else v.refunded_transaction_id
            end,
            v.total_amount, v.total_tax, v.discounts, v.loyalty_points_earned, v.loyalty_points_spent
        from pg_temp.conductor_import_transactions as v
        where v.problem is null
        on conflict (transaction_id) do update set
            customer_id = excluded.customer_id,
            date = excluded.date,
            shop_location = excluded.shop_location,
            staff_name = excluded.staff_name,
            terminal = excluded.terminal,
            payment_type = excluded.payment_type,
            transaction_type = excluded.transaction_type,
            status = excluded.status,
            refunded_transaction_id = excluded.refunded_transaction_id,
            total_amount = excluded.total_amount,
            total_tax = excluded.total_tax,
            discounts = excluded.discounts,
            loyalty_points_earned = excluded.loyalty_points_earned,
            loyalty_points_spent = excluded.loyalty_points_spent
        where (
            t.customer_id, t.date, t.shop_location, t.staff_name, t.terminal, t.payment_type, t.transaction_type,
            t.status, t.refunded_transaction_id, t.total_amount, t.total_tax, t.discounts,
            t.loyalty_points_earned, t.loyalty_points_spent
        ) is distinct from (
            excluded.customer_id, excluded.date, excluded.shop_location, excluded.staff_name, excluded.terminal,
            excluded.payment_type, excluded.transaction_type, excluded.status, excluded.refunded_transaction_id,
            excluded.total_amount, excluded.total_tax, excluded.discounts, excluded.loyalty_points_earned,
            excluded.loyalty_points_spent
        )
        returning t.xmax = 0 as inserted
    )

    select
        (select count(*) from consumed) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from issues where action = 'rejected') as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared,
        (select count(*) from staff_added) as staff_added
    into v_counts;
    drop table pg_temp.conductor_import_transactions;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('transactions', p_source, v_batch)
        || pg_catalog.jsonb_build_object('staff_added', v_counts.staff_added);
end
$$;
comment on function conductor.import_transactions(text) is
'Imports the staged transactions of one source (conductor.staging_transactions) into '
'public.transactions in one statement, upserting by transaction_id; adds staff rows for unknown '
'budtenders; returns the batch counts as jsonb. Re-importing the same rows changes nothing.';
-- >>> sql/functions/import/import_transaction_items.sql
-- conductor.import_transaction_items(source): staged line items -> public.transaction_items,
-- upserted by (transaction_id, line_number) in ONE statement (the statement-level maintenance
-- triggers run once per import). Rejected (one data issue each, naming the field): no
-- transaction_id; a line_number that is not a whole number > 0; an unknown transaction; an
-- unknown sku; a quantity that is missing, not a whole number or not > 0; a missing, bad or
-- negative unit_price; a bad or negative discount; a bad total_price; an earlier row of a line
-- that appears again later in the batch. A bad thc_content or cbd_content is left out and
-- recorded. Lines without line_number are numbered in row order within their transaction;
-- product attributes left empty are taken from the catalogue; an empty total_price is
-- quantity * unit_price - discount (negative on a refund).
-- Reads and deletes conductor.staging_transaction_items; reads public.transactions,
-- public.products; writes public.transaction_items, conductor.import_batches, conductor.data_issues.

-- Planning: the staged rows are validated into a temporary table first (statistics the
-- planner can see), with nested loops, memoize and join reordering off for that statement
-- only; the upsert is planned with the session's settings, and so are the maintenance
-- triggers it fires. For the whole call JIT is off (compiling these statements costs more
-- than it saves) and work_mem is 64MB (sorts and hashes of a full export stay in memory).
create function conductor.import_transaction_items(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
set jit = off
set work_mem = '64MB'
language plpgsql
as $$
declare
    v_number constant text := '^[+-]?\$?(([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]*)?|\.[0-9]+)$';
    v_batch bigint;
    v_settings jsonb;
    v_counts record;
begin
    perform conductor.require_import_source(p_source);
    perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor import'));
    if not exists (select from conductor.staging_transaction_items as s where s.source = p_source) then
        return conductor.import_batch_result('transaction_items', p_source, null);
    end if;
    insert into conductor.import_batches (entity, source) values ('transaction_items', p_source)
    returning id into v_batch;
    -- Every staged row once, each value read once (the lateral subquery is not flattened), with
    -- its first problem as "<field> <what is wrong>" (null when the row is good), in a temporary
    -- table whose statistics the statements below can see.
    analyze conductor.staging_transaction_items;
    v_settings := pg_catalog.jsonb_build_object(
        'enable_nestloop', pg_catalog.current_setting('enable_nestloop'),
        'enable_memoize', pg_catalog.current_setting('enable_memoize'),
        'join_collapse_limit', pg_catalog.current_setting('join_collapse_limit')
    );
    perform pg_catalog.set_config('enable_nestloop', 'off', true);
    perform pg_catalog.set_config('enable_memoize', 'off', true);
    perform pg_catalog.set_config('join_collapse_limit', '1', true);
    drop table if exists pg_temp.conductor_import_items;
    create temporary table conductor_import_items on commit drop as
    select
        s.row_number,
        p.transaction_id,
        coalesce(n.line_value, p.line_value) as line_value,
        p.product_sku,
        coalesce(p.product_name, pr.name) as product_name,
        coalesce(p.brand, pr.brand) as brand,
        coalesce(p.category, pr.category) as category,
        coalesce(p.strain, pr.strain) as strain,
        coalesce(p.flower_type, pr.flower_type) as flower_type,
        case when p.quantity_value between 1 and 2e9 then p.quantity_value::integer end as quantity,
        pg_catalog.round(p.unit_price_value, 2) as unit_price,
        pg_catalog.round(p.discount_value, 2) as discount,
        pg_catalog.round(
            coalesce(
                p.total_price_value,
                (p.quantity_value * p.unit_price_value - p.discount_value)
                * case when t.transaction_type = 'refund' then -1 else 1 end
            ),
            2
        ) as total_price,
        p.thc_text is not null and (p.thc_value is null or p.thc_value < 0 or p.thc_value >= 1e5) as thc_bad,
        p.cbd_text is not null and (p.cbd_value is null or p.cbd_value < 0 or p.cbd_value >= 1e5) as cbd_bad,
        -- An unusable potency falls back to the catalogue's, as an empty one does.
        pg_catalog.round(
            case
                when p.thc_value is null or p.thc_value < 0 or p.thc_value >= 1e5 then pr.thc_content
                else p.thc_value
            end,
            3
        ) as thc_content,
        pg_catalog.round(
            case
                when p.cbd_value is null or p.cbd_value < 0 or p.cbd_value >= 1e5 then pr.cbd_content
                else p.cbd_value
            end,
            3
        ) as cbd_content,
        case
            when p.transaction_id is null then 'transaction_id is missing (it is part of the business key)'
            when n.line_value is null and p.line_value is null then 'line_number is not a number'
            when
                n.line_value is null
                and (p.line_value <= 0 or p.line_value <> pg_catalog.trunc(p.line_value) or p.line_value >= 2e9)
                then 'line_number is not a whole number > 0'
            when t.transaction_id is null then 'transaction_id is not a known transaction'
            when p.product_sku is not null and pr.sku is null then 'product_sku is not a known product'
            when p.quantity_text is null then 'quantity is missing'
            when p.quantity_value is null then 'quantity is not a number'
            when p.quantity_value < 0 then 'quantity is negative'
            when p.quantity_value = 0 then 'quantity is zero'
            when p.quantity_value <> pg_catalog.trunc(p.quantity_value) or p.quantity_value >= 2e9
                then 'quantity is not a whole number'
            when p.unit_price_text is null then 'unit_price is missing'
            when p.unit_price_value is null or p.unit_price_value >= 1e10 then 'unit_price is not an amount'
            when p.unit_price_value < 0 then 'unit_price is negative'
            when p.discount_value is null or p.discount_value >= 1e10 then 'discount is not an amount'
            when p.discount_value < 0 then 'discount is negative'
            when p.total_price_text is not null and p.total_price_value is null then 'total_price is not an amount'
            when
                abs(coalesce(p.total_price_value, p.quantity_value * p.unit_price_value - p.discount_value))
                >= 1e10
                then 'total_price is out of range'
        end as problem
    from conductor.staging_transaction_items as s
    cross join lateral (
        select
            nullif(btrim(s.transaction_id), '') as transaction_id,
            case
                when btrim(s.line_number) ~ v_number then pg_catalog.replace(btrim(s.line_number), ',', '')::numeric
            end as line_value,
            nullif(btrim(s.product_sku), '') as product_sku,
            nullif(btrim(s.product_name), '') as product_name,
            nullif(btrim(s.brand), '') as brand,
            nullif(btrim(s.category), '') as category,
            nullif(btrim(s.strain), '') as strain,
            nullif(btrim(s.flower_type), '') as flower_type,
            nullif(btrim(s.quantity), '') as quantity_text,
            case
                when btrim(s.quantity) ~ v_number then pg_catalog.replace(btrim(s.quantity), ',', '')::numeric
            end as quantity_value,
            nullif(btrim(s.unit_price), '') as unit_price_text,
            case
                when btrim(s.unit_price) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.unit_price), ',', ''), '$', '')::numeric
            end as unit_price_value,
            case
                when nullif(btrim(s.discount), '') is null then 0
                when btrim(s.discount) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.discount), ',', ''), '$', '')::numeric
            end as discount_value,
            nullif(btrim(s.total_price), '') as total_price_text,
            case
                when btrim(s.total_price) ~ v_number
                    then pg_catalog.replace(pg_catalog.replace(btrim(s.total_price), ',', ''), '$', '')::numeric
            end as total_price_value,
            nullif(btrim(s.thc_content), '') as thc_text,
            case
                when btrim(s.thc_content) ~ v_number then pg_catalog.replace(btrim(s.thc_content), ',', '')::numeric
            end as thc_value,
            nullif(btrim(s.cbd_content), '') as cbd_text,
            case
                when btrim(s.cbd_content) ~ v_number then pg_catalog.replace(btrim(s.cbd_content), ',', '')::numeric
            end as cbd_value
        offset 0
    ) as p
    -- Lines without a line_number are numbered in row order within their transaction.
    left join (
        select
            b.row_number,
            row_number() over (partition by btrim(b.transaction_id) order by b.row_number) as line_value
        from conductor.staging_transaction_items as b
        where b.source = p_source and nullif(btrim(b.line_number), '') is null
    ) as n on n.row_number = s.row_number
    left join public.transactions as t on t.transaction_id = p.transaction_id
    left join public.products as pr on pr.sku = p.product_sku
    where s.source = p_source;

    -- A line given twice: the last good row wins, earlier ones are rejected.
    update pg_temp.conductor_import_items as v
    set problem = format(
        'line_number is given again for this transaction in the batch: row %s of the source was imported instead',
        d.last_row
    )
    from (
        select r.transaction_id, r.line_value, max(r.row_number) as last_row
        from pg_temp.conductor_import_items as r
        where r.problem is null
        group by r.transaction_id, r.line_value
        having count(*) > 1
    ) as d
    where
        v.problem is null and v.transaction_id = d.transaction_id and v.line_value = d.line_value
        and v.row_number < d.last_row;
    analyze pg_temp.conductor_import_items;
    perform pg_catalog.set_config(e.key, e.value, true) from pg_catalog.jsonb_each_text(v_settings) as e;

    with consumed as (
        delete from conductor.staging_transaction_items as s
        using pg_temp.conductor_import_items as v
        where s.source = p_source and s.row_number = v.row_number
        returning 1
    ),

    issues as (
        insert into conductor.data_issues (
            entity, business_key, field, bad_value, problem, action, import_batch_id, source_row
        )
        select
            'transaction_items',
            i.transaction_id || ' #' || coalesce(nullif(btrim(s.line_number), ''), i.line_value::text),
            split_part(i.problem, ' ', 1), pg_catalog.to_jsonb(s) ->> split_part(i.problem, ' ', 1), i.problem,
            i.action, v_batch, i.row_number
        from (
            select v.row_number, v.transaction_id, v.line_value, v.problem, 'rejected' as action
            from pg_temp.conductor_import_items as v
            where v.problem is not null
            union all
            select v.row_number, v.transaction_id, v.line_value, 'thc_content is not a number >= 0', 'field_cleared'
            from pg_temp.conductor_import_items as v
            where v.problem is null and v.thc_bad
            union all
            select v.row_number, v.transaction_id, v.line_value, 'cbd_content is not a number >= 0', 'field_cleared'
            from pg_temp.conductor_import_items as v
            where v.problem is null and v.cbd_bad
        ) as i
        inner join conductor.staging_transaction_items as s on s.source = p_source and s.row_number = i.row_number
        returning action
    ),

    upserted as (
        insert into public.transaction_items as ti (
            transaction_id, line_number, product_sku, product_name, brand, category, strain, flower_type,
            quantity, unit_price, discount, total_price, thc_content, cbd_content
        )
        select
            v.transaction_id, v.line_value::integer, v.product_sku, v.product_name, v.brand, v.category, v.strain,
            v.flower_type, v.quantity, v.unit_price, v.discount, v.total_price, v.thc_content, v.cbd_content
        from pg_temp.conductor_import_items as v
        where v.problem is null
        on conflict (transaction_id, line_number) do update set
            product_sku = excluded.product_sku,
            product_name = excluded.product_name,
            brand = excluded.brand,
            category = excluded.category,
            strain = excluded.strain,
            flower_type = excluded.flower_type,
            quantity = excluded.quantity,
            unit_price = excluded.unit_price,
            discount = excluded.discount,
            total_price = excluded.total_price,
            thc_content = excluded.thc_content,
            cbd_content = excluded.cbd_content
        where (
            ti.product_sku, ti.product_name, ti.brand, ti.category, ti.strain, ti.flower_type, ti.quantity,
            ti.unit_price, ti.discount, ti.total_price, ti.thc_content, ti.cbd_content
        ) is distinct from (
            excluded.product_sku, excluded.product_name, excluded.brand, excluded.category, excluded.strain,
            excluded.flower_type, excluded.quantity, excluded.unit_price, excluded.discount, excluded.total_price,
            excluded.thc_content, excluded.cbd_content
        )
        returning ti.xmax = 0 as inserted
    )

    select
        (select count(*) from consumed) as rows_read,
        (select count(*) from upserted where inserted) as rows_inserted,
        (select count(*) from upserted where not inserted) as rows_updated,
        (select count(*) from issues where action = 'rejected') as rows_rejected,
        (select count(*) from issues where action = 'field_cleared') as fields_cleared
    into v_counts;
    drop table pg_temp.conductor_import_items;

    update conductor.import_batches set
        finished_at = pg_catalog.clock_timestamp(),
        rows_read = v_counts.rows_read,
        rows_inserted = v_counts.rows_inserted,
        rows_updated = v_counts.rows_updated,
        rows_unchanged = v_counts.rows_read - v_counts.rows_rejected - v_counts.rows_inserted
        - v_counts.rows_updated,
        rows_rejected = v_counts.rows_rejected,
        fields_cleared = v_counts.fields_cleared
    where id = v_batch;
    return conductor.import_batch_result('transaction_items', p_source, v_batch);
end
$$;
comment on function conductor.import_transaction_items(text) is
'Imports the staged line items of one source (conductor.staging_transaction_items) into '
'public.transaction_items in one statement, upserting by (transaction_id, line_number); returns the '
'batch counts as jsonb. Re-importing the same rows changes nothing.';
-- >>> sql/functions/import/import_all.sql
-- conductor.import_all(source): every staged entity of one source, in dependency order
-- (products, customers, staff, transactions, line items), in the caller's transaction.
-- Reads and deletes conductor.staging_*; writes through the per-entity import functions.

create function conductor.import_all(p_source text)
returns jsonb
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_result jsonb;
begin
    perform conductor.require_import_source(p_source);
    -- One statement per entity, in this order: each import checks its references against what
    -- the previous ones stored.
    v_result := pg_catalog.jsonb_build_object('source', p_source);
    v_result := v_result || pg_catalog.jsonb_build_object('products', conductor.import_products(p_source));
    v_result := v_result || pg_catalog.jsonb_build_object('customers', conductor.import_customers(p_source));
    v_result := v_result || pg_catalog.jsonb_build_object('staff', conductor.import_staff(p_source));
    v_result := v_result
        || pg_catalog.jsonb_build_object('transactions', conductor.import_transactions(p_source));
    v_result := v_result
        || pg_catalog.jsonb_build_object('transaction_items', conductor.import_transaction_items(p_source));
    return v_result;
end
$$;
comment on function conductor.import_all(text) is
'Imports every staged entity of one source in dependency order (products, customers, staff, '
'transactions, transaction_items); returns {source, <entity>: counts, ...} as jsonb.';

-- Code: derived customer data (metrics, affinity, visit patterns, RFM, staff, win-back).
-- >>> sql/functions/metrics/customers.sql
-- Customer metrics on public.customers, recomputed from public.transactions for a set of
-- customers (the maintenance triggers pass exactly the customers a statement touched;
-- conductor.rebuild_all passes everyone), and the clock-dependent scores for everyone (nightly,
-- and when a threshold table changes). Rows are written only when a value changes.
-- Reads: transactions, customers, the threshold tables (through conductor.customer_scores).
-- Writes: customers (metric columns only).

-- Locks the customers' rows in a fixed order. Taken before any recomputation: in READ COMMITTED
-- each later statement then sees every committed sale of these customers, so two concurrent sales
-- of one customer can never overwrite each other's totals with a stale aggregate.
create function conductor.lock_customers(p_member_ids text[])
returns void
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    perform
    from public.customers as c
    where c.member_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    order by c.member_id
    for no key update;
end
$$;
comment on function conductor.lock_customers(text[]) is
'Locks these customers'' rows (FOR NO KEY UPDATE, in member_id order) before their derived data is recomputed.';

create function conductor.refresh_customers(
    p_member_ids text[],
    out changed_rows integer,
    out visits_changed text[]
)
returns record
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();
    v_today date := conductor.store_today();
begin
    changed_rows := 0;
    visits_changed := '{}';
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return;
    end if;
    perform conductor.lock_customers(p_member_ids);

    with totals as (
        select
            c.id,
            c.total_visits as old_total_visits,
            c.first_visited as old_first_visited,
            c.last_visited as old_last_visited,
            a.total_visits::integer as total_visits,
            a.total_sales::integer as total_sales,
            a.total_refunds::integer as total_refunds,
            coalesce(a.gross_sales, 0) as gross_sales,
            coalesce(a.gross_refunds, 0) as gross_refunds,
            round(a.gross_sales / nullif(a.total_sales, 0), 2) as avg_sale_value,
            coalesce(a.gross_sales, 0) - coalesce(a.gross_refunds, 0) as lifetime_value,
            least(c.registered_on, a.first_visited) as date_joined,
            a.first_visited,
            a.last_visited
        from public.customers as c
        cross join lateral (
            select
                count(distinct (t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as total_visits,
                count(*) filter (where t.transaction_type = 'sale') as total_sales,
                count(*) filter (where t.transaction_type = 'refund') as total_refunds,
                sum(t.total_amount) filter (where t.transaction_type = 'sale') as gross_sales,
                -sum(t.total_amount) filter (where t.transaction_type = 'refund') as gross_refunds,
                min((t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as first_visited,
                max((t.date at time zone v_time_zone)::date)
                    filter (where t.transaction_type = 'sale') as last_visited
            from public.transactions as t
            where t.customer_id = c.member_id and t.status = 'completed'
        ) as a
        where c.member_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
    ),

    -- The new totals scored by the threshold bands, joined exactly as conductor.customer_scores
    -- joins the stored totals (one write per customer instead of totals first, scores after).
    computed as (
        select
            m.*,
            d.days as days_since_last_visit,
            vt.tier as vip_status,
            cl.level as churn_risk,
            rr.score as rfm_recency,
            rf.score as rfm_frequency,
            rm.score as rfm_monetary,
            ls.lead_score,
            sg.segment as lead_segment
        from totals as m
        cross join lateral (
            select case when m.last_visited is not null then greatest(v_today - m.last_visited, 0) end as days
        ) as d
        left join conductor.vip_tier_bands as vt on vt.visits @> m.total_visits
        left join conductor.churn_level_bands as cl on cl.days @> d.days
        left join conductor.rfm_score_bands as rr
            on rr.dimension = 'recency' and rr.bounds @> coalesce(d.days::numeric, 'Infinity'::numeric)
        left join conductor.rfm_score_bands as rf
            on rf.dimension = 'frequency' and rf.bounds @> m.total_sales::numeric
        left join conductor.rfm_score_bands as rm on rm.dimension = 'monetary' and rm.bounds @> m.lifetime_value
        cross join lateral (select (3 * rr.score + 2 * rf.score + rm.score)::smallint as lead_score) as ls
        left join conductor.lead_segment_bands as sg on sg.scores @> ls.lead_score::integer
    ),

    updated as (
        update public.customers as c
        set
            total_visits = m.total_visits,
            total_sales = m.total_sales,
            total_refunds = m.total_refunds,
            gross_sales = m.gross_sales,
            gross_refunds = m.gross_refunds,
            avg_sale_value = m.avg_sale_value,
            lifetime_value = m.lifetime_value,
            date_joined = m.date_joined,
            first_visited = m.first_visited,
            last_visited = m.last_visited,
            days_since_last_visit = m.days_since_last_visit,
            vip_status = m.vip_status,
            churn_risk = m.churn_risk,
            rfm_recency = m.rfm_recency,
            rfm_frequency = m.rfm_frequency,
            rfm_monetary = m.rfm_monetary,
            lead_score = m.lead_score,
            lead_segment = m.lead_segment,
            last_scored_at = case
                when (c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.lead_score,
                    c.lead_segment)
                is distinct from (m.vip_status, m.churn_risk, m.rfm_recency, m.rfm_frequency, m.rfm_monetary,
                    m.lead_score, m.lead_segment)
                    then now()
                else c.last_scored_at
            end
        from computed as m
        where
            c.id = m.id
            and (
                c.total_visits, c.total_sales, c.total_refunds, c.gross_sales, c.gross_refunds,
                c.avg_sale_value, c.lifetime_value, c.date_joined, c.first_visited, c.last_visited,
                c.days_since_last_visit, c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency,
                c.rfm_monetary, c.lead_score, c.lead_segment
            ) is distinct from (
                m.total_visits, m.total_sales, m.total_refunds, m.gross_sales, m.gross_refunds,
                m.avg_sale_value, m.lifetime_value, m.date_joined, m.first_visited, m.last_visited,
                m.days_since_last_visit, m.vip_status, m.churn_risk, m.rfm_recency, m.rfm_frequency,
                m.rfm_monetary, m.lead_score, m.lead_segment
            )
        returning
            c.member_id,
            (m.old_total_visits, m.old_first_visited, m.old_last_visited)
            is distinct from (m.total_visits, m.first_visited, m.last_visited) as visits_changed
    )

    select
        count(*)::integer,
        coalesce(array_agg(u.member_id order by u.member_id) filter (where u.visits_changed), '{}')
    into changed_rows, visits_changed
    from updated as u;
end
$$;
comment on function conductor.refresh_customers(text[]) is
'Recomputes every metric column of these customers from their completed transactions (tiers, churn and '
'RFM through the conductor.*_bands views) and writes the rows whose values changed. Returns how many rows '
'changed and which customers'' visit days changed.';

-- Writes conductor.customer_scores into these customers' rows where it differs.
create function conductor.write_scores(p_member_ids text[])
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_rows integer;
begin
    update public.customers as c
    set
        days_since_last_visit = s.days_since_last_visit,
        vip_status = s.vip_status,
        churn_risk = s.churn_risk,
        rfm_recency = s.rfm_recency,
        rfm_frequency = s.rfm_frequency,
        rfm_monetary = s.rfm_monetary,
        lead_score = s.lead_score,
        lead_segment = s.lead_segment,
        last_scored_at = case
            when (c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency, c.rfm_monetary, c.lead_score,
                c.lead_segment)
            is distinct from (s.vip_status, s.churn_risk, s.rfm_recency, s.rfm_frequency, s.rfm_monetary,
                s.lead_score, s.lead_segment)
                then now()
            else c.last_scored_at
        end
    from conductor.customer_scores as s
    where
        c.id = s.id
        and s.member_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
        and (
            c.days_since_last_visit, c.vip_status, c.churn_risk, c.rfm_recency, c.rfm_frequency,
            c.rfm_monetary, c.lead_score, c.lead_segment
        ) is distinct from (
            s.days_since_last_visit, s.vip_status, s.churn_risk, s.rfm_recency, s.rfm_frequency,
            s.rfm_monetary, s.lead_score, s.lead_segment
        );
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.write_scores(text[]) is
'Writes days_since_last_visit, vip_status, churn_risk, the RFM scores, lead_score and lead_segment from '
'conductor.customer_scores into these customers where they differ; last_scored_at moves when '
'a tier, churn or RFM value changes. Returns rows written.';

create function conductor.refresh_scores()
returns integer
volatile
security invoker
set search_path = ''
language sql
as $$
    select conductor.write_scores(array(select c.member_id from public.customers as c))
$$;
comment on function conductor.refresh_scores() is
'Brings every customer''s clock- and threshold-dependent values up to date (conductor.write_scores for '
'everyone); writes only rows that change. Returns that count.';
-- >>> sql/functions/metrics/visit_patterns.sql
-- Visit rhythm per customer (public.customer_visit_patterns), recomputed from the customers'
-- visit days: the gaps between consecutive visits, their mean and consistency, the predicted
-- next visit and today's deviation from it; plus the nightly refresh of that deviation.
-- Reads: transactions. Writes: customer_visit_patterns (only rows whose values change).

create function conductor.refresh_visit_patterns(p_member_ids text[])
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();
    v_today date := conductor.store_today();
    v_rows integer;
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return 0;
    end if;
    perform conductor.lock_customers(p_member_ids);

    with visit_days as (
        select distinct
            t.customer_id,
            (t.date at time zone v_time_zone)::date as visit_day
        from public.transactions as t
        where
            t.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
            and t.status = 'completed'
            and t.transaction_type = 'sale'
    ),

    gaps as (
        select
            v.customer_id,
            v.visit_day,
            v.visit_day - lag(v.visit_day) over (partition by v.customer_id order by v.visit_day) as gap
        from visit_days as v
    ),

    stats as (
        select
            g.customer_id,
            count(*)::integer as total_visits,
            max(g.visit_day) as last_visit_day,
            count(g.gap) as gap_count,
            avg(g.gap) as mean_gap,
            stddev_pop(g.gap) as sd_gap,
            max(g.gap) as longest_gap_days,
            min(g.gap) as shortest_gap_days
        from gaps as g
        group by g.customer_id
    ),

    rounded as (
        select
            s.*,
            round(s.mean_gap, 2) as avg_days_between_visits
        from stats as s
    ),

    computed as (
        select
            r.customer_id,
            r.total_visits,
            r.avg_days_between_visits,
            case
                when r.gap_count >= 2
                    then round(greatest(0, least(10, 10 * (1 - r.sd_gap / r.mean_gap))), 2)
            end as visit_consistency_score,
            r.last_visit_day + round(r.avg_days_between_visits)::integer as predicted_next_visit,
            v_today - (r.last_visit_day + round(r.avg_days_between_visits)::integer) as last_visit_deviation_days,
            r.longest_gap_days,
            r.shortest_gap_days
        from rounded as r
    ),

    -- Explicit delete / update / insert (evaluated in that order below): rows whose values stay
    -- put are neither written nor locked.
    updated as (
        update public.customer_visit_patterns as p
        set
            total_visits = c.total_visits,
            avg_days_between_visits = c.avg_days_between_visits,
            visit_consistency_score = c.visit_consistency_score,
            predicted_next_visit = c.predicted_next_visit,
            last_visit_deviation_days = c.last_visit_deviation_days,
            longest_gap_days = c.longest_gap_days,
            shortest_gap_days = c.shortest_gap_days
        from computed as c
        where
            p.customer_id = c.customer_id
            and (
                p.total_visits, p.avg_days_between_visits, p.visit_consistency_score, p.predicted_next_visit,
                p.last_visit_deviation_days, p.longest_gap_days, p.shortest_gap_days
            ) is distinct from (
                c.total_visits, c.avg_days_between_visits, c.visit_consistency_score, c.predicted_next_visit,
                c.last_visit_deviation_days, c.longest_gap_days, c.shortest_gap_days
            )
        returning 1
    ),

    inserted as (
        insert into public.customer_visit_patterns (
            customer_id, total_visits, avg_days_between_visits, visit_consistency_score,
            predicted_next_visit, last_visit_deviation_days, longest_gap_days, shortest_gap_days
        )
        select
            c.customer_id,
            c.total_visits,
            c.avg_days_between_visits,
            c.visit_consistency_score,
            c.predicted_next_visit,
            c.last_visit_deviation_days,
            c.longest_gap_days,
            c.shortest_gap_days
        from computed as c
        -- rows that exist are skipped through the primary key (a NOT EXISTS probe could be planned
        -- as a scan of this very table while the statement appends to it)
        on conflict (customer_id) do nothing
        returning 1
    ),

    deleted as (
        delete from public.customer_visit_patterns as p
        where
            p.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
            and not exists (select from computed as c where c.customer_id = p.customer_id)
        returning 1
    )

    select (select count(*) from deleted) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    return v_rows;
end
$$;
comment on function conductor.refresh_visit_patterns(text[]) is
'Recomputes the visit patterns of these customers from their visit days (see the column comments of '
'public.customer_visit_patterns); deletes the row of a customer left without visits. Returns rows changed.';

create function conductor.refresh_visit_deviation()
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_today date := conductor.store_today();
    v_rows integer;
begin
    update public.customer_visit_patterns as p
    set last_visit_deviation_days = v_today - p.predicted_next_visit
    where
        p.predicted_next_visit is not null
        and p.last_visit_deviation_days is distinct from v_today - p.predicted_next_visit;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.refresh_visit_deviation() is
'Sets last_visit_deviation_days = today - predicted_next_visit where it changed (the day turned). '
'Returns rows changed.';
-- >>> sql/functions/metrics/product_affinity.sql
-- Purchase history per customer and product (public.customer_product_affinity), recomputed for
-- whole customers: the repurchase rate of every product depends on all of the customer's visits,
-- so a new visit day can change every row of that customer (rows whose values stay put are not
-- written). Reads: transactions, transaction_items. Writes: customer_product_affinity.

create function conductor.refresh_product_affinity(p_member_ids text[])
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_time_zone text := conductor.store_time_zone();
    v_rows integer;
begin
    if coalesce(cardinality(p_member_ids), 0) = 0 then
        return 0;
    end if;
    perform conductor.lock_customers(p_member_ids);

    -- A linear pipeline (no join between aggregated sets, so no plan can go quadratic):
    -- transactions with their visit numbers -> lines -> per transaction -> per day -> per product.
    with sales as (
        select
            t.transaction_id,
            t.customer_id,
            t.date as sold_at,
            t.transaction_type = 'sale' as is_sale,
            (t.date at time zone v_time_zone)::date as sold_on,
            -- visit number of a sale's day (1 = first visit); null for refunds
            case
                when t.transaction_type = 'sale'
                    then dense_rank() over (
                        partition by t.customer_id, t.transaction_type
                        order by (t.date at time zone v_time_zone)::date
                    )
            end as visit_number
        from public.transactions as t
        where t.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id)) and t.status = 'completed'
    ),

    counted as (
        select
            s.*,
            max(s.visit_number) over (partition by s.customer_id) as total_visits
        from sales as s
    ),

    lines as (
        -- One window pass over each product's lines, newest sale first: the latest sale line gives
        -- the name, brand and category; a line whose transaction or day differs from the line
        -- before it starts a new purchase or a new purchase day (lines of one transaction, and of
        -- one day, are adjacent in this order).
        select
            s.customer_id,
            i.product_sku,
            s.is_sale,
            s.sold_on,
            s.visit_number,
            s.total_visits,
            i.quantity,
            -- refund lines reduce the spend by their amount, whichever sign the POS gave it
            case when s.is_sale then i.total_price else -abs(i.total_price) end as amount,
            first_value(i.product_name) over latest as product_name,
            first_value(i.brand) over latest as brand,
            first_value(i.category) over latest as category,
            (lag(s.transaction_id) over latest) is distinct from s.transaction_id as new_transaction,
            (lag(s.sold_on) over latest, lag(s.is_sale) over latest) is distinct from (s.sold_on, s.is_sale) as new_day
        from counted as s
        inner join public.transaction_items as i on s.transaction_id = i.transaction_id
        where i.product_sku is not null
        window latest as (
            partition by s.customer_id, i.product_sku
            order by s.is_sale desc, s.sold_at desc, s.transaction_id desc, i.line_number desc
        )
    ),

    per_product as (
        select
            l.customer_id,
            l.product_sku,
            max(l.product_name) as product_name,
            max(l.category) as category,
            max(l.brand) as brand,
            (count(*) filter (where l.is_sale and l.new_transaction))::integer as purchase_count,
            count(*) filter (where l.is_sale and l.new_day) as purchase_days,
            coalesce(sum(l.quantity) filter (where l.is_sale), 0)::integer as units_purchased,
            sum(l.amount) as total_spent,
            min(l.sold_on) filter (where l.is_sale) as first_purchased,
            max(l.sold_on) filter (where l.is_sale) as last_purchased,
            round(sum(l.amount) filter (where l.is_sale) / nullif(sum(l.quantity) filter (where l.is_sale), 0), 2)
                as avg_price_paid,
            -- visit numbers grow with the day: the smallest is the first purchase's
            min(l.visit_number) as first_visit_number,
            max(l.total_visits) as total_visits
        from lines as l
        group by l.customer_id, l.product_sku
        having bool_or(l.is_sale)
    ),

    computed as (
        select
            p.customer_id,
            p.product_sku,
            p.product_name,
            p.category,
            p.brand,
            p.purchase_count,
            p.units_purchased,
            p.total_spent,
            p.first_purchased,
            p.last_purchased,
            p.avg_price_paid,
            -- of the visits after the first purchase, the share with this product again
            case
                when p.total_visits > p.first_visit_number
                    then round((p.purchase_days - 1)::numeric / (p.total_visits - p.first_visit_number), 4)
            end as repurchase_rate
        from per_product as p
    ),

    -- Explicit delete / update / insert (evaluated in that order below): rows whose values stay
    -- put are neither written nor locked.
    updated as (
        update public.customer_product_affinity as a
        set
            product_name = c.product_name,
            category = c.category,
            brand = c.brand,
            purchase_count = c.purchase_count,
            units_purchased = c.units_purchased,
            total_spent = c.total_spent,
            first_purchased = c.first_purchased,
            last_purchased = c.last_purchased,
            avg_price_paid = c.avg_price_paid,
            repurchase_rate = c.repurchase_rate
        from computed as c
        where
            a.customer_id = c.customer_id
            and a.product_sku = c.product_sku
            and (
                a.product_name, a.category, a.brand, a.purchase_count, a.units_purchased, a.total_spent,
                a.first_purchased, a.last_purchased, a.avg_price_paid, a.repurchase_rate
            ) is distinct from (
                c.product_name, c.category, c.brand, c.purchase_count, c.units_purchased, c.total_spent,
                c.first_purchased, c.last_purchased, c.avg_price_paid, c.repurchase_rate
            )
        returning 1
    ),

    inserted as (
        insert into public.customer_product_affinity (
            customer_id, product_sku, product_name, category, brand, purchase_count, units_purchased,
            total_spent, first_purchased, last_purchased, avg_price_paid, repurchase_rate
        )
        select
            c.customer_id,
            c.product_sku,
            c.product_name,
            c.category,
            c.brand,
            c.purchase_count,
            c.units_purchased,
            c.total_spent,
            c.first_purchased,
            c.last_purchased,
            c.avg_price_paid,
            c.repurchase_rate
        from computed as c
        -- rows that exist are skipped through the primary key (a NOT EXISTS probe could be planned
        -- as a scan of this very table while the statement appends to it)
        on conflict (customer_id, product_sku) do nothing
        returning 1
    ),

    deleted as (
        delete from public.customer_product_affinity as a
        where
            a.customer_id in (select m.member_id from unnest(p_member_ids) as m (member_id))
            and not exists (
                select from computed as c
                where c.customer_id = a.customer_id and c.product_sku = a.product_sku
            )
        returning 1
    )

    select (select count(*) from deleted) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    return v_rows;
end
$$;
comment on function conductor.refresh_product_affinity(text[]) is
'Recomputes every customer_product_affinity row of these customers from their completed transactions '
'(see the column comments); deletes rows of products they no longer bought. Returns rows changed.';
-- >>> sql/functions/metrics/staff.sql
-- Staff performance on public.staff. Its figures are sums and counts over the staff member's
-- completed transactions, so a change is applied as a delta (a POS sale adds one sale to one row
-- instead of re-reading thousands); a (staff_name, shop_location) pair without a row gets one.
-- conductor.refresh_staff recomputes everything from scratch (repair).
-- Reads: transactions. Writes: staff.

-- p_deltas: a jsonb array of {staff_name, shop_location, sales, refunds, gross_sales,
-- gross_refunds}, the change in each pair's completed sales and refunds caused by one statement.
create function conductor.apply_staff_deltas(p_deltas jsonb)
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_rows integer;
begin
    if p_deltas is null or jsonb_array_length(p_deltas) = 0 then
        return 0;
    end if;

    -- A pair without a row starts from what it had before this statement (its totals now, minus
    -- the delta); the update below then adds the delta. If a concurrent sale creates the same row
    -- first, the insert does nothing and the delta is still added exactly once.
    with deltas as (
        select d.*
        from jsonb_to_recordset(p_deltas) as d (
            staff_name text, shop_location text, sales integer, refunds integer,
            gross_sales numeric, gross_refunds numeric
        )
    )

    insert into public.staff (
        staff_name, shop_location, total_transactions, total_refunds, gross_sales, gross_refunds,
        total_sales, avg_transaction_value
    )
    select
        d.staff_name,
        d.shop_location,
        f.sales - d.sales,
        f.refunds - d.refunds,
        f.gross_sales - d.gross_sales,
        f.gross_refunds - d.gross_refunds,
        (f.gross_sales - d.gross_sales) - (f.gross_refunds - d.gross_refunds),
        round((f.gross_sales - d.gross_sales) / nullif(f.sales - d.sales, 0), 2)
    from deltas as d
    cross join lateral (
        select
            count(*) filter (where t.transaction_type = 'sale')::integer as sales,
            count(*) filter (where t.transaction_type = 'refund')::integer as refunds,
            coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
            coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as gross_refunds
        from public.transactions as t
        where
            t.staff_name = d.staff_name
            and t.shop_location is not distinct from d.shop_location
            and t.status = 'completed'
    ) as f
    where not exists (
        select from public.staff as s
        where s.staff_name = d.staff_name and s.shop_location is not distinct from d.shop_location
    )
    on conflict (staff_name, shop_location) do nothing;

    with deltas as (
        select d.*
        from jsonb_to_recordset(p_deltas) as d (
            staff_name text, shop_location text, sales integer, refunds integer,
            gross_sales numeric, gross_refunds numeric
        )
    )

    update public.staff as s
    set
        total_transactions = s.total_transactions + d.sales,
        total_refunds = s.total_refunds + d.refunds,
        gross_sales = s.gross_sales + d.gross_sales,
        gross_refunds = s.gross_refunds + d.gross_refunds,
        total_sales = (s.gross_sales + d.gross_sales) - (s.gross_refunds + d.gross_refunds),
        avg_transaction_value = round((s.gross_sales + d.gross_sales) / nullif(s.total_transactions + d.sales, 0), 2)
    from deltas as d
    where s.staff_name = d.staff_name and s.shop_location is not distinct from d.shop_location;
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function conductor.apply_staff_deltas(jsonb) is
'Adds per-(staff_name, shop_location) changes in completed sales and refunds to public.staff, creating '
'the rows of unknown pairs. p_deltas: [{staff_name, shop_location, sales, refunds, gross_sales, gross_refunds}].';

create function conductor.refresh_staff()
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_rows integer;
begin
    with totals as (
        select
            t.staff_name,
            t.shop_location,
            count(*) filter (where t.transaction_type = 'sale')::integer as total_transactions,
            count(*) filter (where t.transaction_type = 'refund')::integer as total_refunds,
            coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_sales,
            coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as gross_refunds
        from public.transactions as t
        where t.status = 'completed' and btrim(t.staff_name) <> ''
        group by t.staff_name, t.shop_location
    ),

    -- Explicit update / insert (rows that exist are skipped through the unique key): rows whose
    -- values stay put are neither written nor locked.
    updated as (
        update public.staff as s
        set
            total_transactions = t.total_transactions,
            total_refunds = t.total_refunds,
            gross_sales = t.gross_sales,
            gross_refunds = t.gross_refunds,
            total_sales = t.gross_sales - t.gross_refunds,
            avg_transaction_value = round(t.gross_sales / nullif(t.total_transactions, 0), 2)
        from totals as t
        where
            s.staff_name = t.staff_name
            and s.shop_location is not distinct from t.shop_location
            and (
                s.total_transactions, s.total_refunds, s.gross_sales, s.gross_refunds, s.total_sales,
                s.avg_transaction_value
            ) is distinct from (
                t.total_transactions, t.total_refunds, t.gross_sales, t.gross_refunds, t.gross_sales - t.gross_refunds,
                round(t.gross_sales / nullif(t.total_transactions, 0), 2)
            )
        returning 1
    ),

    inserted as (
        insert into public.staff (
            staff_name, shop_location, total_transactions, total_refunds, gross_sales, gross_refunds,
            total_sales, avg_transaction_value
        )
        select
            t.staff_name,
            t.shop_location,
            t.total_transactions,
            t.total_refunds,
            t.gross_sales,
            t.gross_refunds,
            t.gross_sales - t.gross_refunds,
            round(t.gross_sales / nullif(t.total_transactions, 0), 2)
        from totals as t
        on conflict (staff_name, shop_location) do nothing
        returning 1
    ),

    emptied as (
        update public.staff as s
        set
            total_transactions = 0,
            total_refunds = 0,
            gross_sales = 0,
            gross_refunds = 0,
            total_sales = 0,
            avg_transaction_value = null
        where
            not exists (
                select from totals as t
                where t.staff_name = s.staff_name and t.shop_location is not distinct from s.shop_location
            )
            and (
                s.total_transactions, s.total_refunds, s.gross_sales, s.gross_refunds, s.total_sales,
                s.avg_transaction_value
            ) is distinct from (0, 0, 0::numeric, 0::numeric, 0::numeric, null::numeric)
        returning 1
    )

    select (select count(*) from emptied) + (select count(*) from updated) + (select count(*) from inserted)
    into v_rows;
    return v_rows;
end
$$;
comment on function conductor.refresh_staff() is
'Recomputes the performance of every staff row from all completed transactions (rows without any get '
'zeros; rows are never deleted) and creates rows for unknown pairs. Returns rows changed.';
-- >>> sql/functions/metrics/win_back.sql
-- Refreshes public.win_back_priority_queue (sql/views/win_back_priority_queue.sql) without
-- blocking its readers. Called by the pg_cron job conductor_refresh_win_back and after a nightly
-- refresh that changed customers. Writes: the materialized view.
create function conductor.refresh_win_back()
returns boolean
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_win_back')) then
        return false;
    end if;
    refresh materialized view concurrently public.win_back_priority_queue;
    return true;
end
$$;
comment on function conductor.refresh_win_back() is
'pg_cron job conductor_refresh_win_back: REFRESH MATERIALIZED VIEW CONCURRENTLY '
'public.win_back_priority_queue. Returns false at once (doing nothing) while another refresh holds its '
'advisory lock, true after refreshing.';
-- >>> sql/functions/metrics/nightly_refresh.sql
-- The clock-dependent values: days since the last visit, churn risk, RFM recency and with it the
-- lead score and segment (public.customers), and the deviation from the predicted next visit
-- (public.customer_visit_patterns). They change when the store's date turns, so pg_cron runs
-- conductor.nightly_refresh (sql/cron/nightly_refresh.sql); only rows whose values change are
-- written, so a run on a day already refreshed writes nothing. The views and RPCs compute these
-- values against today themselves and never serve a stale one.
-- Reads: customers, customer_visit_patterns, thresholds. Writes: those two tables, the win-back queue.
create function conductor.nightly_refresh()
returns jsonb
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_customers integer;
    v_patterns integer;
begin
    if not pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor nightly_refresh')) then
        return jsonb_build_object('ran', false, 'reason', 'another nightly_refresh is running');
    end if;
    v_customers := conductor.refresh_scores();
    v_patterns := conductor.refresh_visit_deviation();
    if v_customers > 0 then
        perform conductor.refresh_win_back();
    end if;
    return jsonb_build_object(
        'ran', true,
        'as_of_date', conductor.store_today(),
        'customers', v_customers,
        'customer_visit_patterns', v_patterns
    );
end
$$;
comment on function conductor.nightly_refresh() is
'pg_cron job conductor_nightly_refresh: brings the clock-dependent customer values and visit deviations '
'to the store''s today, writing only rows that change, then refreshes the win-back queue if customers '
'changed. Returns immediately with ran = false while another run holds its advisory lock.';
-- >>> sql/functions/metrics/rebuild.sql
-- conductor.rebuild_all(): repair. Recomputes every derived value (customer metrics, visit
-- patterns, product affinity, staff performance, the win-back queue) from the raw transactions
-- and line items. The maintenance triggers keep the same values live, so on a healthy database
-- it changes nothing and reports zeros. Writes transactions and items wait while it runs.
-- Reads: transactions, transaction_items, customers. Writes: the derived tables.
create function conductor.rebuild_all()
returns jsonb
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_member_ids text[];
    v_customers integer;
    v_patterns integer;
    v_affinity integer;
    v_staff integer;
begin
    perform pg_advisory_xact_lock(pg_catalog.hashtext('conductor rebuild_all'));
    -- Writers wait (readers do not) so the rebuild sees one consistent state of the raw tables.
    lock table public.transactions, public.transaction_items in share mode;

    v_member_ids := array(select c.member_id from public.customers as c order by c.member_id);
    select r.changed_rows into v_customers from conductor.refresh_customers(v_member_ids) as r;
    v_patterns := conductor.refresh_visit_patterns(v_member_ids);
    -- Rows of member ids no customer has any more cannot exist (foreign keys), so every row is in scope.
    v_affinity := conductor.refresh_product_affinity(v_member_ids);
    v_staff := conductor.refresh_staff();
    refresh materialized view concurrently public.win_back_priority_queue;

    return jsonb_build_object(
        'customers', v_customers,
        'customer_visit_patterns', v_patterns,
        'customer_product_affinity', v_affinity,
        'staff', v_staff
    );
end
$$;
comment on function conductor.rebuild_all() is
'Repair: recomputes customer metrics, visit patterns, product affinity, staff performance and the '
'win-back queue from the raw tables. Returns the rows it had to change per table (all zero when the '
'maintained values were right).';
-- >>> sql/functions/metrics/maintenance.sql
-- Trigger functions that keep the derived customer data live as data arrives (the triggers are
-- in sql/triggers/maintenance.sql). All are statement-level over transition tables: a statement
-- of any size becomes one set of touched customers and one set of staff deltas, handled by a few
-- set-based statements (a 200k-row COPY costs the same handful as a single POS sale).
-- Reads: the transition tables, transactions. Writes (through conductor.refresh_* and
-- apply_staff_deltas): customers, customer_visit_patterns, customer_product_affinity, staff.

-- transactions: INSERT, UPDATE and DELETE (transition tables new_rows / old_rows).
create function conductor.tg_transactions__maintain()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_customers text[];
    v_staff jsonb;
    v_refreshed record;
begin
    -- Each branch lists the row versions the statement removed (sign -1) and added (sign +1),
    -- then derives the touched customers and the staff deltas from them.
    if tg_op = 'INSERT' then
        with versions as (
            select 1 as sign, n.customer_id, n.status, n.transaction_type, n.total_amount, n.staff_name, n.shop_location
            from new_rows as n
        )

        select
            (
                select array_agg(distinct v.customer_id order by v.customer_id) from versions as v
                where v.customer_id is not null and v.status = 'completed'
            ),
            (
                select jsonb_agg(d) from (
                    select
                        v.staff_name,
                        v.shop_location,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'sale'), 0) as sales,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'refund'), 0) as refunds,
                        coalesce(sum(v.sign * v.total_amount) filter (where v.transaction_type = 'sale'), 0)
                            as gross_sales,
                        coalesce(-sum(v.sign * v.total_amount) filter (where v.transaction_type = 'refund'), 0)
                            as gross_refunds
                    from versions as v
                    where v.status = 'completed' and btrim(v.staff_name) <> ''
                    group by v.staff_name, v.shop_location
                ) as d
            )
        into v_customers, v_staff;

        -- An insert only adds visit days: patterns and affinity change only where they grew.
        select * into v_refreshed from conductor.refresh_customers(v_customers);
        perform conductor.refresh_visit_patterns(v_refreshed.visits_changed);
        perform conductor.refresh_product_affinity(v_refreshed.visits_changed);
        perform conductor.apply_staff_deltas(v_staff);
        return null;
    end if;

    if tg_op = 'UPDATE' then
        with changed as (
            select
                o.id as old_id,
                n.id as new_id
            from old_rows as o
            full join new_rows as n on n.id = o.id
            where
                (o.transaction_id, o.customer_id, o.date, o.transaction_type, o.status, o.total_amount,
                    o.staff_name, o.shop_location)
                is distinct from
                (n.transaction_id, n.customer_id, n.date, n.transaction_type, n.status, n.total_amount,
                    n.staff_name, n.shop_location)
        ),

        versions as (
            select -1 as sign, o.customer_id, o.status, o.transaction_type, o.total_amount, o.staff_name, o.shop_location
            from old_rows as o
            where o.id in (select c.old_id from changed as c)
            union all
            select 1 as sign, n.customer_id, n.status, n.transaction_type, n.total_amount, n.staff_name, n.shop_location
            from new_rows as n
            where n.id in (select c.new_id from changed as c)
        )

        select
            (
                select array_agg(distinct v.customer_id order by v.customer_id) from versions as v
                where v.customer_id is not null and v.status = 'completed'
            ),
            (
                select jsonb_agg(d) from (
                    select
                        v.staff_name,
                        v.shop_location,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'sale'), 0) as sales,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'refund'), 0) as refunds,
                        coalesce(sum(v.sign * v.total_amount) filter (where v.transaction_type = 'sale'), 0)
                            as gross_sales,
                        coalesce(-sum(v.sign * v.total_amount) filter (where v.transaction_type = 'refund'), 0)
                            as gross_refunds
                    from versions as v
                    where v.status = 'completed' and btrim(v.staff_name) <> ''
                    group by v.staff_name, v.shop_location
                    having
                        sum(v.sign) filter (where v.transaction_type = 'sale') <> 0
                        or sum(v.sign) filter (where v.transaction_type = 'refund') <> 0
                        or sum(v.sign * v.total_amount) <> 0
                ) as d
            )
        into v_customers, v_staff;
    else
        with versions as (
            select -1 as sign, o.customer_id, o.status, o.transaction_type, o.total_amount, o.staff_name, o.shop_location
            from old_rows as o
        )

        select
            (
                select array_agg(distinct v.customer_id order by v.customer_id) from versions as v
                where v.customer_id is not null and v.status = 'completed'
            ),
            (
                select jsonb_agg(d) from (
                    select
                        v.staff_name,
                        v.shop_location,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'sale'), 0) as sales,
                        coalesce(sum(v.sign) filter (where v.transaction_type = 'refund'), 0) as refunds,
                        coalesce(sum(v.sign * v.total_amount) filter (where v.transaction_type = 'sale'), 0)
                            as gross_sales,
                        coalesce(-sum(v.sign * v.total_amount) filter (where v.transaction_type = 'refund'), 0)
                            as gross_refunds
                    from versions as v
                    where v.status = 'completed' and btrim(v.staff_name) <> ''
                    group by v.staff_name, v.shop_location
                ) as d
            )
        into v_customers, v_staff;
    end if;

    -- Updates and deletes can move or remove visit days anywhere in a customer's history.
    perform conductor.refresh_customers(v_customers);
    perform conductor.refresh_visit_patterns(v_customers);
    perform conductor.refresh_product_affinity(v_customers);
    perform conductor.apply_staff_deltas(v_staff);
    return null;
end
$$;
comment on function conductor.tg_transactions__maintain() is
'Trigger (after insert, update, delete on public.transactions, per statement): recomputes the metrics, '
'visit patterns and product affinity of exactly the customers the statement touched and applies its '
'staff deltas.';

-- transaction_items: INSERT, UPDATE and DELETE. Lines change product affinity only.
create function conductor.tg_transaction_items__maintain()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_customers text[];
begin
    if tg_op = 'INSERT' then
        select array_agg(distinct t.customer_id order by t.customer_id) into v_customers
        from public.transactions as t
        where
            t.transaction_id in (select n.transaction_id from new_rows as n where n.product_sku is not null)
            and t.customer_id is not null
            and t.status = 'completed';
    elsif tg_op = 'UPDATE' then
        with changed as (
            select
                o.transaction_id as old_transaction_id,
                o.product_sku as old_product_sku,
                n.transaction_id as new_transaction_id,
                n.product_sku as new_product_sku
            from old_rows as o
            full join new_rows as n on n.id = o.id
            where
                (o.transaction_id, o.line_number, o.product_sku, o.quantity, o.total_price, o.product_name,
                    o.brand, o.category)
                is distinct from
                (n.transaction_id, n.line_number, n.product_sku, n.quantity, n.total_price, n.product_name,
                    n.brand, n.category)
        )

        select array_agg(distinct t.customer_id order by t.customer_id) into v_customers
        from public.transactions as t
        where
            t.transaction_id in (
                select c.old_transaction_id from changed as c where c.old_product_sku is not null
                union
                select c.new_transaction_id from changed as c where c.new_product_sku is not null
            )
            and t.customer_id is not null
            and t.status = 'completed';
    else
        -- Lines deleted with their transaction find no transaction here; the transaction's own
        -- trigger refreshes that customer.
        select array_agg(distinct t.customer_id order by t.customer_id) into v_customers
        from public.transactions as t
        where
            t.transaction_id in (select o.transaction_id from old_rows as o where o.product_sku is not null)
            and t.customer_id is not null
            and t.status = 'completed';
    end if;

    perform conductor.refresh_product_affinity(v_customers);
    return null;
end
$$;
comment on function conductor.tg_transaction_items__maintain() is
'Trigger (after insert, update, delete on public.transaction_items, per statement): recomputes the '
'product affinity of the customers whose completed transactions gained, changed or lost lines.';

-- customers: a new customer gets its zero-state metrics and scores (a new member has no
-- transactions yet: they reference it); a changed registration date moves date_joined.
create function conductor.tg_customers__init_metrics()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.refresh_customers(array(select n.member_id from new_rows as n));
    return null;
end
$$;
comment on function conductor.tg_customers__init_metrics() is
'Trigger (after insert on public.customers, per statement): computes the metric columns of the new '
'customers (whatever the insert wrote there).';

create function conductor.tg_customers__registered_on()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.refresh_customers(array[new.member_id]);
    return null;
end
$$;
comment on function conductor.tg_customers__registered_on() is
'Trigger (after update of registered_on on public.customers, per changed row): recomputes date_joined.';

-- Threshold tables: an edited tier, level, score bound or segment applies to everyone at once.
create function conductor.tg_thresholds__rescore()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.refresh_scores();
    return null;
end
$$;
comment on function conductor.tg_thresholds__rescore() is
'Trigger (after any change to conductor.vip_tiers, churn_levels, rfm_scores, lead_segments, per '
'statement): recomputes every customer''s tier, churn and RFM values.';

-- settings: visit days are local days of the store_time_zone setting, so changing it moves them.
create function conductor.tg_settings__store_time_zone()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if exists (
        select from new_rows as n
        inner join old_rows as o on o.key = n.key
        where n.key = 'store_time_zone' and n.value is distinct from o.value
    ) then
        perform conductor.rebuild_all();
    end if;
    return null;
end
$$;
comment on function conductor.tg_settings__store_time_zone() is
'Trigger (after update on conductor.settings, per statement): a changed store_time_zone rebuilds every '
'derived value, since visit days are calendar days in that zone.';

-- TRUNCATE fires no row or transition-table triggers: rebuild from what is left.
create function conductor.tg_transactions__truncate()
returns trigger
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.rebuild_all();
    return null;
end
$$;
comment on function conductor.tg_transactions__truncate() is
'Trigger (after truncate on public.transactions or public.transaction_items): rebuilds every derived value.';
-- >>> sql/triggers/maintenance.sql
-- Triggers that keep the derived customer data live (functions in
-- sql/functions/metrics/maintenance.sql). Statement-level with transition tables, so bulk loads
-- are set-based; _500 runs after the row triggers that normalize input (_100).
create trigger _500_maintain_derived_on_insert after insert on public.transactions
referencing new table as new_rows
for each statement execute function conductor.tg_transactions__maintain();
create trigger _500_maintain_derived_on_update after update on public.transactions
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_transactions__maintain();
create trigger _500_maintain_derived_on_delete after delete on public.transactions
referencing old table as old_rows
for each statement execute function conductor.tg_transactions__maintain();
create trigger _500_rebuild_derived_on_truncate after truncate on public.transactions
for each statement execute function conductor.tg_transactions__truncate();

create trigger _500_maintain_affinity_on_insert after insert on public.transaction_items
referencing new table as new_rows
for each statement execute function conductor.tg_transaction_items__maintain();
create trigger _500_maintain_affinity_on_update after update on public.transaction_items
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_transaction_items__maintain();
create trigger _500_maintain_affinity_on_delete after delete on public.transaction_items
referencing old table as old_rows
for each statement execute function conductor.tg_transaction_items__maintain();
create trigger _500_rebuild_derived_on_truncate after truncate on public.transaction_items
for each statement execute function conductor.tg_transactions__truncate();

create trigger _500_init_metrics after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__init_metrics();
create trigger _500_refresh_date_joined after update of registered_on on public.customers
for each row when (old.registered_on is distinct from new.registered_on)
execute function conductor.tg_customers__registered_on();

create trigger _500_rescore_customers after insert or update or delete on conductor.vip_tiers
for each statement execute function conductor.tg_thresholds__rescore();
create trigger _500_rescore_customers after insert or update or delete on conductor.churn_levels
for each statement execute function conductor.tg_thresholds__rescore();
create trigger _500_rescore_customers after insert or update or delete on conductor.rfm_scores
for each statement execute function conductor.tg_thresholds__rescore();
create trigger _500_rescore_customers after insert or update or delete on conductor.lead_segments
for each statement execute function conductor.tg_thresholds__rescore();

create trigger _500_rebuild_on_store_time_zone after update on conductor.settings
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_settings__store_time_zone();
-- >>> sql/views/customer_scores.sql
-- Customer tier, churn and RFM scores: the one place that reads the threshold tables
-- (conductor.vip_tiers, churn_levels, rfm_scores, lead_segments). Each rule becomes a view of
-- value ranges ("bands") and conductor.customer_scores applies them to every customer against
-- the store's today, set-based (a join, not a function call per row). Whatever stores or serves
-- these values reads conductor.customer_scores, so a threshold edited in its table means the same
-- thing everywhere. Reads: those tables, customers, the store_time_zone setting.

-- vip_tiers: a customer gets the tier with the highest min_visits not above their visits.
create view conductor.vip_tier_bands as
select
    t.tier,
    int4range(t.min_visits, lead(t.min_visits) over (order by t.min_visits)) as visits
from conductor.vip_tiers as t;
comment on view conductor.vip_tier_bands is
'conductor.vip_tiers as ranges: the tier whose visits range contains a customer''s total_visits.';

-- churn_levels: the level with the highest min_days not above the days since the last visit.
create view conductor.churn_level_bands as
select
    l.level,
    int4range(l.min_days, lead(l.min_days) over (order by l.min_days)) as days
from conductor.churn_levels as l;
comment on view conductor.churn_level_bands is
'conductor.churn_levels as ranges: the level whose days range contains the days since the last visit.';

-- lead_segments: the segment with the highest min_score not above the lead score.
create view conductor.lead_segment_bands as
select
    g.segment,
    int4range(g.min_score, lead(g.min_score) over (order by g.min_score)) as scores
from conductor.lead_segments as g;
comment on view conductor.lead_segment_bands is
'conductor.lead_segments as ranges: the segment whose scores range contains the lead score.';

-- rfm_scores. recency: the best score whose bound (days) is >= the days since the last visit,
-- else the row with a null bound (anything older, and never visited), else the lowest score.
-- frequency (orders) and monetary (net dollars): the best score whose bound is <= the value,
-- else (below every bound, say a negative lifetime value) the lowest score. The bands partition
-- the whole number line, so every value matches exactly one band of its dimension.
create view conductor.rfm_score_bands as
with recency_bounds as (
    select
        s.bound,
        max(s.score) over (order by s.bound desc) as score,
        lag(s.bound) over (order by s.bound) as previous_bound
    from (
        select
            r.bound,
            max(r.score) as score
        from conductor.rfm_scores as r
        where r.dimension = 'recency' and r.bound is not null
        group by r.bound
    ) as s
),

recency_rest as (
    select
        coalesce(max(r.score) filter (where r.bound is null), min(r.score)) as score,
        max(r.bound) as above
    from conductor.rfm_scores as r
    where r.dimension = 'recency'
    having count(*) > 0
),

value_bounds as (
    select
        s.dimension,
        s.bound,
        max(s.score) over (partition by s.dimension order by s.bound) as score,
        lead(s.bound) over (partition by s.dimension order by s.bound) as next_bound
    from (
        select
            r.dimension,
            r.bound,
            max(r.score) as score
        from conductor.rfm_scores as r
        where r.dimension in ('frequency', 'monetary') and r.bound is not null
        group by r.dimension, r.bound
    ) as s
),

value_rest as (
    select
        r.dimension,
        min(r.score) as score,
        min(r.bound) as below
    from conductor.rfm_scores as r
    where r.dimension in ('frequency', 'monetary')
    group by r.dimension
)

select
    'recency' as dimension,
    b.score,
    numrange(b.previous_bound, b.bound, '(]') as bounds
from recency_bounds as b
union all
select
    'recency' as dimension,
    r.score,
    numrange(r.above, null, '()') as bounds
from recency_rest as r
union all
select
    b.dimension,
    b.score,
    numrange(b.bound, b.next_bound, '[)') as bounds
from value_bounds as b
union all
select
    r.dimension,
    r.score,
    numrange(null, r.below, '()') as bounds
from value_rest as r;
comment on view conductor.rfm_score_bands is
'conductor.rfm_scores as ranges per dimension: the score whose bounds contain the value (days since the '
'last visit, Infinity without visits; orders; lifetime value).';

create view conductor.customer_scores as
with clock as (
    -- The store's today, as conductor.store_today() (read here as a relation: service_role reads
    -- this view through public.customer_sms_context and cannot execute conductor functions).
    select
        s.value #>> '{}' as store_time_zone,
        (now() at time zone (s.value #>> '{}'))::date as today
    from conductor.settings as s
    where s.key = 'store_time_zone'
)

select
    c.id,
    c.member_id,
    clock.today as as_of_date,
    clock.store_time_zone,
    d.days as days_since_last_visit,
    vt.tier as vip_status,
    cl.level as churn_risk,
    rr.score as rfm_recency,
    rf.score as rfm_frequency,
    rm.score as rfm_monetary,
    ls.lead_score,
    sg.segment as lead_segment
from public.customers as c
cross join clock
-- greatest() skips nulls: without a visit there are no days since it
cross join
    lateral (
        select case when c.last_visited is not null then greatest(clock.today - c.last_visited, 0) end as days
    ) as d
left join conductor.vip_tier_bands as vt on vt.visits @> c.total_visits
left join conductor.churn_level_bands as cl on cl.days @> d.days
left join conductor.rfm_score_bands as rr
    on rr.dimension = 'recency' and rr.bounds @> coalesce(d.days::numeric, 'Infinity'::numeric)
left join conductor.rfm_score_bands as rf on rf.dimension = 'frequency' and rf.bounds @> c.total_sales::numeric
left join conductor.rfm_score_bands as rm on rm.dimension = 'monetary' and rm.bounds @> c.lifetime_value
cross join lateral (select (3 * rr.score + 2 * rf.score + rm.score)::smallint as lead_score) as ls
left join conductor.lead_segment_bands as sg on sg.scores @> ls.lead_score::integer;
comment on view conductor.customer_scores is
'Per customer, from the stored totals and against the store''s today: days_since_last_visit, vip_status, '
'churn_risk (null without visits), rfm_recency/frequency/monetary, lead_score = 3R + 2F + M and '
'lead_segment, by the threshold tables (through the *_bands views).';
-- >>> sql/views/customer_sms_context.sql
-- What the AI needs about a customer, one row per customer, computed against the store's today:
-- identity, tier, churn, RFM, value, visits and rhythm, loyalty points, top 3 products, last 3
-- purchases, favourite category, preferred location and budtender, opt-out state and open lead.
-- n8n reads it by phone (PostgREST: /rest/v1/customer_sms_context?phone=eq.+1...) or through
-- public.get_customer_insights, which picks one customer when several share a phone.
-- A plain view (owner's rights) because it reads conductor relations (scores, opt-outs, open
-- leads), which service_role cannot; anon and authenticated cannot select it (sql/lib/grants.sql).
-- It calls no conductor function: functions in a view run with the reader's privileges.
-- Reads: customers, conductor.customer_scores, customer_visit_patterns, customer_product_affinity,
-- products, transactions, transaction_items, leads, conductor.opt_outs.

-- Products of each customer ranked by purchases: purchase_count, then total_spent, then the
-- latest purchase, then sku (a total order, so ties always break the same way). Names fall back
-- to the catalogue when the sale lines carried none.
create view conductor.ranked_product_affinity as
select
    a.customer_id,
    row_number() over (
        partition by a.customer_id
        order by a.purchase_count desc, a.total_spent desc, a.last_purchased desc, a.product_sku asc
    ) as product_rank,
    a.product_sku,
    coalesce(a.product_name, p.name) as product_name,
    coalesce(a.brand, p.brand) as brand,
    coalesce(a.category, p.category) as category,
    a.purchase_count,
    a.units_purchased,
    a.total_spent,
    a.first_purchased,
    a.last_purchased,
    a.avg_price_paid,
    a.repurchase_rate
from public.customer_product_affinity as a
left join public.products as p on a.product_sku = p.sku;
comment on view conductor.ranked_product_affinity is
'customer_product_affinity with product_rank per customer (purchase_count desc, total_spent desc, '
'last_purchased desc, sku) and catalogue fallbacks for name, brand and category.';

-- Leads still in play (not converted or lost), each with the object the API returns for it.
create view conductor.open_leads as
select
    l.id,
    l.phone_number,
    l.customer_id,
    l.updated_at,
    jsonb_build_object(
        'id', l.id,
        'lead_status', l.lead_status,
        'conversation_stage', l.conversation_stage,
        'last_message', l.last_message,
        'last_message_at', l.last_message_at,
        'source', l.source,
        'conversion_probability', l.conversion_probability,
        'created_at', l.created_at
    ) as lead
from public.leads as l
where l.lead_status not in ('converted', 'lost');
comment on view conductor.open_leads is
'Leads that are not converted or lost, with the jsonb object the API returns for each (lead).';

create view public.customer_sms_context as
select
    c.member_id,
    c.name,
    c.phone,
    c.email,
    c.customer_type,
    c.member_group,
    c.loyalty_points,
    s.vip_status,
    s.churn_risk,
    s.days_since_last_visit,
    s.rfm_recency,
    s.rfm_frequency,
    s.rfm_monetary,
    s.lead_score,
    s.lead_segment,
    c.total_visits,
    c.total_sales,
    c.total_refunds,
    c.gross_sales,
    c.gross_refunds,
    c.avg_sale_value,
    c.lifetime_value,
    c.date_joined,
    c.first_visited,
    c.last_visited,
    vp.avg_days_between_visits,
    vp.visit_consistency_score,
    vp.predicted_next_visit,
    s.as_of_date - vp.predicted_next_visit as days_late,
    (
        select
            coalesce(jsonb_agg(
                jsonb_build_object(
                    'product_sku', r.product_sku,
                    'product_name', r.product_name,
                    'brand', r.brand,
                    'category', r.category,
                    'purchase_count', r.purchase_count,
                    'total_spent', r.total_spent,
                    'last_purchased', r.last_purchased,
                    'repurchase_rate', r.repurchase_rate
                )
                order by r.product_rank
            ), '[]'::jsonb)
        from conductor.ranked_product_affinity as r
        where r.customer_id = c.member_id and r.product_rank <= 3
    ) as favorite_products,
    (
        select
            coalesce(jsonb_agg(
                jsonb_build_object(
                    'transaction_id', t.transaction_id,
                    'purchased_at', t.date,
                    'purchase_date', (t.date at time zone s.store_time_zone)::date,
                    'shop_location', t.shop_location,
                    'staff_name', t.staff_name,
                    'total_amount', t.total_amount,
                    'items', (
                        select
                            coalesce(jsonb_agg(
                                jsonb_build_object(
                                    'product_sku', i.product_sku,
                                    'product_name', coalesce(i.product_name, p.name),
                                    'category', coalesce(i.category, p.category),
                                    'quantity', i.quantity,
                                    'total_price', i.total_price
                                )
                                order by i.line_number
                            ), '[]'::jsonb)
                        from public.transaction_items as i
                        left join public.products as p on i.product_sku = p.sku
                        where i.transaction_id = t.transaction_id
                    )
                )
                order by t.date desc, t.transaction_id desc
            ), '[]'::jsonb)
        from (
            select
                t3.transaction_id,
                t3.date,
                t3.shop_location,
                t3.staff_name,
                t3.total_amount
            from public.transactions as t3
            where t3.customer_id = c.member_id and t3.status = 'completed' and t3.transaction_type = 'sale'
            order by t3.date desc, t3.transaction_id desc
            limit 3
        ) as t
    ) as recent_purchases,
    (
        select r.category
        from conductor.ranked_product_affinity as r
        where r.customer_id = c.member_id and r.category is not null
        group by r.category
        order by sum(r.purchase_count) desc, sum(r.total_spent) desc, r.category
        limit 1
    ) as favorite_category,
    (
        select t.shop_location
        from public.transactions as t
        where
            t.customer_id = c.member_id
            and t.status = 'completed'
            and t.transaction_type = 'sale'
            and t.shop_location is not null
        group by t.shop_location
        order by count(*) desc, max(t.date) desc, t.shop_location
        limit 1
    ) as preferred_location,
    (
        select t.staff_name
        from public.transactions as t
        where
            t.customer_id = c.member_id
            and t.status = 'completed'
            and t.transaction_type = 'sale'
            and btrim(t.staff_name) <> ''
        group by t.staff_name
        order by count(*) desc, max(t.date) desc, t.staff_name
        limit 1
    ) as preferred_budtender,
    c.last_visited as last_purchase_date,
    (
        select max(t.date)
        from public.transactions as t
        where t.customer_id = c.member_id and t.status = 'completed' and t.transaction_type = 'sale'
    ) as last_purchase_at,
    exists(
        select from conductor.opt_outs as o
        where o.phone_number = c.phone
    ) as opted_out,
    (
        select o.opted_out_at from conductor.opt_outs as o
        where o.phone_number = c.phone
    ) as opted_out_at,
    (
        select ol.lead
        from conductor.open_leads as ol
        where ol.phone_number = c.phone or ol.customer_id = c.member_id
        order by ol.updated_at desc, ol.id desc
        limit 1
    ) as open_lead,
    case
        when c.phone is not null
            then (
                select count(*)::integer from public.customers as c2
                where c2.phone = c.phone
            )
    end as customers_sharing_phone,
    s.as_of_date
from public.customers as c
inner join conductor.customer_scores as s on c.id = s.id
left join public.customer_visit_patterns as vp on c.member_id = vp.customer_id;

comment on view public.customer_sms_context is
'Everything the AI needs about one customer, one row per customer, computed against the store''s today '
'(days_since_last_visit, churn_risk, RFM, lead score and days_late are never stale). Read it by phone or '
'member_id; get_customer_insights(phone_number) returns the same as one jsonb.';
comment on column public.customer_sms_context.vip_status is 'New, Casual, Regular or VIP (conductor.vip_tiers).';
comment on column public.customer_sms_context.churn_risk is 'Low, Medium or High as of today; null without visits.';
comment on column public.customer_sms_context.days_since_last_visit is 'Days from the last visit to today.';
comment on column public.customer_sms_context.lead_score is '3R + 2F + M as of today (6-30).';
comment on column public.customer_sms_context.lead_segment is 'hot, warm, cool or cold as of today.';
comment on column public.customer_sms_context.days_late is
'Today - predicted_next_visit: positive means late against their own rhythm; null with fewer than 2 visits.';
comment on column public.customer_sms_context.favorite_products is
'Top 3 products: [{product_sku, product_name, brand, category, purchase_count, total_spent, last_purchased, '
'repurchase_rate}], most purchased first.';
comment on column public.customer_sms_context.recent_purchases is
'Last 3 completed sales, newest first: [{transaction_id, purchased_at, purchase_date, shop_location, '
'staff_name, total_amount, items: [{product_sku, product_name, category, quantity, total_price}]}].';
comment on column public.customer_sms_context.favorite_category is
'Category with the most product purchases (ties: more spent, then name).';
comment on column public.customer_sms_context.preferred_location is
'shop_location of most completed sales (ties: most recent, then name).';
comment on column public.customer_sms_context.preferred_budtender is
'staff_name on most completed sales (ties: most recent, then name).';
comment on column public.customer_sms_context.last_purchase_date is 'Local date of the latest completed sale.';
comment on column public.customer_sms_context.last_purchase_at is 'Time of the latest completed sale.';
comment on column public.customer_sms_context.opted_out is 'The phone is in conductor.opt_outs: send nothing.';
comment on column public.customer_sms_context.opted_out_at is 'When the phone opted out.';
comment on column public.customer_sms_context.open_lead is
'Latest lead with this phone or member that is not converted or lost: {id, lead_status, conversation_stage, '
'last_message, last_message_at, source, conversion_probability, created_at}; null if none.';
comment on column public.customer_sms_context.customers_sharing_phone is
'How many customers have this phone (1 when it is theirs alone); null without a phone.';
comment on column public.customer_sms_context.as_of_date is 'The store''s today these values were computed for.';
-- >>> sql/views/win_back_priority_queue.sql
-- The win-back queue: lapsed customers worth a text, best first, with the offer for their
-- favourite category. One row per phone number (the best-scoring customer on it), never an
-- opted-out number. A materialized view refreshed concurrently by the pg_cron job
-- conductor_refresh_win_back (sql/cron/refresh_win_back.sql); public.get_win_back_targets reads
-- it page by page and drops anyone who visited or opted out since the refresh.
-- Reads: public.customer_sms_context, conductor.offers, conductor.churn_levels, conductor.settings.
create materialized view public.win_back_priority_queue as
with weights as (
    select
        (s.value ->> 'lifetime_value')::numeric as lifetime_value,
        (s.value ->> 'visit')::numeric as visit,
        (s.value ->> 'recency')::numeric as recency,
        (s.value ->> 'loyalty_point')::numeric as loyalty_point
    from conductor.settings as s
    where s.key = 'win_back_score_weights'
),

lapsed as (
    -- Lapsed: any churn level above the lowest (Medium or High with the default levels).
    select
        v.*,
        round(
            v.lifetime_value * w.lifetime_value
            + v.total_visits * w.visit
            + w.recency / greatest(v.days_since_last_visit, 1)
            + v.loyalty_points * w.loyalty_point,
            2
        ) as win_back_score
    from public.customer_sms_context as v
    cross join weights as w
    where
        v.phone is not null
        and not v.opted_out
        and v.churn_risk is not null
        and v.churn_risk <> (
            select l.level from conductor.churn_levels as l
            order by l.min_days limit 1
        )
),

one_per_phone as (
    select distinct on (l.phone) l.*
    from lapsed as l
    order by l.phone asc, l.win_back_score desc, l.member_id asc
)

select
    row_number() over (order by p.win_back_score desc, p.member_id asc) as priority_rank,
    p.member_id as customer_id,
    p.name,
    p.phone,
    p.email,
    p.vip_status,
    p.churn_risk,
    p.last_visited,
    p.days_since_last_visit,
    p.total_visits,
    p.lifetime_value,
    p.loyalty_points,
    p.win_back_score,
    p.favorite_category,
    coalesce(o.offer_text, (
        select s.value #>> '{}' from conductor.settings as s
        where s.key = 'default_offer'
    ))
        as recommended_offer,
    p.customers_sharing_phone,
    p.as_of_date
from one_per_phone as p
left join conductor.offers as o on p.favorite_category = o.category;

create unique index win_back_priority_queue_customer_id_idx on public.win_back_priority_queue (customer_id);
create unique index win_back_priority_queue_phone_idx on public.win_back_priority_queue (phone);
create unique index win_back_priority_queue_priority_rank_idx on public.win_back_priority_queue (priority_rank);

comment on materialized view public.win_back_priority_queue is
'Lapsed customers (churn risk above the lowest level) with a phone that has not opted out, one row per '
'phone, ranked by the win-back score. Refreshed hourly by pg_cron (conductor_refresh_win_back); read '
'through get_win_back_targets(page, page_size) for live opt-out and visit checks.';
comment on column public.win_back_priority_queue.priority_rank is 'Position in the queue, 1 = best target.';
comment on column public.win_back_priority_queue.customer_id is 'Customer (customers.member_id).';
comment on column public.win_back_priority_queue.win_back_score is
'lifetime_value x w1 + total_visits x w2 + w3 / days since the last visit + loyalty_points x w4, with the '
'weights of the win_back_score_weights setting (by default the seeds'' 0.3, 10 x 0.2, 100 x 0.3, 0.2).';
comment on column public.win_back_priority_queue.favorite_category is 'Category with the most product purchases.';
comment on column public.win_back_priority_queue.recommended_offer is
'conductor.offers.offer_text for the favourite category, else the default_offer setting.';
comment on column public.win_back_priority_queue.customers_sharing_phone is
'Customers with this phone; the row is the best-scoring of them.';
comment on column public.win_back_priority_queue.as_of_date is 'Store date of the refresh.';

-- Code: leads, activity timeline, reporting views.
-- >>> sql/functions/leads/linking.sql
-- Lead linking, both ways. A lead belongs to the customer with the same phone; when several
-- customers share a phone, the most recent visitor (last_visited, then the newest row), the same
-- rule the messaging layer uses for messages.customer_id. A linked lead gets the
-- lead_probability_customer setting and is promoted from new to warm; an unlinked one gets
-- lead_probability_prospect. Both directions end in the same row trigger on public.leads:
-- - a lead inserted or updated links itself (conductor.tg_leads__link_customer);
-- - customers inserted or updated (a new phone, a changed phone, a new last visit) relink the
--   waiting leads of the phones they touch in one set-based statement per customer statement
--   (conductor.tg_customers__link_leads over transition tables; a 10k-row import is one update);
-- - a deleted customer unlinks through the foreign key (on delete set null), which is an update
--   of the lead, so it relinks to another customer on the same phone if there is one.
-- The trigger functions are security definer: n8n writes leads and customers as service_role,
-- which cannot reach the conductor schema, and the rules must hold for its plain inserts and
-- updates too (a trigger function cannot be called directly, only fired).
-- Reads: public.customers, conductor.settings. Writes: public.leads, conductor.lead_events.

create function conductor.customer_for_phone(p_phone_number text)
returns text
stable
security invoker
set search_path = ''
language sql
as $$
    select c.member_id
    from public.customers as c
    where c.phone = p_phone_number
    order by c.last_visited desc nulls last, c.id desc
    limit 1
$$;
comment on function conductor.customer_for_phone(text) is
'member_id of the customer a phone number belongs to: the one with that phone, the most recent visitor '
'(last_visited, then the newest row) when several share it; null when none has it.';

create function conductor.lead_conversion_probability(p_linked boolean)
returns numeric
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_key text := case when p_linked then 'lead_probability_customer' else 'lead_probability_prospect' end;
    v_setting jsonb := conductor.setting(v_key);
begin
    if jsonb_typeof(v_setting) <> 'number'
        or (case when jsonb_typeof(v_setting) = 'number' then v_setting::numeric not between 0 and 1 end) then
        raise exception 'setting %: a probability between 0 and 1 is required, not %', v_key, v_setting
            using errcode = '22023';
    end if;
    return v_setting::numeric;
end
$$;
comment on function conductor.lead_conversion_probability(boolean) is
'Conversion probability for a lead linked to a customer (setting lead_probability_customer) or not '
'(lead_probability_prospect); 22023 if the setting is not a number between 0 and 1.';

create function conductor.tg_leads__link_customer()
returns trigger
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_link_changed boolean;
begin
    new.customer_id := conductor.customer_for_phone(new.phone_number);
    v_link_changed := tg_op = 'UPDATE' and new.customer_id is distinct from old.customer_id;

    -- The probability follows the link: set when missing and whenever the link changes, unless
    -- the same statement writes its own value (a workflow's explicit estimate is kept).
    if new.conversion_probability is null
        or (v_link_changed and new.conversion_probability is not distinct from old.conversion_probability) then
        new.conversion_probability := conductor.lead_conversion_probability(new.customer_id is not null);
    end if;

    -- Only new is promoted: a status a workflow set (hot, cold, converted, lost, warm) is kept.
    if new.customer_id is not null and new.lead_status = 'new' then
        new.lead_status := 'warm';
    end if;
    return new;
end
$$;
comment on function conductor.tg_leads__link_customer() is
'Trigger (before insert or update on public.leads, per row): links the lead to the customer with its '
'phone, sets conversion_probability when missing or when the link changes (unless the statement sets it), '
'and promotes new to warm for a linked lead.';

create function conductor.link_leads(p_phone_numbers text[])
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_count integer;
begin
    -- Only leads whose link, probability or promotion is out of date are written; the row
    -- trigger on public.leads then applies the rules, so there is one definition of them.
    update public.leads as l
    set customer_id = b.customer_id
    from (
        select
            w.id,
            conductor.customer_for_phone(w.phone_number) as customer_id
        from public.leads as w
        where p_phone_numbers is null or w.phone_number = any(p_phone_numbers)
    ) as b
    where
        l.id = b.id
        and (
            l.customer_id is distinct from b.customer_id
            or l.conversion_probability is null
            or (b.customer_id is not null and l.lead_status = 'new')
        );
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.link_leads(text[]) is
'Relinks the leads with these phone numbers (null: every lead) whose customer, conversion probability or '
'new -> warm promotion is out of date; returns how many leads changed. Used by the customers triggers '
'and as a repair.';

create function conductor.tg_customers__link_leads()
returns trigger
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_phones text[];
begin
    -- Nothing waits for a customer when there are no leads (the usual bulk import).
    if not exists (select from public.leads) then
        return null;
    end if;
    if tg_op = 'INSERT' then
        select array_agg(distinct n.phone) into v_phones
        from new_rows as n
        where n.phone is not null;
    else
        -- A phone gained, lost or changed moves leads; a new last visit can change which of
        -- several customers sharing a phone is the most recent visitor. Old and new versions
        -- are paired by grouping, not joining: the planner has no row counts for transition
        -- tables and a cached plan would join them in a nested loop.
        select array_agg(distinct p.phone) into v_phones
        from (
            select
                max(v.phone) filter (where v.side = 0) as old_phone,
                max(v.phone) filter (where v.side = 1) as new_phone,
                max(v.last_visited) filter (where v.side = 0) as old_visit,
                max(v.last_visited) filter (where v.side = 1) as new_visit
            from (
                select 0 as side, o.id, o.phone, o.last_visited from old_rows as o
                union all
                select 1 as side, n.id, n.phone, n.last_visited from new_rows as n
            ) as v
            group by v.id
        ) as c
        cross join lateral (values (c.old_phone), (c.new_phone)) as p (phone)
        where
            p.phone is not null
            and (c.new_phone is distinct from c.old_phone or c.new_visit is distinct from c.old_visit);
    end if;
    -- Most customer statements (metric updates, imports of people who never texted) touch no
    -- lead: one indexed probe of public.leads and nothing else.
    if v_phones is not null
        and exists (select from public.leads as l where l.phone_number = any(v_phones)) then
        perform conductor.link_leads(v_phones);
    end if;
    return null;
end
$$;
comment on function conductor.tg_customers__link_leads() is
'Trigger (after insert or update on public.customers, per statement over transition tables): relinks the '
'leads of every phone the statement gave, took away or changed, or whose customers'' last visit changed.';

create function conductor.tg_leads__record_events()
returns trigger
volatile
security definer
set search_path = ''
language plpgsql
as $$
begin
    if tg_op = 'INSERT' then
        insert into conductor.lead_events (
            lead_id, event, occurred_at, customer_id, new_status, conversion_probability
        )
        select
            n.id,
            e.event,
            case e.event when 'created' then n.created_at else pg_catalog.now() end,
            n.customer_id,
            case e.event when 'created' then n.lead_status end,
            n.conversion_probability
        from new_rows as n
        cross join (values ('created', 1), ('linked', 2)) as e (event, ord)
        where e.event = 'created' or n.customer_id is not null
        order by n.id, e.ord;
    else
        insert into conductor.lead_events (
            lead_id, event, customer_id, previous_customer_id, old_status, new_status, conversion_probability
        )
        select
            c.id,
            e.event,
            case e.event when 'unlinked' then c.old_customer_id else c.new_customer_id end,
            case e.event when 'linked' then c.old_customer_id end,
            case e.event when 'status_changed' then c.old_status end,
            case e.event when 'status_changed' then c.new_status end,
            c.probability
        from (
            -- Old and new versions paired by grouping, not joining: the planner has no row counts
            -- for transition tables and a cached plan would join them in a nested loop.
            select
                v.id,
                max(v.customer_id) filter (where v.side = 0) as old_customer_id,
                max(v.customer_id) filter (where v.side = 1) as new_customer_id,
                max(v.lead_status) filter (where v.side = 0) as old_status,
                max(v.lead_status) filter (where v.side = 1) as new_status,
                max(v.conversion_probability) filter (where v.side = 1) as probability
            from (
                select 0 as side, o.id, o.customer_id, o.lead_status, o.conversion_probability from old_rows as o
                union all
                select 1 as side, n.id, n.customer_id, n.lead_status, n.conversion_probability from new_rows as n
            ) as v
            group by v.id
        ) as c
        cross join (values ('unlinked', 1), ('linked', 2), ('status_changed', 3)) as e (event, ord)
        where
            (e.event = 'linked' and c.new_customer_id is not null and c.new_customer_id is distinct from c.old_customer_id)
            or (e.event = 'unlinked' and c.new_customer_id is null and c.old_customer_id is not null)
            or (e.event = 'status_changed' and c.new_status is distinct from c.old_status)
        order by c.id, e.ord;
    end if;
    return null;
end
$$;
comment on function conductor.tg_leads__record_events() is
'Trigger (after insert and after update on public.leads, per statement over transition tables): records '
'created, linked, unlinked and status_changed events in conductor.lead_events.';
-- >>> sql/functions/leads/upsert_lead.sql
-- Recording an inbound lead: one lead per phone number, created on its first message and
-- updated by the next ones. conductor.record_lead does the work; conductor.upsert_lead is the
-- entry point of inbound SMS handling (conductor.bridge_store_inbound) and
-- public.record_inbound_lead the RPC n8n calls. Linking, probability and the new -> warm
-- promotion happen in the row trigger on public.leads (sql/functions/leads/linking.sql).
-- Reads and writes: public.leads (and, through its triggers, conductor.lead_events).

create function conductor.record_lead(
    p_phone_number text,
    p_message text,
    p_source text,
    p_received_at timestamptz,
    out lead public.leads,
    out is_new boolean
)
returns record
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_phone text := conductor.require_phone(p_phone_number, 'phone_number');
    v_source text := nullif(btrim(p_source), '');
    v_at timestamptz := coalesce(p_received_at, pg_catalog.now());
begin
    if v_phone is null then
        raise exception 'phone_number: a phone number is required' using errcode = '22023';
    end if;
    -- Update first (the common case: a lead texting again); insert when there is none; a lead
    -- inserted meanwhile by a concurrent call makes the insert do nothing, and the loop updates it.
    loop
        -- A message older than the one already recorded (delivered late, out of order) does not
        -- replace it. The first source is kept: it says where the lead came from.
        update public.leads as l
        set
            last_message = case
                when p_message is not null and (l.last_message_at is null or v_at >= l.last_message_at)
                    then p_message
                else l.last_message
            end,
            last_message_at = case
                when p_message is not null then greatest(l.last_message_at, v_at)
                else l.last_message_at
            end,
            source = coalesce(l.source, v_source)
        where l.phone_number = v_phone
        returning l.* into lead;
        if found then
            is_new := false;
            return;
        end if;

        insert into public.leads (phone_number, last_message, last_message_at, source)
        values (v_phone, p_message, case when p_message is not null then v_at end, v_source)
        on conflict (phone_number) do nothing
        returning * into lead;
        if found then
            is_new := true;
            return;
        end if;
    end loop;
end
$$;
comment on function conductor.record_lead(text, text, text, timestamptz) is
'Creates or updates the lead of a phone number (22023 naming phone_number when it is missing or '
'malformed): last_message and last_message_at follow the newest message (p_received_at, default now); '
'source is kept from the first call. Returns the lead after linking and whether it was created.';

create function conductor.upsert_lead(
    p_phone_number text,
    p_message text,
    p_source text,
    p_received_at timestamptz
)
returns public.leads
volatile
security invoker
set search_path = ''
language sql
as $$
    select (conductor.record_lead(p_phone_number, p_message, p_source, p_received_at)).lead
$$;
comment on function conductor.upsert_lead(text, text, text, timestamptz) is
'The lead of a phone number after recording a message from it (see conductor.record_lead): used by '
'inbound SMS handling. 22023 naming phone_number for a missing or malformed number.';

create function public.record_inbound_lead(
    phone_number text,
    message text,
    source text default 'sms'
)
returns jsonb
volatile
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_result record;
begin
    select * into v_result
    from conductor.record_lead(phone_number, message, coalesce(source, 'sms'), pg_catalog.now());
    return pg_catalog.jsonb_build_object(
        'id', (v_result.lead).id,
        'phone_number', (v_result.lead).phone_number,
        'status', (v_result.lead).lead_status,
        'stage', (v_result.lead).conversation_stage,
        'customer_id', (v_result.lead).customer_id,
        'conversion_probability', (v_result.lead).conversion_probability,
        'last_message_at', (v_result.lead).last_message_at,
        'is_new', v_result.is_new
    );
end
$$;
comment on function public.record_inbound_lead(text, text, text) is
'Records a message from a lead (n8n: POST /rest/v1/rpc/record_inbound_lead {"phone_number", "message", '
'"source"}): creates the lead of that number or updates its last_message, links it to the customer with '
'that phone and returns {id, phone_number, status, stage, customer_id, conversion_probability, '
'last_message_at, is_new}. phone_number: any common format, stored as E.164; 22023 naming phone_number '
'when missing or malformed. source defaults to sms and is kept from the first message.';
-- >>> sql/triggers/leads.sql
-- Lead linking both ways and the lead history (functions in sql/functions/leads/linking.sql).
-- On leads: _200 links each row after _100 normalized its phone and before _900 stamps
-- updated_at; _800 records the events of the whole statement. On customers: _600 runs after the
-- metric triggers (_500), per statement over transition tables, so bulk imports stay set-based.
create trigger _200_link_customer before insert or update on public.leads
for each row execute function conductor.tg_leads__link_customer();

create trigger _800_record_events_on_insert after insert on public.leads
referencing new table as new_rows
for each statement execute function conductor.tg_leads__record_events();
create trigger _800_record_events_on_update after update on public.leads
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_leads__record_events();

create trigger _600_link_leads_on_insert after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__link_leads();
create trigger _600_link_leads_on_update after update on public.customers
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_customers__link_leads();

-- Leads stored before this install (or while the triggers were absent) are brought up to date;
-- rows already linked correctly are not written, so installing again changes nothing.
do $backfill$
begin
    perform conductor.link_leads(null);
end
$backfill$;
-- >>> sql/functions/timeline/activity_rows.sql
-- The one definition of a customer activity: public.customer_activity_timeline materializes
-- conductor.activity_timeline_rows(null, null, null), and public.get_customer_timeline reads the
-- rows written since the last refresh from it with a customer and a phone number, so the stored
-- and the live rows are built by the same code. Sources, one row each:
-- - transactions of a member (walk-ins have no timeline): purchase or refund, voided ones too
--   (metadata.status says so), with their line items in metadata;
-- - messages, both directions: sms_inbound / sms_outbound with status, kind and content;
-- - conductor.lead_events: lead_created, lead_linked, lead_unlinked, lead_status_changed.
-- Keys: customer_id is the member (transactions.customer_id; for messages messages.customer_id,
-- else the customer who has that phone now; for lead events the lead's customer); phone_number
-- is the other party's number for messages and lead events (null for transactions). A number
-- with no customer has rows with customer_id null, found by phone_number.
-- recorded_at is when the source row was last written (transactions.updated_at,
-- messages.updated_at, leads.updated_at for lead events): get_customer_timeline compares it with
-- the stored rows to take what changed since the refresh from here.
-- Reads: transactions, transaction_items, messages, customers, leads, conductor.lead_events.

create function conductor.activity_timeline_rows(
    p_customer_id text,
    p_phone_number text,
    p_since timestamptz
)
returns table (
    customer_id text,
    phone_number text,
    activity_type text,
    occurred_at timestamptz,
    source_table text,
    source_id bigint,
    summary text,
    metadata jsonb,
    recorded_at timestamptz
)
stable
security invoker
set search_path = ''
-- The filters below fold away with constant parameters (every row, or one customer's rows
-- through their indexes); a generic plan could not use the indexes.
set plan_cache_mode = force_custom_plan
language plpgsql
as $$
#variable_conflict use_column
declare
    v_all boolean := p_customer_id is null and p_phone_number is null;
begin
    return query
    select
        t.customer_id,
        null::text,
        case t.transaction_type when 'refund' then 'refund' else 'purchase' end,
        t.date,
        'transactions'::text,
        t.id,
        concat_ws(
            ' ',
            case
                when t.status = 'voided' then 'Voided ' || case t.transaction_type when 'refund' then 'refund' else 'purchase' end
                when t.transaction_type = 'refund' then 'Refund'
                else 'Purchase'
            end,
            '$' || to_char(abs(t.total_amount), 'FM999999999990.00'),
            case
                when li.units is not null then
                    format(
                        '(%s %s: %s%s)',
                        li.units,
                        case when li.units = 1 then 'item' else 'items' end,
                        array_to_string(li.names[1:3], ', '),
                        case when li.lines > 3 then format(' and %s more', li.lines - 3) else '' end
                    )
            end,
            'at ' || t.shop_location,
            'with ' || t.staff_name
        ),
        jsonb_strip_nulls(jsonb_build_object(
            'transaction_id', t.transaction_id,
            'type', t.transaction_type,
            'status', t.status,
            'amount', t.total_amount,
            'tax', t.total_tax,
            'discounts', t.discounts,
            'items_count', coalesce(li.units, 0),
            'lines_count', coalesce(li.lines, 0),
            'location', t.shop_location,
            'staff', t.staff_name,
            'payment_type', t.payment_type,
            'refunded_transaction_id', t.refunded_transaction_id,
            'loyalty_points_earned', nullif(t.loyalty_points_earned, 0),
            'loyalty_points_spent', nullif(t.loyalty_points_spent, 0),
            'items', li.items
        )),
        t.updated_at
    from public.transactions as t
    left join lateral (
        select
            count(*)::integer as lines,
            sum(i.quantity)::integer as units,
            array_agg(coalesce(i.product_name, i.product_sku, 'item') order by i.line_number) as names,
            jsonb_agg(
                jsonb_strip_nulls(jsonb_build_object(
                    'product_name', i.product_name,
                    'sku', i.product_sku,
                    'brand', i.brand,
                    'category', i.category,
                    'quantity', i.quantity,
                    'unit_price', i.unit_price,
                    'total_price', i.total_price
                ))
                order by i.line_number
            ) as items
        from public.transaction_items as i
        where i.transaction_id = t.transaction_id
        having count(*) > 0
    ) as li on true
    where
        t.customer_id is not null
        and (v_all or t.customer_id = p_customer_id)
        and (p_since is null or t.updated_at >= p_since);

    return query
    select
        coalesce(m.customer_id, o.member_id),
        m.phone_number,
        case m.direction when 'inbound' then 'sms_inbound' else 'sms_outbound' end,
        case when m.direction = 'outbound' then coalesce(m.sent_at, m.timestamp) else m.timestamp end,
        'messages'::text,
        m.id,
        case m.direction
            when 'inbound' then 'Texted us: '
            else format('We texted (%s, %s): ', m.message_kind, m.status)
        end
        || case when length(m.content) > 160 then left(m.content, 157) || '...' else m.content end,
        jsonb_strip_nulls(jsonb_build_object(
            'message_id', m.id,
            'direction', m.direction,
            'status', m.status,
            'kind', m.message_kind,
            'content', m.content,
            'in_reply_to', m.in_reply_to,
            'sent_at', m.sent_at,
            'read_at', m.read_at,
            'parts', m.parts,
            'error_code', m.error_code
        )),
        m.updated_at
    from public.messages as m
    left join lateral (
        select c.member_id
        from public.customers as c
        where m.customer_id is null and c.phone = m.phone_number
        order by c.last_visited desc nulls last, c.id desc
        limit 1
    ) as o on true
    where
        (v_all or m.phone_number = p_phone_number or m.customer_id = p_customer_id)
        and (p_since is null or m.updated_at >= p_since);

    return query
    select
        l.customer_id,
        l.phone_number,
        'lead_' || e.event,
        e.occurred_at,
        'lead_events'::text,
        e.id,
        case e.event
            when 'created' then format('Became a lead (%s, status %s)', coalesce(l.source, 'unknown source'), e.new_status)
            when 'linked' then
                case
                    when e.previous_customer_id is null then format('Lead linked to customer %s', e.customer_id)
                    else format('Lead moved from customer %s to customer %s', e.previous_customer_id, e.customer_id)
                end
            when 'unlinked' then format('Lead no longer linked to customer %s', e.customer_id)
            else format('Lead status changed from %s to %s', e.old_status, e.new_status)
        end,
        jsonb_strip_nulls(jsonb_build_object(
            'lead_id', l.id,
            'event', e.event,
            'customer_id', e.customer_id,
            'previous_customer_id', e.previous_customer_id,
            'old_status', e.old_status,
            'new_status', e.new_status,
            'conversion_probability', e.conversion_probability,
            'source', case when e.event = 'created' then l.source end
        )),
        l.updated_at
    from public.leads as l
    inner join conductor.lead_events as e on e.lead_id = l.id
    where
        (v_all or l.phone_number = p_phone_number or l.customer_id = p_customer_id)
        and (p_since is null or l.updated_at >= p_since);
end
$$;
comment on function conductor.activity_timeline_rows(text, text, timestamptz) is
'Activity rows (purchases, refunds, SMS both ways, lead events) built from the base tables: all of them '
'when p_customer_id and p_phone_number are null, else those of that customer or that phone number; with '
'p_since, only rows whose source was written at or after it. Materialized as '
'public.customer_activity_timeline.';
-- >>> sql/views/customer_activity_timeline.sql
-- public.customer_activity_timeline: every customer activity, one row each, materialized from
-- conductor.activity_timeline_rows (sql/functions/timeline/activity_rows.sql, which documents
-- the sources and keys). Refreshed concurrently by the pg_cron job
-- conductor_refresh_activity_timeline; public.get_customer_timeline adds what changed since.
create materialized view public.customer_activity_timeline as
select
    r.customer_id,
    r.phone_number,
    r.activity_type,
    r.occurred_at,
    r.source_table,
    r.source_id,
    r.summary,
    r.metadata,
    r.recorded_at
from conductor.activity_timeline_rows(null, null, null) as r;

-- The unique index REFRESH ... CONCURRENTLY needs: plain columns, never null.
create unique index customer_activity_timeline_source_idx
on public.customer_activity_timeline (source_table, source_id);
create index customer_activity_timeline_customer_idx
on public.customer_activity_timeline (customer_id, occurred_at desc);
create index customer_activity_timeline_phone_idx
on public.customer_activity_timeline (phone_number, occurred_at desc);

comment on materialized view public.customer_activity_timeline is
'Customer activity, one row per purchase, refund, SMS (in and out) and lead event, refreshed by the pg_cron '
'job conductor_refresh_activity_timeline. Rows of a number with no customer have customer_id null and are '
'found by phone_number. For one customer up to the minute, call get_customer_timeline(phone_number).';
comment on column public.customer_activity_timeline.customer_id is
'Customer (customers.member_id): the transaction''s member; for an SMS messages.customer_id, else the '
'customer with that phone at refresh time; for a lead event the lead''s customer. Null when the number '
'belongs to no customer.';
comment on column public.customer_activity_timeline.phone_number is
'The number (E.164) of an SMS or lead event; null for purchases and refunds (keyed by customer_id).';
comment on column public.customer_activity_timeline.activity_type is
'purchase, refund, sms_inbound, sms_outbound, lead_created, lead_linked, lead_unlinked or lead_status_changed.';
comment on column public.customer_activity_timeline.occurred_at is
'When it happened: transaction date, message time (an outbound SMS: when sent), event time.';
comment on column public.customer_activity_timeline.source_table is 'Where the row comes from: transactions, messages or lead_events.';
comment on column public.customer_activity_timeline.source_id is
'id of the source row (transactions.id, messages.id, conductor.lead_events.id); unique with source_table.';
comment on column public.customer_activity_timeline.summary is
'One line for people and the AI, e.g. "Purchase $53.00 (2 items: ...) at Downtown with Sam".';
comment on column public.customer_activity_timeline.metadata is
'Details as JSON. Purchases and refunds: transaction_id, type, status (voided ones are listed too), amount, '
'tax, discounts, items_count, lines_count, location, staff, payment_type, items[]. SMS: message_id, '
'direction, status, kind, content, in_reply_to, sent_at. Lead events: lead_id, event, customer_id, '
'old_status, new_status, conversion_probability, source.';
comment on column public.customer_activity_timeline.recorded_at is
'When the source row was last written (its updated_at; for a lead event the lead''s).';
-- >>> sql/functions/timeline/refresh_activity_timeline.sql
-- Refreshes public.customer_activity_timeline without blocking its readers. Called by the
-- pg_cron job conductor_refresh_activity_timeline. Writes: the materialized view.
create function conductor.refresh_activity_timeline()
returns boolean
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor refresh_activity_timeline')) then
        raise notice 'conductor_refresh_activity_timeline: another refresh is running; skipped';
        return false;
    end if;
    -- CONCURRENTLY needs a populated view; one created WITH NO DATA is filled the plain way once.
    if (
        select c.relispopulated from pg_catalog.pg_class as c
        where c.oid = 'public.customer_activity_timeline'::regclass
    ) then
        refresh materialized view concurrently public.customer_activity_timeline;
    else
        refresh materialized view public.customer_activity_timeline;
    end if;
    return true;
end
$$;
comment on function conductor.refresh_activity_timeline() is
'pg_cron job conductor_refresh_activity_timeline: REFRESH MATERIALIZED VIEW CONCURRENTLY '
'public.customer_activity_timeline. Returns false at once (doing nothing) while another refresh holds its '
'advisory lock, true after refreshing.';
-- >>> sql/functions/timeline/get_customer_timeline.sql
-- public.get_customer_timeline: a customer's activity, newest first, for the AI and n8n. The
-- rows come from public.customer_activity_timeline, except those whose source was written since
-- (taken from the base tables through conductor.activity_timeline_rows, the same code the view
-- is built from), so today's purchase or text is there before the next refresh.
-- "Since" is the newest recorded_at the view holds for this customer or number minus the
-- timeline_live_overlap_hours setting: a transaction still open during the refresh commits rows
-- stamped before it, and the overlap takes those from the base tables too. A stored row is used
-- only while its source row is unchanged since then (so a voided sale, a delivered SMS or a
-- deleted row shows as it is now); each row is therefore either stored or live, never both.
-- Line items edited later without touching their transaction show from the next refresh.
-- Reads: the view, transactions, transaction_items, messages, customers, leads, conductor.lead_events.

create function public.get_customer_timeline(
    phone_number text,
    max_rows integer default 50,
    before timestamptz default null
)
returns jsonb
stable
security definer
set search_path = ''
set plan_cache_mode = force_custom_plan
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_phone text := conductor.require_phone(phone_number, 'phone_number');
    v_limit integer := coalesce(max_rows, 50);
    v_most integer := (conductor.setting('timeline_max_rows') #>> '{}')::integer;
    v_overlap interval := pg_catalog.make_interval(
        hours => (conductor.setting('timeline_live_overlap_hours') #>> '{}')::integer
    );
    v_customer_id text;
    v_customer_name text;
    v_populated boolean;
    v_since timestamptz;
    v_activities jsonb;
    v_has_more boolean;
    v_oldest timestamptz;
begin
    if v_phone is null then
        raise exception 'phone_number: a phone number is required' using errcode = '22023';
    end if;
    if v_limit < 1 or v_limit > v_most then
        raise exception 'max_rows: must be between 1 and %, got %', v_most, v_limit using errcode = '22023';
    end if;

    v_customer_id := conductor.customer_for_phone(v_phone);
    select c.name into v_customer_name from public.customers as c where c.member_id = v_customer_id;

    select c.relispopulated into v_populated
    from pg_catalog.pg_class as c
    where c.oid = 'public.customer_activity_timeline'::regclass;

    if v_populated then
        select max(s.recorded_at) into v_since
        from public.customer_activity_timeline as s
        where s.customer_id = v_customer_id or s.phone_number = v_phone;
    end if;
    v_since := coalesce(v_since - v_overlap, '-infinity');

    with live as (
        select
            r.activity_type,
            r.occurred_at,
            r.source_table,
            r.source_id,
            r.summary,
            r.metadata
        from conductor.activity_timeline_rows(v_customer_id, v_phone, v_since) as r
    ),

    stored as (
        select
            s.activity_type,
            s.occurred_at,
            s.source_table,
            s.source_id,
            s.summary,
            s.metadata
        from public.customer_activity_timeline as s
        where
            v_populated
            and (s.customer_id = v_customer_id or s.phone_number = v_phone)
            and case s.source_table
                when 'transactions' then exists (
                    select from public.transactions as t
                    where t.id = s.source_id and t.updated_at < v_since
                )
                when 'messages' then exists (
                    select from public.messages as m
                    where m.id = s.source_id and m.updated_at < v_since
                )
                when 'lead_events' then exists (
                    select from conductor.lead_events as e
                    inner join public.leads as l on l.id = e.lead_id
                    where e.id = s.source_id and l.updated_at < v_since
                )
                else false
            end
    ),

    ranked as (
        select
            a.*,
            row_number() over (order by a.occurred_at desc, a.source_table asc, a.source_id desc) as rn
        from (select * from live union all select * from stored) as a
        where before is null or a.occurred_at < before
    ),

    -- A page never splits activities that share a timestamp, so the next page (before = the
    -- oldest occurred_at returned) neither repeats nor skips any.
    page as (
        select r.*
        from ranked as r
        where
            r.rn <= v_limit
            or r.occurred_at = (select k.occurred_at from ranked as k where k.rn = v_limit)
    )

    select
        coalesce(
            (
                select
                    jsonb_agg(
                        jsonb_build_object(
                            'occurred_at', p.occurred_at,
                            'activity_type', p.activity_type,
                            'summary', p.summary,
                            'source_table', p.source_table,
                            'source_id', p.source_id,
                            'metadata', p.metadata
                        )
                        order by p.rn
                    )
                from page as p
            ),
            '[]'::jsonb
        ),
        exists (select from ranked as r where r.rn > (select max(p.rn) from page as p)),
        (select min(p.occurred_at) from page as p)
    into v_activities, v_has_more, v_oldest;

    return jsonb_build_object(
        'phone_number', v_phone,
        'customer_id', v_customer_id,
        'customer_name', v_customer_name,
        'activities', v_activities,
        'has_more', v_has_more,
        'next_before', case when v_has_more then v_oldest end
    );
end
$$;
comment on function public.get_customer_timeline(text, integer, timestamptz) is
'A customer''s activity, newest first (n8n: POST /rest/v1/rpc/get_customer_timeline {"phone_number", '
'"max_rows", "before"}): purchases, refunds, SMS both ways and lead events of the customer with that phone '
'and of the number itself, up to the minute. Returns {phone_number, customer_id, customer_name, '
'activities: [{occurred_at, activity_type, summary, source_table, source_id, metadata}], has_more, '
'next_before}; an unknown number gives customer_id null and no activities. max_rows: 1 to the '
'timeline_max_rows setting (default 50; a page is longer only to keep activities sharing its last '
'timestamp together); before: only activities strictly older (pass next_before for the next page). '
'22023 naming phone_number or max_rows for a bad argument.';
-- >>> sql/functions/timeline/reporting_parameters.sql
-- The settings the reporting views need, for readers without access to the conductor schema.
-- public.customer_purchase_history and public.customer_spending_analysis are security_invoker
-- views read by service_role, which cannot read conductor.settings; this function reads the
-- store's time zone and the spending trend settings for them and nothing else (it is security
-- definer, and grants.sql lets service_role execute it). Reads: conductor.settings.
create function conductor.reporting_parameters(
    out time_zone text,
    out today date,
    out trend_window_days integer,
    out trend_change_ratio numeric
)
returns record
stable
security definer
set search_path = ''
language plpgsql
as $$
begin
    time_zone := conductor.store_time_zone();
    today := conductor.store_today();
    trend_window_days := (conductor.setting('spending_trend_window_days') #>> '{}')::integer;
    trend_change_ratio := (conductor.setting('spending_trend_change_ratio') #>> '{}')::numeric;
    if trend_window_days is null or trend_window_days < 1 then
        raise exception 'setting spending_trend_window_days: a whole number of days >= 1 is required'
            using errcode = '22023';
    end if;
    if trend_change_ratio is null or trend_change_ratio < 0 then
        raise exception 'setting spending_trend_change_ratio: a fraction >= 0 is required'
            using errcode = '22023';
    end if;
end
$$;
comment on function conductor.reporting_parameters() is
'For the reporting views: the store''s time zone and today there, and the spending trend window (days) and '
'change ratio settings. Security definer so service_role can read them through the views.';
-- >>> sql/views/customer_purchase_history.sql
-- public.customer_purchase_history: every line of every completed purchase and refund of a
-- member, with the customer, the product and the amounts; the base of purchase reports
-- ("what did this customer buy", "who bought this product"). Walk-in sales (no member) and
-- voided transactions are not in it. Filter by customer_id or product_sku: both reach indexes.
-- security_invoker: the reader's own privileges apply (service_role). Reads: transactions,
-- transaction_items, customers, products, conductor.reporting_parameters() (time zone).
create view public.customer_purchase_history
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    t.customer_id,
    c.name as customer_name,
    t.transaction_id,
    t.transaction_type,
    t.date as purchased_at,
    (t.date at time zone parameters.time_zone)::date as purchase_date,
    t.shop_location,
    t.staff_name,
    t.payment_type,
    i.line_number,
    i.product_sku,
    p.product_id,
    coalesce(i.product_name, p.name) as product_name,
    coalesce(i.brand, p.brand) as brand,
    coalesce(i.category, p.category) as category,
    coalesce(i.strain, p.strain) as strain,
    i.quantity,
    case t.transaction_type when 'refund' then -i.quantity else i.quantity end as net_quantity,
    i.unit_price,
    i.discount,
    i.total_price as line_total,
    t.total_amount as transaction_total
from public.transactions as t
inner join public.customers as c on t.customer_id = c.member_id
inner join public.transaction_items as i on t.transaction_id = i.transaction_id
left join public.products as p on i.product_sku = p.sku
cross join parameters
where t.status = 'completed';

comment on view public.customer_purchase_history is
'One row per line of a completed purchase or refund of a member (voided transactions and walk-in sales '
'excluded), with customer, product, dates and amounts. Refund lines have a negative line_total and '
'net_quantity, so sums are net.';
comment on column public.customer_purchase_history.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_purchase_history.customer_name is 'Customer name.';
comment on column public.customer_purchase_history.transaction_id is 'POS transaction id (transactions.transaction_id).';
comment on column public.customer_purchase_history.transaction_type is 'sale or refund.';
comment on column public.customer_purchase_history.purchased_at is 'When the transaction happened.';
comment on column public.customer_purchase_history.purchase_date is 'Its calendar date at the store (setting store_time_zone).';
comment on column public.customer_purchase_history.shop_location is 'Store location.';
comment on column public.customer_purchase_history.staff_name is 'Budtender who rang it.';
comment on column public.customer_purchase_history.payment_type is 'Payment method.';
comment on column public.customer_purchase_history.line_number is 'Line number within the transaction.';
comment on column public.customer_purchase_history.product_sku is 'Product (products.sku); null if the POS had none.';
comment on column public.customer_purchase_history.product_id is 'POS product id (products.product_id), when the sku is known.';
comment on column public.customer_purchase_history.product_name is 'Product name as sold (else the catalogue name).';
comment on column public.customer_purchase_history.brand is 'Brand as sold (else the catalogue brand).';
comment on column public.customer_purchase_history.category is 'Category as sold (else the catalogue category).';
comment on column public.customer_purchase_history.strain is 'Strain as sold (else the catalogue strain).';
comment on column public.customer_purchase_history.quantity is 'Units on the line (always positive).';
comment on column public.customer_purchase_history.net_quantity is 'Units bought: quantity, negative on a refund.';
comment on column public.customer_purchase_history.unit_price is 'Price per unit in dollars.';
comment on column public.customer_purchase_history.discount is 'Line discount in dollars.';
comment on column public.customer_purchase_history.line_total is 'Line total in dollars; negative on a refund.';
comment on column public.customer_purchase_history.transaction_total is 'Total of the whole transaction in dollars.';
-- >>> sql/views/customer_spending_analysis.sql
-- public.customer_spending_analysis: one row per customer summing up how they spend: orders,
-- gross, refunded and net dollars, average basket, spend by month and by category, and the
-- trend of the last spending_trend_window_days against the same span before it. Computed when
-- read, against the store's today, from completed (not voided) transactions; filter by
-- customer_id to read one customer through the indexes.
-- security_invoker: the reader's own privileges apply (service_role). Reads: customers,
-- transactions, transaction_items, conductor.reporting_parameters() (time zone, today, trend settings).
create view public.customer_spending_analysis
with (security_invoker = true)
as
with parameters as materialized (
    select
        p.time_zone,
        p.today,
        p.trend_window_days,
        p.trend_change_ratio
    from conductor.reporting_parameters() as p
)

select
    c.member_id as customer_id,
    c.name as customer_name,
    s.orders,
    s.refunds,
    s.gross_spend,
    s.refunded,
    s.gross_spend - s.refunded as net_spend,
    case when s.orders > 0 then round(s.gross_spend / s.orders, 2) end as average_basket,
    case when s.orders > 0 then round(k.units_bought::numeric / s.orders, 2) end as average_items_per_basket,
    s.first_purchase_date,
    s.last_purchase_date,
    s.active_months,
    case when s.active_months > 0 then round((s.gross_spend - s.refunded) / s.active_months, 2) end
        as average_spend_per_active_month,
    coalesce(m.spend_by_month, '{}'::jsonb) as spend_by_month,
    coalesce(k.spend_by_category, '{}'::jsonb) as spend_by_category,
    k.top_category,
    s.recent_spend,
    s.previous_spend,
    case when s.previous_spend > 0 then round((s.recent_spend - s.previous_spend) / s.previous_spend, 4) end
        as spend_change_ratio,
    case
        when s.orders = 0 and s.refunds = 0 then null
        when s.first_purchase_date > parameters.today - parameters.trend_window_days then 'new'
        when s.recent_spend <= 0 and s.previous_spend <= 0 then 'inactive'
        when s.previous_spend <= 0 then 'rising'
        when s.recent_spend - s.previous_spend > s.previous_spend * parameters.trend_change_ratio then 'rising'
        when s.previous_spend - s.recent_spend > s.previous_spend * parameters.trend_change_ratio then 'declining'
        else 'steady'
    end as spend_trend
from public.customers as c
cross join parameters
left join lateral (
    select
        count(*) filter (where t.transaction_type = 'sale')::integer as orders,
        count(*) filter (where t.transaction_type = 'refund')::integer as refunds,
        coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as gross_spend,
        coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded,
        min(d.local_date) filter (where t.transaction_type = 'sale') as first_purchase_date,
        max(d.local_date) filter (where t.transaction_type = 'sale') as last_purchase_date,
        count(distinct date_trunc('month', d.local_date)) filter (where t.transaction_type = 'sale')::integer
            as active_months,
        coalesce(
            sum(t.total_amount) filter (where d.local_date > parameters.today - parameters.trend_window_days), 0
        ) as recent_spend,
        coalesce(
            sum(t.total_amount) filter (
                where d.local_date between
                parameters.today - 2 * parameters.trend_window_days + 1
                and parameters.today - parameters.trend_window_days
            ),
            0
        ) as previous_spend
    from public.transactions as t
    cross join lateral (select (t.date at time zone parameters.time_zone)::date as local_date) as d
    where t.customer_id = c.member_id and t.status = 'completed'
) as s on true
left join lateral (
    select jsonb_object_agg(b.month, b.net order by b.month) as spend_by_month
    from (
        select
            to_char(t.date at time zone parameters.time_zone, 'YYYY-MM') as month,
            sum(t.total_amount) as net
        from public.transactions as t
        where t.customer_id = c.member_id and t.status = 'completed'
        group by 1
    ) as b
) as m on true
left join lateral (
    select
        jsonb_object_agg(g.category, g.net order by g.category) as spend_by_category,
        (array_agg(g.category order by g.net desc, g.category asc))[1] as top_category,
        coalesce(sum(g.units_bought), 0)::integer as units_bought
    from (
        select
            coalesce(i.category, 'Uncategorized') as category,
            sum(i.total_price) as net,
            sum(i.quantity) filter (where t.transaction_type = 'sale') as units_bought
        from public.transactions as t
        inner join public.transaction_items as i on t.transaction_id = i.transaction_id
        where t.customer_id = c.member_id and t.status = 'completed'
        group by 1
    ) as g
) as k on true;

comment on view public.customer_spending_analysis is
'Per customer: orders, gross, refunded and net spend, average basket, spend by month and by category, and '
'the spending trend (last spending_trend_window_days against the same span before). Completed transactions '
'only; months and windows are calendar dates at the store (store_time_zone), computed when read.';
comment on column public.customer_spending_analysis.customer_id is 'Customer (customers.member_id).';
comment on column public.customer_spending_analysis.customer_name is 'Customer name.';
comment on column public.customer_spending_analysis.orders is 'Completed sale transactions.';
comment on column public.customer_spending_analysis.refunds is 'Completed refund transactions.';
comment on column public.customer_spending_analysis.gross_spend is 'Dollars of the completed sales.';
comment on column public.customer_spending_analysis.refunded is 'Dollars refunded (positive).';
comment on column public.customer_spending_analysis.net_spend is 'gross_spend - refunded.';
comment on column public.customer_spending_analysis.average_basket is 'gross_spend / orders in dollars; null without orders.';
comment on column public.customer_spending_analysis.average_items_per_basket is 'Units bought per order; null without orders.';
comment on column public.customer_spending_analysis.first_purchase_date is 'Local date of the first sale.';
comment on column public.customer_spending_analysis.last_purchase_date is 'Local date of the latest sale.';
comment on column public.customer_spending_analysis.active_months is 'Calendar months with at least one sale.';
comment on column public.customer_spending_analysis.average_spend_per_active_month is 'net_spend / active_months.';
comment on column public.customer_spending_analysis.spend_by_month is
'Net dollars per local month, {"2026-10": 53.00, ...} (refunds count in the month they happened).';
comment on column public.customer_spending_analysis.spend_by_category is
'Net dollars of line items (line totals, before tax) per product category as sold, {"Flower": 70.00, ...}; '
'"Uncategorized" when none. Transaction totals include tax, so these sum to less than net_spend.';
comment on column public.customer_spending_analysis.top_category is 'Category with the most net dollars (ties: first by name).';
comment on column public.customer_spending_analysis.recent_spend is 'Net dollars in the last spending_trend_window_days (today included).';
comment on column public.customer_spending_analysis.previous_spend is 'Net dollars in the same number of days before that.';
comment on column public.customer_spending_analysis.spend_change_ratio is
'(recent_spend - previous_spend) / previous_spend; null when previous_spend is not positive.';
comment on column public.customer_spending_analysis.spend_trend is
'new (first sale within the window), inactive (nothing in either window), rising or declining (a change '
'beyond spending_trend_change_ratio, or spend only in the recent window), steady; null without transactions.';
-- >>> sql/functions/maintenance/cleanup_cron_history.sql
-- Keeps cron.job_run_details from growing forever (pg_cron never prunes it): deletes finished
-- runs older than the cron_history_retention_days setting. Works with pg_cron 1.4 (Debian)
-- and 1.6 (Supabase), whose job_run_details have the same columns; does nothing where pg_cron
-- is not installed. Runs as the role that scheduled the job: pg_cron's row level security
-- (username = current_user) limits it to that role's runs, which on Supabase are the postgres
-- role's, i.e. every job created from migrations and the SQL editor. Called by the pg_cron job
-- conductor_cleanup_cron_history. Reads: conductor.settings. Writes: cron.job_run_details.
create function conductor.cleanup_cron_history()
returns bigint
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_days integer;
    v_count bigint;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor cleanup_cron_history')) then
        raise notice 'conductor_cleanup_cron_history: another cleanup is running; skipped';
        return 0;
    end if;
    if pg_catalog.to_regclass('cron.job_run_details') is null then
        return 0;
    end if;
    v_days := (conductor.setting('cron_history_retention_days') #>> '{}')::integer;
    if v_days is null or v_days < 1 then
        raise exception 'setting cron_history_retention_days: a whole number of days >= 1 is required, not %',
            conductor.setting('cron_history_retention_days')
            using errcode = '22023';
    end if;
    -- Runs still starting or running are kept whatever their age; a run that never recorded its
    -- end (the server restarted under it) is aged by its start.
    delete from cron.job_run_details as d
    where
        d.status not in ('starting', 'running', 'connecting', 'sending')
        and coalesce(d.end_time, d.start_time) < pg_catalog.now() - pg_catalog.make_interval(days => v_days);
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.cleanup_cron_history() is
'pg_cron job conductor_cleanup_cron_history: deletes finished runs in cron.job_run_details older than the '
'cron_history_retention_days setting and returns how many; 0 without pg_cron or while another cleanup '
'holds its advisory lock.';

-- Code: messaging (queue, compliance, campaigns, bridge functions).
-- >>> sql/functions/messaging/rules.sql
-- The rules every outbound message obeys, shared by the insert triggers, public.queue_sms,
-- campaign dispatch and the bridge claim: nothing to an opted-out number, marketing only inside
-- the recipient's sending window (quiet_hours_start..quiet_hours_end at the customer's time zone,
-- else the store's) and under the per-number frequency cap. Also the small helpers the message
-- flow shares: the NOTIFY channel, the per-number lock, the inbound hash, keyword normalization.
-- Reads: conductor.settings, conductor.opt_outs, public.customers, public.messages.

create function conductor.outbound_notify_channel()
returns text
immutable
parallel safe
security invoker
set search_path = ''
language sql
as $$
    select 'conductor_outbound'
$$;
comment on function conductor.outbound_notify_channel() is
'The LISTEN/NOTIFY channel the bridge listens on; the payload is the id of a message that became queued.';

create function conductor.notify_outbound(p_message_ids bigint[])
returns void
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_id bigint;
begin
    -- Delivered by PostgreSQL at commit, never before; nothing is sent if the transaction rolls back.
    foreach v_id in array coalesce(p_message_ids, '{}'::bigint[]) loop
        perform pg_catalog.pg_notify(conductor.outbound_notify_channel(), v_id::text);
    end loop;
end
$$;
comment on function conductor.notify_outbound(bigint[]) is
'Sends one NOTIFY on conductor_outbound per message id (delivered at commit).';

create function conductor.lock_phone(p_phone_number text)
returns void
volatile
security invoker
set search_path = ''
language sql
as $$
    select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor phone ' || p_phone_number))
$$;
comment on function conductor.lock_phone(text) is
'Serializes, until commit, everything that queues to or changes the consent of one number '
'(an opt-out and a queue insert can never pass each other).';

create function conductor.message_customer_id(p_phone_number text)
returns text
stable
security invoker
set search_path = ''
language sql
as $$
    select c.member_id
    from public.customers as c
    where c.phone = p_phone_number
    order by c.last_visited desc nulls last, c.id desc
    limit 1
$$;
comment on function conductor.message_customer_id(text) is
'member_id of the customer with this phone (the most recent visitor if several share it), or null.';

create function conductor.recipient_time_zone(p_customer_id text, p_phone_number text)
returns text
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_zone text;
begin
    if p_customer_id is not null then
        select c.time_zone into v_zone from public.customers as c where c.member_id = p_customer_id;
    end if;
    if v_zone is null and p_phone_number is not null then
        select c.time_zone into v_zone
        from public.customers as c
        where c.phone = p_phone_number and c.time_zone is not null
        order by c.last_visited desc nulls last, c.id desc
        limit 1;
    end if;
    if v_zone is not null then
        begin
            perform pg_catalog.now() at time zone v_zone;
            return v_zone;
        exception when invalid_parameter_value then
            -- A customer time zone PostgreSQL does not know: the store's zone is the safe default.
            null;
        end;
    end if;
    return conductor.store_time_zone();
end
$$;
comment on function conductor.recipient_time_zone(text, text) is
'IANA time zone for quiet hours: the customer''s time_zone when set and valid, else the store''s.';

create function conductor.marketing_send_time(p_at timestamptz, p_time_zone text)
returns timestamptz
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_start time;
    v_end time;
    v_local timestamp;
begin
    begin
        v_start := (conductor.setting('quiet_hours_start') #>> '{}')::time;
        v_end := (conductor.setting('quiet_hours_end') #>> '{}')::time;
    exception when invalid_datetime_format or datetime_field_overflow then
        raise exception 'settings quiet_hours_start and quiet_hours_end must be times of day such as "08:00"'
            using errcode = '22023';
    end;
    if v_start >= v_end then
        raise exception 'setting quiet_hours_start (%) must be earlier than quiet_hours_end (%)', v_start, v_end
            using errcode = '22023';
    end if;
    v_local := p_at at time zone p_time_zone;
    if v_local::time >= v_start and v_local::time < v_end then
        return p_at;
    elsif v_local::time < v_start then
        return (v_local::date + v_start) at time zone p_time_zone;
    end if;
    return (v_local::date + 1 + v_start) at time zone p_time_zone;
end
$$;
comment on function conductor.marketing_send_time(timestamptz, text) is
'The earliest moment at or after p_at inside the marketing sending window (quiet_hours_start to '
'quiet_hours_end, local time at p_time_zone).';

create function conductor.is_marketing(p_message_kind text, p_in_reply_to bigint)
returns boolean
immutable
parallel safe
security invoker
set search_path = ''
language sql
as $$
    select p_message_kind = 'marketing' and p_in_reply_to is null
$$;
comment on function conductor.is_marketing(text, bigint) is
'Whether quiet hours and the frequency cap apply: marketing messages that do not answer an inbound message.';

create function conductor.is_opted_out(p_phone_number text, p_message_id bigint default null)
returns boolean
stable
security invoker
set search_path = ''
language sql
as $$
    select exists (
        select from conductor.opt_outs as o
        where o.phone_number = p_phone_number
            and o.confirmation_message_id is distinct from p_message_id
    )
$$;
comment on function conductor.is_opted_out(text, bigint) is
'Whether the number opted out, so that this message (when given) must not go to it; the opt-out '
'confirmation itself is the one exception.';

create function conductor.outbound_refusal(
    p_phone_number text, p_is_marketing boolean, p_exclude_message_id bigint default null
)
returns text
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_cap integer := (conductor.setting('marketing_cap_messages') #>> '{}')::integer;
    v_days integer := (conductor.setting('marketing_cap_days') #>> '{}')::integer;
    v_count integer;
begin
    if conductor.is_opted_out(p_phone_number, p_exclude_message_id) then
        return format('phone_number %s has opted out of SMS: nothing can be queued to it', p_phone_number);
    end if;
    if p_is_marketing then
        select count(*) into v_count
        from public.messages as m
        where m.phone_number = p_phone_number
            and m.direction = 'outbound'
            and m.message_kind = 'marketing'
            and m.in_reply_to is null
            and m.status in ('queued', 'sending', 'sent', 'outcome_unknown')
            and coalesce(m.sent_at, m.next_attempt_at, m.timestamp) > pg_catalog.now() - pg_catalog.make_interval(days => v_days)
            and m.id is distinct from p_exclude_message_id;
        if v_count >= v_cap then
            return format(
                'phone_number %s already has %s marketing messages within %s days (settings marketing_cap_messages, '
                'marketing_cap_days)', p_phone_number, v_count, v_days
            );
        end if;
    end if;
    return null;
end
$$;
comment on function conductor.outbound_refusal(text, boolean, bigint) is
'Why a message may not be queued to this number now (opted out; for marketing, the frequency cap), '
'as a message naming phone_number, or null when it may.';

create function conductor.require_outbound_allowed(
    p_phone_number text, p_is_marketing boolean, p_exclude_message_id bigint default null
)
returns void
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_refusal text := conductor.outbound_refusal(p_phone_number, p_is_marketing, p_exclude_message_id);
begin
    if v_refusal is not null then
        raise exception '%', v_refusal
            using errcode = 'P0001',
                  hint = case
                      when conductor.is_opted_out(p_phone_number, p_exclude_message_id)
                          then 'The number opts back in by texting START.'
                      else 'Send it later, or as a reply (in_reply_to) if it answers the customer.'
                  end;
    end if;
end
$$;
comment on function conductor.require_outbound_allowed(text, boolean, bigint) is
'Raises P0001 naming phone_number when conductor.outbound_refusal refuses the message.';

create function conductor.require_outbound_content(p_content text)
returns void
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_limit integer := (conductor.setting('sms_max_content_length') #>> '{}')::integer;
begin
    if p_content is null or btrim(p_content) = '' then
        raise exception 'content: an outbound message must have text' using errcode = '22023';
    end if;
    if length(p_content) > v_limit then
        raise exception 'content: % characters is longer than the % allowed (setting sms_max_content_length)',
            length(p_content), v_limit
            using errcode = '22023';
    end if;
end
$$;
comment on function conductor.require_outbound_content(text) is
'Raises 22023 naming content when an outbound text is empty or longer than sms_max_content_length.';

create function conductor.inbound_message_hash(p_sender text, p_modem_timestamp timestamptz, p_content text)
returns text
immutable
parallel safe
security invoker
set search_path = ''
language sql
as $$
    select pg_catalog.encode(
        pg_catalog.sha256(
            pg_catalog.convert_to(
                pg_catalog.jsonb_build_array(
                    p_sender, extract(epoch from p_modem_timestamp)::text, p_content
                )::text,
                'UTF8'
            )
        ),
        'hex'
    )
$$;
comment on function conductor.inbound_message_hash(text, timestamptz, text) is
'Duplicate-detection key of an inbound SMS: sha256 of sender, network timestamp (as an instant) and text.';

create function conductor.sms_keyword(p_content text)
returns text
immutable
parallel safe
security invoker
set search_path = ''
language sql
as $$
    -- Compliance keywords are whole messages: only short texts are considered, without case,
    -- spaces or punctuation ("Stop.", " STOP ", "opt-out" and "Stop all!" all count).
    select case
        when length(p_content) <= 40
            then nullif(upper(regexp_replace(p_content, '[^[:alnum:]]', '', 'g')), '')
    end
$$;
comment on function conductor.sms_keyword(text) is
'The text as a candidate keyword: upper case without spaces or punctuation; null for long texts.';
-- >>> sql/functions/messaging/message_triggers.sql
-- Trigger functions of public.messages and conductor.opt_outs: the status machine, the rules a
-- queued message must pass whoever inserts it (public.queue_sms, a plain INSERT from n8n,
-- campaign dispatch, compliance replies), the NOTIFY that wakes the bridge, and the
-- cancellation of queued messages when a number opts out. The triggers themselves are created
-- in sql/triggers/messaging.sql. They are security definer: n8n writes public.messages as
-- service_role, which has no access to the conductor schema the rules live in.
-- Reads: conductor.settings, conductor.opt_outs, public.customers. Writes: public.messages
-- (cancellations).
--
-- Status machine (anything else raises 22023 naming status):
--   inbound:  unread -> read
--   outbound: queued -> sending (bridge claim only) | cancelled
--             sending -> sent | failed | queued (retry) | outcome_unknown
--             outcome_unknown -> sent | failed | queued (an operator's decision) | cancelled
--             failed -> queued (an operator's retry)
--             sent and cancelled are final.

create function conductor.tg_messages__prepare_insert()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    if new.direction is null or new.direction not in ('inbound', 'outbound') then
        raise exception 'direction: must be inbound or outbound, not %', coalesce(new.direction, 'null')
            using errcode = '22023';
    end if;
    if new.message_kind is null or new.message_kind not in ('reply', 'marketing', 'system') then
        raise exception 'message_kind: must be reply, marketing or system, not %', coalesce(new.message_kind, 'null')
            using errcode = '22023';
    end if;

    if new.direction = 'inbound' then
        new.status := coalesce(new.status, 'unread');
        if new.status not in ('unread', 'read') then
            raise exception 'status: an inbound message is unread or read, not %', new.status
                using errcode = '22023';
        end if;
        new.content := coalesce(new.content, '');
        if new.message_hash is null then
            new.message_hash := case
                when new.modem_timestamp is null
                    -- Without a network timestamp two identical texts cannot be told apart from
                    -- one stored twice: keep both (a duplicate is better than a lost message).
                    then conductor.inbound_message_hash(new.phone_number, null, new.content)
                    || ':' || new.id
                else conductor.inbound_message_hash(new.phone_number, new.modem_timestamp, new.content)
            end;
        end if;
        if new.status = 'read' then
            new.read_at := coalesce(new.read_at, pg_catalog.now());
        end if;
        new.customer_id := coalesce(new.customer_id, conductor.message_customer_id(new.phone_number));
        return new;
    end if;

    -- Outbound.
    new.status := coalesce(new.status, 'queued');
    if new.status not in ('queued', 'sent', 'failed', 'cancelled') then
        raise exception 'status: an outbound message is inserted as queued (or as sent, failed or cancelled '
            'to record history), not %', new.status
            using errcode = '22023',
                  hint = 'sending and outcome_unknown are set by the bridge functions.';
    end if;
    new.message_hash := coalesce(new.message_hash, 'outbound:' || new.id);
    new.customer_id := coalesce(new.customer_id, conductor.message_customer_id(new.phone_number));
    if new.in_reply_to is not null and not exists (
        select from public.messages as m
        where m.id = new.in_reply_to and m.direction = 'inbound' and m.phone_number = new.phone_number
    ) then
        raise exception 'in_reply_to: % is not an inbound message from %', new.in_reply_to, new.phone_number
            using errcode = '22023';
    end if;

    if new.status = 'queued' then
        perform conductor.require_outbound_content(new.content);
        perform conductor.lock_phone(new.phone_number);
        perform conductor.require_outbound_allowed(
            new.phone_number, conductor.is_marketing(new.message_kind, new.in_reply_to), new.id
        );
        new.next_attempt_at := coalesce(new.next_attempt_at, pg_catalog.now());
        if conductor.is_marketing(new.message_kind, new.in_reply_to) then
            new.next_attempt_at := conductor.marketing_send_time(
                new.next_attempt_at, conductor.recipient_time_zone(new.customer_id, new.phone_number)
            );
        end if;
        new.claimed_by := null;
        new.claimed_at := null;
        new.lease_expires_at := null;
        new.sent_at := null;
    elsif new.status = 'sent' then
        new.sent_at := coalesce(new.sent_at, new.timestamp);
    end if;
    return new;
end
$$;
comment on function conductor.tg_messages__prepare_insert() is
'Trigger: validates a new message (direction, status, kind, in_reply_to, content), computes message_hash '
'when absent, links customer_id by phone, and for a queued message refuses opted-out numbers and '
'marketing over the frequency cap (P0001) and moves marketing into the sending window.';

create function conductor.tg_messages__guard_update()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_allowed text[];
begin
    if new.direction is distinct from old.direction then
        raise exception 'direction: message % is %; direction cannot change', old.id, old.direction
            using errcode = '22023';
    end if;
    if new.message_hash is distinct from old.message_hash then
        raise exception 'message_hash: the duplicate-detection key of message % cannot change', old.id
            using errcode = '22023';
    end if;

    if old.direction = 'inbound' then
        if (new.phone_number, new.content, new.modem_timestamp) is distinct from
            (old.phone_number, old.content, old.modem_timestamp) then
            raise exception 'inbound message % is what was received: phone_number, content and modem_timestamp '
                'cannot change', old.id
                using errcode = '22023';
        end if;
        if new.status is distinct from old.status then
            if not (old.status = 'unread' and new.status = 'read') then
                raise exception 'status: inbound message % cannot go from % to %', old.id, old.status,
                    coalesce(new.status, 'null')
                    using errcode = '22023', hint = 'Inbound messages go from unread to read.';
            end if;
            new.read_at := coalesce(new.read_at, pg_catalog.now());
        end if;
        return new;
    end if;

    -- Outbound: only a queued message may be rewritten.
    if old.status <> 'queued'
        and (new.phone_number, new.content, new.message_kind, new.in_reply_to)
        is distinct from (old.phone_number, old.content, old.message_kind, old.in_reply_to) then
        raise exception 'outbound message % is %: only a queued message can be changed', old.id, old.status
            using errcode = '22023';
    end if;

    if new.status is distinct from old.status then
        v_allowed := case old.status
            when 'queued' then array['sending', 'cancelled']
            when 'sending' then array['sent', 'failed', 'queued', 'outcome_unknown']
            when 'outcome_unknown' then array['sent', 'failed', 'queued', 'cancelled']
            when 'failed' then array['queued']
            else array[]::text[]
        end;
        if new.status is null or not new.status = any(v_allowed) then
            raise exception 'status: outbound message % cannot go from % to %', old.id, old.status,
                coalesce(new.status, 'null')
                using errcode = '22023',
                      hint = case
                          when cardinality(v_allowed) = 0 then format('%s is final.', old.status)
                          else format('From %s it can go to: %s.', old.status, array_to_string(v_allowed, ', '))
                      end;
        end if;
        if new.status = 'sending' and (new.claimed_by is null or new.lease_expires_at is null) then
            raise exception 'status: sending is set by conductor.bridge_claim_outbound (claimed_by and '
                'lease_expires_at are required)'
                using errcode = '22023';
        end if;
        if new.status = 'sent' then
            new.sent_at := coalesce(new.sent_at, pg_catalog.now());
        end if;
        if new.status <> 'sending' then
            new.lease_expires_at := null;
        end if;
    end if;

    if new.status = 'queued'
        and (
            old.status <> 'queued'
            or (new.phone_number, new.message_kind, new.in_reply_to)
            is distinct from (old.phone_number, old.message_kind, old.in_reply_to)
        ) then
        -- Requeued, or re-addressed while queued: the rules apply again (the frequency cap only
        -- to a message that was not counted yet, i.e. one that changes number or becomes marketing).
        perform conductor.require_outbound_content(new.content);
        perform conductor.lock_phone(new.phone_number);
        perform conductor.require_outbound_allowed(
            new.phone_number,
            conductor.is_marketing(new.message_kind, new.in_reply_to)
            and old.status = 'queued'
            and (
                new.phone_number is distinct from old.phone_number
                or not conductor.is_marketing(old.message_kind, old.in_reply_to)
            ),
            new.id
        );
        if new.phone_number is distinct from old.phone_number then
            new.customer_id := conductor.message_customer_id(new.phone_number);
        end if;
        new.next_attempt_at := coalesce(new.next_attempt_at, pg_catalog.now());
        if conductor.is_marketing(new.message_kind, new.in_reply_to) then
            new.next_attempt_at := conductor.marketing_send_time(
                new.next_attempt_at, conductor.recipient_time_zone(new.customer_id, new.phone_number)
            );
        end if;
    elsif new.status = 'queued' and new.content is distinct from old.content then
        perform conductor.require_outbound_content(new.content);
    end if;
    return new;
end
$$;
comment on function conductor.tg_messages__guard_update() is
'Trigger: enforces the message status machine (22023 naming status on an invalid transition), keeps '
'received and sent messages unchanged, and applies the queue rules again when a message is requeued.';

create function conductor.tg_messages__notify_inserted()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.notify_outbound(
        array(
            select n.id from new_rows as n
            where n.direction = 'outbound' and n.status = 'queued'
            order by n.id
        )
    );
    return null;
end
$$;
comment on function conductor.tg_messages__notify_inserted() is
'Statement trigger: NOTIFY conductor_outbound for each outbound message inserted as queued.';

create function conductor.tg_messages__notify_requeued()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.notify_outbound(
        array(
            select n.id
            from new_rows as n
            inner join old_rows as o on n.id = o.id
            where n.direction = 'outbound' and n.status = 'queued' and o.status <> 'queued'
            order by n.id
        )
    );
    return null;
end
$$;
comment on function conductor.tg_messages__notify_requeued() is
'Statement trigger: NOTIFY conductor_outbound for each outbound message that became queued again.';

create function conductor.tg_opt_outs__cancel_queued()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    update public.messages as m
    set
        status = 'cancelled',
        error_code = 'opted_out',
        error_message = 'cancelled: the number opted out before it was sent'
    from new_rows as o
    where m.phone_number = o.phone_number
        and m.direction = 'outbound'
        and m.status = 'queued'
        and m.id is distinct from o.confirmation_message_id;
    return null;
end
$$;
comment on function conductor.tg_opt_outs__cancel_queued() is
'Statement trigger: an opt-out (by keyword or by an operator''s insert) cancels every message still '
'queued to the number except its confirmation.';

create function conductor.tg_customers__link_messages()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    -- A customer created (or given a phone) after texting: their messages are linked to them.
    if tg_op = 'INSERT' then
        update public.messages as m
        set customer_id = n.member_id
        from new_rows as n
        where m.phone_number = n.phone and m.customer_id is null;
    else
        update public.messages as m
        set customer_id = n.member_id
        from new_rows as n
        inner join old_rows as o on n.id = o.id
        where m.phone_number = n.phone and m.customer_id is null and n.phone is distinct from o.phone;
    end if;
    return null;
end
$$;
comment on function conductor.tg_customers__link_messages() is
'Statement trigger: messages from or to a phone with no customer yet are linked to the customer that '
'now has that phone (a new customer, or one whose phone changed).';
-- >>> sql/functions/messaging/compliance.sql
-- SMS consent handled in the database, inside the transaction that stores the inbound text:
-- an opt-out keyword (setting opt_out_keywords) opts the number out and queues exactly one
-- confirmation, however often it is repeated; an opt-in keyword (opt_in_keywords) from an
-- opted-out number opts it back in with a confirmation; a help keyword (help_keywords) gets
-- help_text. Every event is kept in conductor.consent_events.
-- Reads: conductor.settings. Writes: conductor.opt_outs, conductor.consent_events,
-- public.messages (the replies, and the cancellations through the opt_outs trigger).

create function conductor.inbound_keyword_action(p_phone_number text, p_content text)
returns text
stable
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_word text := conductor.sms_keyword(p_content);
begin
    if v_word is null then
        return null;
    end if;
    if exists (
        select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_out_keywords')) as k (word)
        where conductor.sms_keyword(k.word) = v_word
    ) then
        return 'opt_out';
    end if;
    -- Opt-in words are ordinary replies ("YES!" to an offer) unless the number is opted out.
    if conductor.is_opted_out(p_phone_number)
        and exists (
            select from pg_catalog.jsonb_array_elements_text(conductor.setting('opt_in_keywords')) as k (word)
            where conductor.sms_keyword(k.word) = v_word
        ) then
        return 'opt_in';
    end if;
    if exists (
        select from pg_catalog.jsonb_array_elements_text(conductor.setting('help_keywords')) as k (word)
        where conductor.sms_keyword(k.word) = v_word
    ) then
        return 'help';
    end if;
    return null;
end
$$;
comment on function conductor.inbound_keyword_action(text, text) is
'What an inbound text asks for: opt_out, opt_in (only from an opted-out number), help, or null for an '
'ordinary message. Keywords are whole texts, compared without case, spaces or punctuation.';

create function conductor.apply_consent_keyword(
    p_message_id bigint, p_phone_number text, p_action text, p_content text
)
returns bigint
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_keyword text := conductor.sms_keyword(p_content);
    v_reply_id bigint;
begin
    -- The caller holds conductor.lock_phone(p_phone_number): the state read here cannot change.
    if p_action = 'opt_out' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'opt_out', v_keyword, p_message_id);
        if not exists (select from conductor.opt_outs as o where o.phone_number = p_phone_number) then
            -- The confirmation is queued while the number may still receive it; the opt-out row
            -- then names it as the one message allowed through.
            insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
            values (
                p_phone_number, conductor.setting('opt_out_confirmation_text') #>> '{}', 'outbound', 'queued',
                'system', p_message_id
            )
            returning id into v_reply_id;
            insert into conductor.opt_outs (phone_number, keyword, source_message_id, confirmation_message_id)
            values (p_phone_number, v_keyword, p_message_id, v_reply_id);
        end if;
    elsif p_action = 'opt_in' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'opt_in', v_keyword, p_message_id);
        delete from conductor.opt_outs as o where o.phone_number = p_phone_number;
        insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
        values (
            p_phone_number, conductor.setting('opt_in_confirmation_text') #>> '{}', 'outbound', 'queued',
            'system', p_message_id
        )
        returning id into v_reply_id;
    elsif p_action = 'help' then
        insert into conductor.consent_events (phone_number, event, keyword, source_message_id)
        values (p_phone_number, 'help', v_keyword, p_message_id);
        -- Nothing but the opt-out confirmation ever goes to an opted-out number, not even help.
        if not conductor.is_opted_out(p_phone_number) then
            insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
            values (
                p_phone_number, conductor.setting('help_text') #>> '{}', 'outbound', 'queued', 'system',
                p_message_id
            )
            returning id into v_reply_id;
        end if;
    else
        raise exception 'p_action: must be opt_out, opt_in or help, not %', coalesce(p_action, 'null')
            using errcode = '22023';
    end if;
    return v_reply_id;
end
$$;
comment on function conductor.apply_consent_keyword(bigint, text, text, text) is
'Acts on a compliance keyword carried by inbound message p_message_id: records the consent event, '
'opts out (one confirmation, none if already opted out) or in, or queues the help text. Returns the '
'reply''s message id, or null when none was queued. The caller holds conductor.lock_phone.';
-- >>> sql/functions/messaging/reconcile.sql
-- Sends whose outcome nobody will report: a bridge that crashed (or lost its port or database)
-- after claiming a message and before recording the modem's answer. The message may or may not
-- have reached the network, so it becomes outcome_unknown and is never resent automatically
-- (Gammu resends here and duplicates). Run every minute by pg_cron (conductor_reconcile_stale_sends)
-- for expired leases, and by conductor.bridge_hello for the restarting bridge's own rows.
-- Writes: public.messages.

create function conductor.mark_sends_unknown(p_bridge_id text, p_error_code text, p_error_message text)
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_count integer;
begin
    update public.messages as m
    set
        status = 'outcome_unknown',
        error_code = p_error_code,
        error_message = p_error_message
    where m.status = 'sending'
        and m.direction = 'outbound'
        and (
            (p_bridge_id is null and m.lease_expires_at < pg_catalog.now())
            or m.claimed_by = p_bridge_id
        );
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function conductor.mark_sends_unknown(text, text, text) is
'Turns sends left open into outcome_unknown: those claimed by p_bridge_id, or (p_bridge_id null) those '
'whose lease expired. Returns how many.';

create function conductor.reconcile_stale_sends()
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor reconcile_stale_sends')) then
        return 0;
    end if;
    return conductor.mark_sends_unknown(
        null, 'lease_expired',
        'the bridge did not report the result before the lease expired; not resent automatically'
    );
end
$$;
comment on function conductor.reconcile_stale_sends() is
'pg_cron job conductor_reconcile_stale_sends: outbound messages still sending after their lease become '
'outcome_unknown (never resent automatically). Advisory-locked; returns how many.';
-- >>> sql/functions/messaging/campaigns.sql
-- Campaign dispatch and delivery flow-back. Every minute pg_cron (conductor_dispatch_campaigns)
-- moves due public.scheduled_messages into public.messages as queued marketing messages under
-- the queue's rules: an opted-out number or one over the frequency cap is 'skipped' with the
-- reason, and quiet hours only delay next_attempt_at. When the linked message changes status,
-- scheduled_messages and campaign_messages follow (statement trigger, set-based).
-- Reads: public.scheduled_messages, conductor.settings. Writes: public.messages,
-- public.scheduled_messages, public.campaign_messages.

create function conductor.dispatch_campaigns()
returns integer
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_batch integer := (conductor.setting('campaign_dispatch_batch_size') #>> '{}')::integer;
    v_due public.scheduled_messages;
    v_phone text;
    v_refusal text;
    v_outcome text;
    v_message_id bigint;
    v_queued integer := 0;
begin
    if not pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('conductor dispatch_campaigns')) then
        return 0;
    end if;
    for v_due in
        select s.*
        from public.scheduled_messages as s
        where s.status = 'scheduled' and s.scheduled_send_time <= pg_catalog.now()
        order by s.scheduled_send_time, s.id
        limit v_batch
        for update skip locked
    loop
        v_phone := v_due.phone_number;
        v_message_id := null;
        v_outcome := 'skipped';
        perform conductor.lock_phone(v_phone);
        v_refusal := conductor.outbound_refusal(v_phone, true);
        if v_refusal is null then
            begin
                insert into public.messages (phone_number, content, direction, status, message_kind, customer_id)
                values (v_phone, v_due.message_content, 'outbound', 'queued', 'marketing', v_due.customer_id)
                returning id into v_message_id;
            exception
                when raise_exception then
                    v_refusal := sqlerrm;  -- a queue rule refused it after all
                when others then
                    -- One bad row (empty or too long text, ...) never blocks the campaign.
                    v_refusal := sqlerrm;
                    v_outcome := 'failed';
            end;
        end if;

        if v_message_id is null then
            update public.scheduled_messages as s
            set status = v_outcome, error_message = v_refusal, delivery_status = null
            where s.id = v_due.id;
            continue;
        end if;
        update public.scheduled_messages as s
        set status = 'queued', message_id = v_message_id, delivery_status = 'queued', error_message = null
        where s.id = v_due.id;
        if v_due.campaign_message_id is not null then
            update public.campaign_messages as c
            set conductor_message_id = v_message_id, delivery_status = 'queued'
            where c.id = v_due.campaign_message_id;
        end if;
        v_queued := v_queued + 1;
    end loop;
    return v_queued;
end
$$;
comment on function conductor.dispatch_campaigns() is
'pg_cron job conductor_dispatch_campaigns: queues due scheduled_messages (status scheduled, '
'scheduled_send_time <= now) as marketing messages and links message_id (and the campaign_messages '
'draft''s conductor_message_id); an opted-out number or the frequency cap makes the row skipped with '
'error_message, a text the queue refuses (empty, too long) makes it failed; quiet hours delay '
'next_attempt_at. At most campaign_dispatch_batch_size rows per run. Advisory-locked; returns how many '
'were queued.';

create function conductor.tg_messages__campaign_status()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    if not exists (
        select from new_rows as n
        inner join old_rows as o on n.id = o.id
        where n.status is distinct from o.status
    ) then
        return null;
    end if;
    update public.scheduled_messages as s
    set
        delivery_status = n.status,
        status = case n.status
            when 'sent' then 'sent'
            when 'failed' then 'failed'
            when 'outcome_unknown' then 'outcome_unknown'
            when 'cancelled' then 'cancelled'
            else 'queued'
        end,
        actual_send_time = case when n.status = 'sent' then n.sent_at else s.actual_send_time end,
        error_message = case
            when n.status in ('failed', 'outcome_unknown', 'cancelled') then n.error_message
            else s.error_message
        end
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where s.message_id = n.id and n.status is distinct from o.status;

    update public.campaign_messages as c
    set
        delivery_status = n.status,
        status = case n.status when 'sent' then 'sent' when 'failed' then 'failed' else c.status end
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where c.conductor_message_id = n.id and n.status is distinct from o.status;
    return null;
end
$$;
comment on function conductor.tg_messages__campaign_status() is
'Statement trigger: when messages change status, the linked scheduled_messages (status, delivery_status, '
'actual_send_time, error_message) and campaign_messages (delivery_status; status sent or failed) follow.';

create function conductor.tg_scheduled_messages__cancel_message()
returns trigger
security definer
set search_path = ''
language plpgsql
as $$
begin
    -- Statement triggers fire for every statement, also one that changed nothing: return at
    -- once then, so this trigger and the flow-back from messages never feed each other.
    if not exists (
        select from new_rows as n
        inner join old_rows as o on n.id = o.id
        where n.message_id is not null and n.status = 'cancelled' and o.status is distinct from 'cancelled'
    ) then
        return null;
    end if;
    -- Cancelling a dispatched campaign row stops its message if it has not left yet.
    update public.messages as m
    set
        status = 'cancelled',
        error_code = 'campaign_cancelled',
        error_message = 'cancelled with its scheduled message'
    from new_rows as n
    inner join old_rows as o on n.id = o.id
    where m.id = n.message_id
        and n.status = 'cancelled'
        and o.status is distinct from 'cancelled'
        and m.status = 'queued';
    return null;
end
$$;
comment on function conductor.tg_scheduled_messages__cancel_message() is
'Statement trigger: a scheduled message set to cancelled cancels its linked message while still queued.';
-- >>> sql/functions/messaging/api.sql
-- The messaging RPC functions n8n calls (POST /rest/v1/rpc/<name> as service_role):
-- queue_sms queues an outbound text under every rule of the queue (the same rules apply to a
-- plain INSERT into public.messages), mark_messages_read marks inbound texts read.
-- Writes: public.messages.

create function public.queue_sms(
    phone_number text,
    content text,
    message_kind text default 'reply',
    in_reply_to bigint default null
)
returns bigint
volatile
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_variable
declare
    v_phone text := conductor.require_phone(phone_number, 'phone_number');
    v_id bigint;
begin
    if v_phone is null then
        raise exception 'phone_number: a destination number is required' using errcode = '22023';
    end if;
    if message_kind is null or message_kind not in ('reply', 'marketing', 'system') then
        raise exception 'message_kind: must be reply, marketing or system, not %', coalesce(message_kind, 'null')
            using errcode = '22023';
    end if;
    perform conductor.require_outbound_content(content);
    if in_reply_to is not null and not exists (
        select from public.messages as m
        where m.id = in_reply_to and m.direction = 'inbound' and m.phone_number = v_phone
    ) then
        raise exception 'in_reply_to: % is not an inbound message from %', in_reply_to, v_phone
            using errcode = '22023';
    end if;
    insert into public.messages (phone_number, content, direction, status, message_kind, in_reply_to)
    values (v_phone, content, 'outbound', 'queued', message_kind, in_reply_to)
    returning id into v_id;
    return v_id;
end
$$;
comment on function public.queue_sms(text, text, text, bigint) is
'Queues an SMS and returns its message id. phone_number: any common format (stored as E.164). '
'message_kind: reply (default), marketing or system; marketing without in_reply_to waits for the '
'sending window (quiet_hours_start..quiet_hours_end at the recipient''s time zone) and is refused over '
'the frequency cap. Refused with P0001 naming phone_number for an opted-out number; 22023 for empty or '
'too long content, an unknown kind, or an in_reply_to that is not an inbound message from that number.';

create function public.mark_messages_read(message_ids bigint[])
returns integer
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_bad bigint[];
    v_count integer;
begin
    if message_ids is null then
        raise exception 'message_ids: an array of message ids is required' using errcode = '22023';
    end if;
    select array_agg(i.id order by i.id) into v_bad
    from (select distinct u.id from pg_catalog.unnest(message_ids) as u (id)) as i
    where not exists (select from public.messages as m where m.id = i.id);
    if v_bad is not null then
        raise exception 'message_ids: no message with id %', array_to_string(v_bad, ', ')
            using errcode = 'P0002';
    end if;
    select array_agg(m.id order by m.id) into v_bad
    from public.messages as m
    where m.id = any(message_ids) and m.direction <> 'inbound';
    if v_bad is not null then
        raise exception 'message_ids: % not inbound; only inbound messages are marked read', array_to_string(v_bad, ', ')
            using errcode = '22023';
    end if;
    update public.messages as m
    set status = 'read', read_at = pg_catalog.now()
    where m.id = any(message_ids) and m.direction = 'inbound' and m.status = 'unread';
    get diagnostics v_count = row_count;
    return v_count;
end
$$;
comment on function public.mark_messages_read(bigint[]) is
'Marks inbound messages read (read_at = now) and returns how many changed (already read ones are left '
'alone). P0002 naming message_ids for unknown ids, 22023 for outbound ids.';
-- >>> sql/functions/bridge/session.sql
-- The modem bridge's session with the database: bridge_hello at start (registers the bridge,
-- closes what its previous run left open, returns the operating parameters) and
-- bridge_heartbeat (health and counters). Part of the bridge <-> SQL contract: the bridge calls
-- only conductor.bridge_* functions, as a role granted conductor_bridge.
-- Reads: conductor.installed_versions, conductor.settings. Writes: conductor.bridge_health,
-- public.messages.

create function conductor.require_bridge_id(p_bridge_id text)
returns text
immutable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_bridge_id is null or btrim(p_bridge_id) = '' then
        raise exception 'p_bridge_id: a bridge identity is required' using errcode = '22023';
    end if;
    return p_bridge_id;
end
$$;
comment on function conductor.require_bridge_id(text) is 'Raises 22023 naming p_bridge_id when it is empty.';

create function conductor.bridge_hello(p_bridge_id text, p_hostname text, p_port text, p_bridge_version text)
returns jsonb
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_version text;
begin
    perform conductor.require_bridge_id(p_bridge_id);
    select v.version into v_version
    from conductor.installed_versions as v
    order by v.installed_at desc, v.version desc
    limit 1;

    insert into conductor.bridge_health as h (
        bridge_id, hostname, port, bridge_version, started_at, last_seen_at, messages_received, messages_sent
    )
    values (p_bridge_id, p_hostname, p_port, p_bridge_version, pg_catalog.now(), pg_catalog.now(), 0, 0)
    on conflict (bridge_id) do update
        set
            hostname = excluded.hostname,
            port = excluded.port,
            bridge_version = excluded.bridge_version,
            started_at = excluded.started_at,
            last_seen_at = excluded.last_seen_at,
            messages_received = 0,
            messages_sent = 0;

    -- Whatever this bridge was sending when its previous run ended may or may not have gone out.
    perform conductor.mark_sends_unknown(
        p_bridge_id, 'bridge_restarted',
        'the bridge restarted while sending; not resent automatically'
    );

    return pg_catalog.jsonb_build_object(
        'package_version', v_version,
        'notify_channel', conductor.outbound_notify_channel(),
        'lease_seconds', (conductor.setting('send_lease_seconds') #>> '{}')::integer,
        'multipart_timeout_seconds', (conductor.setting('bridge_multipart_timeout_seconds') #>> '{}')::integer,
        'poll_seconds', (conductor.setting('bridge_poll_seconds') #>> '{}')::integer
    );
end
$$;
comment on function conductor.bridge_hello(text, text, text, text) is
'Bridge start: registers the bridge in conductor.bridge_health (started_at, counters reset), turns its '
'messages left in sending into outcome_unknown, and returns {package_version, notify_channel, '
'lease_seconds, multipart_timeout_seconds, poll_seconds}.';

create function conductor.bridge_heartbeat(
    p_bridge_id text,
    p_modem_state text,
    p_modem_model text,
    p_signal_quality smallint,
    p_last_error text,
    p_received_delta integer,
    p_sent_delta integer
)
returns void
volatile
security definer
set search_path = ''
language plpgsql
as $$
begin
    perform conductor.require_bridge_id(p_bridge_id);
    if coalesce(p_received_delta, 0) < 0 then
        raise exception 'p_received_delta: must not be negative, got %', p_received_delta using errcode = '22023';
    end if;
    if coalesce(p_sent_delta, 0) < 0 then
        raise exception 'p_sent_delta: must not be negative, got %', p_sent_delta using errcode = '22023';
    end if;
    insert into conductor.bridge_health as h (
        bridge_id, last_seen_at, modem_state, modem_model, signal_quality, messages_received, messages_sent,
        last_error, last_error_at
    )
    values (
        p_bridge_id, pg_catalog.now(), p_modem_state, p_modem_model, p_signal_quality,
        coalesce(p_received_delta, 0), coalesce(p_sent_delta, 0), p_last_error,
        case when p_last_error is not null then pg_catalog.now() end
    )
    on conflict (bridge_id) do update
        set
            last_seen_at = excluded.last_seen_at,
            modem_state = excluded.modem_state,
            modem_model = coalesce(excluded.modem_model, h.modem_model),
            signal_quality = excluded.signal_quality,
            messages_received = h.messages_received + excluded.messages_received,
            messages_sent = h.messages_sent + excluded.messages_sent,
            -- The last error stays until a different one is reported; its time is when it first appeared.
            last_error = coalesce(excluded.last_error, h.last_error),
            last_error_at = case
                when excluded.last_error is not null and excluded.last_error is distinct from h.last_error
                    then excluded.last_error_at
                else h.last_error_at
            end;
end
$$;
comment on function conductor.bridge_heartbeat(text, text, text, smallint, text, integer, integer) is
'Bridge heartbeat: last_seen_at, modem state, model, signal and last error in conductor.bridge_health; '
'the received and sent counters grow by the deltas (22023 when negative).';
-- >>> sql/functions/bridge/inbound.sql
-- Inbound SMS from the modem bridge, stored idempotently: the bridge calls this for each
-- complete message (multipart already joined), commits, and only then deletes the SIM slots,
-- so a crash in between makes it store the same SMS again, which changes nothing here.
-- In the same transaction: compliance keywords (STOP, START, HELP, ...) and the lead of a
-- number that is not a customer. Senders that are not phone numbers go to
-- conductor.other_sender_messages. Writes: public.messages, conductor.other_sender_messages,
-- conductor.opt_outs, conductor.consent_events, public.leads (through conductor.upsert_lead),
-- conductor.data_issues.

create function conductor.bridge_store_inbound(
    p_bridge_id text,
    p_sender text,
    p_content text,
    p_modem_timestamp timestamptz,
    p_modem_index integer,
    p_parts smallint
)
returns table (message_id bigint, is_new boolean)
volatile
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_column
declare
    v_content text := coalesce(p_content, '');
    v_phone text;
    v_hash text;
    v_action text;
    v_id bigint;
    v_customer_id text;
begin
    perform conductor.require_bridge_id(p_bridge_id);
    if p_sender is null or btrim(p_sender) = '' then
        raise exception 'p_sender: the sender of an inbound SMS is required' using errcode = '22023';
    end if;
    if p_parts is not null and p_parts < 1 then
        raise exception 'p_parts: must be at least 1, got %', p_parts using errcode = '22023';
    end if;

    v_phone := conductor.normalize_phone(p_sender);
    -- Without a network timestamp an SMS cannot be told apart from an identical one: it is kept
    -- (a duplicate is better than a lost message). PDU mode always carries one (TP-SCTS).
    v_hash := conductor.inbound_message_hash(coalesce(v_phone, btrim(p_sender)), p_modem_timestamp, v_content)
        || case when p_modem_timestamp is null then ':' || pg_catalog.gen_random_uuid()::text else '' end;

    if v_phone is null then
        insert into conductor.other_sender_messages (
            sender, content, modem_timestamp, received_by, modem_index, parts, message_hash
        )
        values (btrim(p_sender), v_content, p_modem_timestamp, p_bridge_id, p_modem_index, p_parts, v_hash)
        on conflict (message_hash) do nothing;
        return query select null::bigint, found;
        return;
    end if;

    perform conductor.lock_phone(v_phone);
    select m.id into v_id from public.messages as m where m.message_hash = v_hash;
    if found then
        return query select v_id, false;
        return;
    end if;

    v_action := conductor.inbound_keyword_action(v_phone, v_content);
    insert into public.messages (
        phone_number, content, modem_timestamp, direction, status, message_kind, message_hash, modem_index, parts
    )
    values (
        v_phone, v_content, p_modem_timestamp, 'inbound',
        -- A compliance keyword is answered here; nobody else needs to read it.
        case when v_action is null then 'unread' else 'read' end,
        'reply', v_hash, p_modem_index, p_parts
    )
    returning id, customer_id into v_id, v_customer_id;

    if v_action is not null then
        perform conductor.apply_consent_keyword(v_id, v_phone, v_action, v_content);
    elsif v_customer_id is null then
        begin
            perform conductor.upsert_lead(v_phone, v_content, 'sms'::text, coalesce(p_modem_timestamp, pg_catalog.now()));
        exception when others then
            -- The message is stored whatever happens to its lead; the problem is recorded.
            insert into conductor.data_issues (entity, business_key, field, bad_value, problem, action)
            values ('leads', v_phone, 'phone_number', v_phone, 'lead from inbound SMS ' || v_id || ': ' || sqlerrm, 'rejected');
        end;
    end if;
    return query select v_id, true;
end
$$;
comment on function conductor.bridge_store_inbound(text, text, text, timestamptz, integer, smallint) is
'Stores one complete inbound SMS idempotently (message_hash from sender, network timestamp and text): '
'returns (message_id, is_new); storing it again returns is_new = false and changes nothing. Applies '
'compliance keywords and creates or updates the lead of a number without a customer. A sender that is '
'not a phone number is kept in conductor.other_sender_messages and message_id is null.';
-- >>> sql/functions/bridge/outbound.sql
-- Outbound SMS through the modem bridge. The bridge claims one due message (the claim commits
-- status sending with a lease before AT+CMGS), sends it, and reports the result:
--   bridge_mark_sent     the modem answered +CMGS: <mr>;
--   bridge_mark_failed   the send certainly did not reach the network (+CMS/+CME ERROR, no "> "
--                        prompt, port lost before the PDU was written): retried with backoff when
--                        the code is transient (conductor.send_error_codes), failed when permanent
--                        or when the retries are used up;
--   bridge_mark_unknown  the PDU was handed over but no final answer came: outcome_unknown, never
--                        resent automatically.
-- bridge_next_due_at tells the bridge how long it may sleep when no NOTIFY arrives.
-- Reads: conductor.settings, conductor.send_error_codes, conductor.opt_outs. Writes: public.messages.

create function conductor.bridge_claim_outbound(p_bridge_id text)
returns table (message_id bigint, phone_number text, content text, attempt integer)
volatile
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_column
declare
    v_kind text;
    v_message public.messages;
    v_send_at timestamptz;
    v_lease integer := (conductor.setting('send_lease_seconds') #>> '{}')::integer;
begin
    perform conductor.require_bridge_id(p_bridge_id);
    -- Compliance replies first, then conversation replies, then marketing; oldest due first.
    foreach v_kind in array array['system', 'reply', 'marketing'] loop
        loop
            select m.* into v_message
            from public.messages as m
            where m.direction = 'outbound'
                and m.status = 'queued'
                and m.message_kind = v_kind
                and m.next_attempt_at <= pg_catalog.now()
            order by m.next_attempt_at, m.id
            limit 1
            for update skip locked;
            exit when not found;

            -- Checked again at the last moment: the number may have opted out since it was queued.
            if conductor.is_opted_out(v_message.phone_number, v_message.id) then
                update public.messages as m
                set
                    status = 'cancelled',
                    error_code = 'opted_out',
                    error_message = 'cancelled: the number opted out before it was sent'
                where m.id = v_message.id;
                continue;
            end if;
            -- A marketing message that became due outside the sending window (the bridge was
            -- down, or a backoff ran past the end) waits for the next window.
            if conductor.is_marketing(v_message.message_kind, v_message.in_reply_to) then
                v_send_at := conductor.marketing_send_time(
                    pg_catalog.now(),
                    conductor.recipient_time_zone(v_message.customer_id, v_message.phone_number)
                );
                if v_send_at > pg_catalog.now() then
                    update public.messages as m set next_attempt_at = v_send_at where m.id = v_message.id;
                    continue;
                end if;
            end if;

            update public.messages as m
            set
                status = 'sending',
                claimed_by = p_bridge_id,
                claimed_at = pg_catalog.now(),
                lease_expires_at = pg_catalog.now() + pg_catalog.make_interval(secs => v_lease)
            where m.id = v_message.id;
            return query select v_message.id, v_message.phone_number, v_message.content, v_message.retry_count + 1;
            return;
        end loop;
    end loop;
end
$$;
comment on function conductor.bridge_claim_outbound(text) is
'Claims at most one due outbound message (FOR UPDATE SKIP LOCKED; system, then reply, then marketing): '
'status sending with claimed_by, claimed_at and lease_expires_at. Returns (message_id, phone_number, '
'content, attempt), or no row when nothing is due. Commit the claim before AT+CMGS.';

create function conductor.bridge_next_due_at()
returns timestamptz
stable
security definer
set search_path = ''
language sql
as $$
    select min(d.next_attempt_at)
    from pg_catalog.unnest(array['system', 'reply', 'marketing']) as k (kind)
    cross join lateral (
        select m.next_attempt_at
        from public.messages as m
        where m.direction = 'outbound' and m.status = 'queued' and m.message_kind = k.kind
        order by m.next_attempt_at
        limit 1
    ) as d
$$;
comment on function conductor.bridge_next_due_at() is
'When the next queued outbound message becomes due (null when none): the bridge sleeps until then or '
'until a NOTIFY on conductor_outbound.';

-- The message as the reporting bridge may see it: it exists, is outbound and is claimed by it.
create function conductor.claimed_message(p_bridge_id text, p_message_id bigint)
returns public.messages
volatile
security invoker
set search_path = ''
language plpgsql
as $$
declare
    v_message public.messages;
begin
    perform conductor.require_bridge_id(p_bridge_id);
    select m.* into v_message from public.messages as m where m.id = p_message_id for update;
    if not found or v_message.direction <> 'outbound' then
        raise exception 'p_message_id: no outbound message %', coalesce(p_message_id::text, 'null')
            using errcode = 'P0002';
    end if;
    if v_message.claimed_by is distinct from p_bridge_id then
        raise exception 'p_message_id: message % is claimed by %, not by bridge %', p_message_id,
            coalesce(v_message.claimed_by, 'no bridge'), p_bridge_id
            using errcode = '55000';
    end if;
    return v_message;
end
$$;
comment on function conductor.claimed_message(text, bigint) is
'Locks and returns an outbound message claimed by the bridge; P0002 when there is none, 55000 when '
'another bridge (or none) claimed it.';

create function conductor.bridge_mark_sent(
    p_bridge_id text, p_message_id bigint, p_modem_reference integer, p_parts smallint
)
returns void
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
begin
    if v_message.status = 'sent' then
        return;  -- the same report again (the bridge retried after losing the connection)
    end if;
    -- outcome_unknown is accepted too: the answer came after the lease expired.
    if v_message.status not in ('sending', 'outcome_unknown') then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;
    if p_parts is not null and p_parts < 1 then
        raise exception 'p_parts: must be at least 1, got %', p_parts using errcode = '22023';
    end if;
    update public.messages as m
    set
        status = 'sent',
        sent_at = pg_catalog.now(),
        modem_timestamp = pg_catalog.now(),
        modem_reference = p_modem_reference,
        parts = p_parts
    where m.id = p_message_id;
end
$$;
comment on function conductor.bridge_mark_sent(text, bigint, integer, smallint) is
'Records that the modem accepted the message (+CMGS: <mr>): status sent, sent_at, modem_reference (of '
'the last part) and parts. Repeating the report changes nothing.';

create function conductor.bridge_mark_failed(
    p_bridge_id text, p_message_id bigint, p_error_code text, p_error_message text
)
returns text
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
    v_code text := btrim(p_error_code);
    v_permanent boolean;
    v_description text;
    v_retry integer;
    v_max integer := (conductor.setting('send_max_retries') #>> '{}')::integer;
    v_backoff jsonb := conductor.setting('send_backoff_seconds');
    v_status text;
    v_reason text;
begin
    if v_code is null or v_code = '' then
        raise exception 'p_error_code: an error code is required (CMS:<n>, CME:<n>, no_prompt, port_lost, encode_error)'
            using errcode = '22023';
    end if;
    if v_code ~* '^(cms|cme):' then
        v_code := upper(split_part(v_code, ':', 1)) || ':' || btrim(split_part(v_code, ':', 2));
    end if;
    if v_message.status in ('queued', 'failed') and v_message.lease_expires_at is null
        and v_message.error_code is not distinct from v_code and v_message.last_retry_at is not null then
        return v_message.status;  -- the same report again
    end if;
    if v_message.status not in ('sending', 'outcome_unknown') then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;

    select e.is_permanent, e.description into v_permanent, v_description
    from conductor.send_error_codes as e
    where e.code = v_code;
    v_permanent := coalesce(v_permanent, false);
    v_retry := v_message.retry_count + 1;

    perform conductor.lock_phone(v_message.phone_number);
    if v_permanent then
        v_status := 'failed';
        v_reason := 'permanent error';
    elsif v_retry > v_max then
        v_status := 'failed';
        v_reason := format('gave up after %s attempts (setting send_max_retries)', v_retry);
    elsif conductor.is_opted_out(v_message.phone_number, v_message.id) then
        v_status := 'failed';
        v_reason := 'not retried: the number opted out';
    else
        v_status := 'queued';
    end if;

    update public.messages as m
    set
        status = v_status,
        retry_count = v_retry,
        last_retry_at = pg_catalog.now(),
        error_code = v_code,
        error_message = concat_ws(
            ' - ', coalesce(nullif(btrim(p_error_message), ''), v_description), v_reason
        ),
        next_attempt_at = case
            when v_status = 'queued' then pg_catalog.now() + pg_catalog.make_interval(
                secs => coalesce(
                    (v_backoff ->> (least(v_retry, pg_catalog.jsonb_array_length(v_backoff)) - 1))::integer, 60
                )
            )
            else m.next_attempt_at
        end
    where m.id = p_message_id;
    return v_status;
end
$$;
comment on function conductor.bridge_mark_failed(text, bigint, text, text) is
'Records a send that certainly did not reach the network. Permanent codes (conductor.send_error_codes) '
'fail at once; other codes, also unknown ones, are retried after send_backoff_seconds up to '
'send_max_retries times. Returns the new status: queued or failed.';

create function conductor.bridge_mark_unknown(p_bridge_id text, p_message_id bigint, p_reason text)
returns void
volatile
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_message public.messages := conductor.claimed_message(p_bridge_id, p_message_id);
    v_reason text := coalesce(nullif(btrim(p_reason), ''), 'no final answer from the modem');
begin
    if v_message.status = 'outcome_unknown' then
        update public.messages as m
        set error_code = 'unconfirmed', error_message = v_reason
        where m.id = p_message_id and (m.error_code, m.error_message) is distinct from ('unconfirmed', v_reason);
        return;
    end if;
    if v_message.status <> 'sending' then
        raise exception 'p_message_id: message % is %, not sending', p_message_id, v_message.status
            using errcode = '55000';
    end if;
    update public.messages as m
    set status = 'outcome_unknown', error_code = 'unconfirmed', error_message = v_reason
    where m.id = p_message_id;
end
$$;
comment on function conductor.bridge_mark_unknown(text, bigint, text) is
'Records a send whose outcome is unknown (the PDU was handed to the modem, no final answer came): '
'status outcome_unknown, never resent automatically.';
-- >>> sql/triggers/messaging.sql
-- Triggers of the message flow (functions in sql/functions/messaging/). Row triggers run after
-- _100_normalize_phone, so they see E.164 numbers; statement triggers see whole statements
-- through transition tables (a campaign of thousands is one NOTIFY pass and one flow-back).
create trigger _200_prepare_insert before insert on public.messages
for each row execute function conductor.tg_messages__prepare_insert();
create trigger _200_guard_update before update on public.messages
for each row execute function conductor.tg_messages__guard_update();

create trigger _500_notify_inserted after insert on public.messages
referencing new table as new_rows
for each statement execute function conductor.tg_messages__notify_inserted();
create trigger _500_notify_requeued after update on public.messages
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_messages__notify_requeued();
create trigger _600_campaign_status after update on public.messages
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_messages__campaign_status();

create trigger _500_cancel_queued after insert on conductor.opt_outs
referencing new table as new_rows
for each statement execute function conductor.tg_opt_outs__cancel_queued();

create trigger _500_cancel_message after update on public.scheduled_messages
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_scheduled_messages__cancel_message();

create trigger _600_link_messages after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__link_messages();
create trigger _600_link_messages_on_update after update on public.customers
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_customers__link_messages();

-- Code: public RPC API for n8n.
-- >>> sql/functions/api/arguments.sql
-- Argument checks shared by the public RPC functions. (Which customer a phone stands for is
-- conductor.customer_for_phone, sql/functions/leads/linking.sql: the rule leads and messages use.)

-- A phone argument in E.164, or 22023 naming the argument (missing or not a phone number).
create function conductor.phone_argument(p_value text, p_argument text)
returns text
immutable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_value is null or btrim(p_value) = '' then
        raise exception '% is required', p_argument
            using errcode = '22023', hint = 'Pass the phone number, for example +16199773020.';
    end if;
    return conductor.require_phone(p_value, p_argument);
end
$$;
comment on function conductor.phone_argument(text, text) is
'E.164 form of a phone-number argument; raises 22023 naming the argument when it is missing or malformed.';

-- An integer argument within bounds, or 22023 naming the argument.
create function conductor.int_argument(p_value integer, p_argument text, p_min integer, p_max integer)
returns integer
immutable
security invoker
set search_path = ''
language plpgsql
as $$
begin
    if p_value is null or p_value < p_min or p_value > p_max then
        raise exception '% must be between % and %, got %', p_argument, p_min, p_max, coalesce(p_value::text, 'null')
            using errcode = '22023';
    end if;
    return p_value;
end
$$;
comment on function conductor.int_argument(integer, text, integer, integer) is
'The integer argument if it lies in [p_min, p_max]; else raises 22023 naming the argument.';
-- >>> sql/functions/api/get_customer_insights.sql
-- RPC for the inbound-SMS responder: everything the AI needs about the sender in one call.
-- Several customers may share a phone: conductor.customer_for_phone picks the most recent visitor
-- (the rule leads and messages use) and customers_sharing_phone says how many there are.
-- Reads: customer_sms_context, customers, conductor.opt_outs, conductor.open_leads.
create function public.get_customer_insights(phone_number text)
returns jsonb
stable
security definer
set search_path = ''
language plpgsql
as $$
declare
    v_phone text := conductor.phone_argument(get_customer_insights.phone_number, 'phone_number');
    v_member_id text := conductor.customer_for_phone(v_phone);
    v_context jsonb;
begin
    if v_member_id is null then
        -- No customer: still say whether the number may be texted and what lead it has.
        return jsonb_build_object(
            'found', false,
            'phone_number', v_phone,
            'customers_sharing_phone', 0,
            'opted_out', exists (select from conductor.opt_outs as o where o.phone_number = v_phone),
            'opted_out_at', (select o.opted_out_at from conductor.opt_outs as o where o.phone_number = v_phone),
            'open_lead', (
                select ol.lead from conductor.open_leads as ol
                where ol.phone_number = v_phone
                order by ol.updated_at desc, ol.id desc
                limit 1
            )
        );
    end if;

    select to_jsonb(v) into v_context
    from public.customer_sms_context as v
    where v.member_id = v_member_id;
    return jsonb_build_object('found', true, 'phone_number', v_phone) || v_context;
end
$$;
comment on function public.get_customer_insights(text) is
'Everything the AI needs about the customer with this phone, as one jsonb: found = true plus every column '
'of customer_sms_context (identity, tier, churn, RFM, LTV, visits and rhythm, loyalty points, '
'favorite_products, recent_purchases, favorite_category, preferred_location and preferred_budtender, '
'last purchase, opted_out, open_lead, customers_sharing_phone). When several customers share the phone, '
'the one with the most recent visit. Unknown phone: {"found": false, phone_number, customers_sharing_phone: '
'0, opted_out, opted_out_at, open_lead}. Missing or malformed phone_number: SQLSTATE 22023.';
-- >>> sql/functions/api/get_customer_top_products.sql
-- RPC: a customer's most purchased products, for recommendations in a reply.
-- Reads: customers, conductor.ranked_product_affinity (customer_product_affinity, products).
create function public.get_customer_top_products(phone_number text, max_products integer default 5)
returns table (
    product_rank integer,
    product_sku text,
    product_name text,
    brand text,
    category text,
    purchase_count integer,
    units_purchased integer,
    total_spent numeric,
    first_purchased date,
    last_purchased date,
    avg_price_paid numeric,
    repurchase_rate numeric
)
stable
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_column
declare
    v_phone text := conductor.phone_argument(get_customer_top_products.phone_number, 'phone_number');
    v_limit integer := conductor.int_argument(get_customer_top_products.max_products, 'max_products', 1, 100);
    v_member_id text := conductor.customer_for_phone(v_phone);
begin
    return query
    select
        r.product_rank::integer,
        r.product_sku,
        r.product_name,
        r.brand,
        r.category,
        r.purchase_count,
        r.units_purchased,
        r.total_spent,
        r.first_purchased,
        r.last_purchased,
        r.avg_price_paid,
        r.repurchase_rate
    from conductor.ranked_product_affinity as r
    where r.customer_id = v_member_id and r.product_rank <= v_limit
    order by r.product_rank;
end
$$;
comment on function public.get_customer_top_products(text, integer) is
'Top max_products (1-100, default 5) products of the customer with this phone (the one with the most '
'recent visit if several share it), ranked by purchase_count, then total_spent, then latest purchase. No '
'rows for an unknown phone; SQLSTATE 22023 for a missing or malformed phone_number or max_products out of range.';
-- >>> sql/functions/api/get_overdue_customers.sql
-- RPC: customers late against their own visit rhythm (today is at least min_days_late days past
-- their predicted next visit), most late first, for nudges. Only numbers that may be texted.
-- Reads: customer_visit_patterns, customer_sms_context.
create function public.get_overdue_customers(min_days_late integer default 7, max_rows integer default 50)
returns table (
    customer_id text,
    name text,
    phone text,
    vip_status text,
    churn_risk text,
    last_visited date,
    days_since_last_visit integer,
    total_visits integer,
    avg_days_between_visits numeric,
    visit_consistency_score numeric,
    predicted_next_visit date,
    days_late integer,
    lifetime_value numeric,
    favorite_category text,
    preferred_budtender text
)
stable
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_column
declare
    v_min_days_late integer := conductor.int_argument(
        get_overdue_customers.min_days_late, 'min_days_late', 0, 36500
    );
    v_limit integer := conductor.int_argument(get_overdue_customers.max_rows, 'max_rows', 1, 1000);
    v_today date := conductor.store_today();
begin
    return query
    select
        v.member_id,
        v.name,
        v.phone,
        v.vip_status,
        v.churn_risk,
        v.last_visited,
        v.days_since_last_visit,
        v.total_visits,
        v.avg_days_between_visits,
        v.visit_consistency_score,
        v.predicted_next_visit,
        v.days_late,
        v.lifetime_value,
        v.favorite_category,
        v.preferred_budtender
    from public.customer_visit_patterns as p
    inner join public.customer_sms_context as v on p.customer_id = v.member_id
    where
        p.predicted_next_visit <= v_today - v_min_days_late
        and v.phone is not null
        and not v.opted_out
    order by v.days_late desc, v.member_id asc
    limit v_limit;
end
$$;
comment on function public.get_overdue_customers(integer, integer) is
'Customers whose predicted next visit (last visit + their mean gap) is at least min_days_late days '
'(0-36500, default 7) before today, with a phone that has not opted out; most days late first, at most '
'max_rows (1-1000, default 50). One row per customer. SQLSTATE 22023 for arguments out of range.';
-- >>> sql/functions/api/get_win_back_targets.sql
-- RPC for the daily win-back run: the win-back queue page by page, dropping anyone who opted
-- out, changed phone or visited since the queue was refreshed.
-- Reads: win_back_priority_queue, customers, conductor.opt_outs.
create function public.get_win_back_targets(page integer default 1, page_size integer default 50)
returns table (
    priority_rank bigint,
    customer_id text,
    name text,
    phone text,
    email text,
    vip_status text,
    churn_risk text,
    last_visited date,
    days_since_last_visit integer,
    total_visits integer,
    lifetime_value numeric,
    loyalty_points numeric,
    win_back_score numeric,
    favorite_category text,
    recommended_offer text,
    customers_sharing_phone integer
)
stable
security definer
set search_path = ''
language plpgsql
as $$
#variable_conflict use_column
declare
    v_page integer := conductor.int_argument(get_win_back_targets.page, 'page', 1, 1000000);
    v_page_size integer := conductor.int_argument(get_win_back_targets.page_size, 'page_size', 1, 1000);
    v_today date := conductor.store_today();
begin
    return query
    select
        q.priority_rank,
        q.customer_id,
        q.name,
        q.phone,
        q.email,
        q.vip_status,
        q.churn_risk,
        q.last_visited,
        greatest(v_today - q.last_visited, 0),
        q.total_visits,
        q.lifetime_value,
        q.loyalty_points,
        q.win_back_score,
        q.favorite_category,
        q.recommended_offer,
        q.customers_sharing_phone
    from public.win_back_priority_queue as q
    inner join public.customers as c
        on
            q.customer_id = c.member_id
            and q.phone = c.phone
            and q.last_visited is not distinct from c.last_visited
    where not exists (select from conductor.opt_outs as o where o.phone_number = q.phone)
    order by q.priority_rank
    offset (v_page - 1)::bigint * v_page_size
    limit v_page_size;
end
$$;
comment on function public.get_win_back_targets(integer, integer) is
'Page page (from 1) of page_size rows (1-1000, default 50) of win_back_priority_queue in priority order, '
'leaving out numbers that opted out and customers who visited or changed phone since its last refresh '
'(days_since_last_visit is as of today). SQLSTATE 22023 for arguments out of range.';

-- Schedules.
-- >>> sql/cron/begin.sql
-- The pg_cron jobs this install wants; each file in sql/cron adds its job here and
-- sql/cron/sync.sql makes cron.job match.
create temporary table conductor_cron_jobs (
    job_name text primary key,
    schedule text not null,
    command text not null
) on commit drop;
-- one file per job here
-- >>> sql/cron/nightly_refresh.sql
-- conductor_nightly_refresh: brings the clock-dependent customer values (days since the last
-- visit, churn, RFM recency, lead score and segment, deviation from the predicted visit) to the
-- store's today. pg_cron schedules in UTC while the store's midnight depends on its time zone
-- setting and daylight saving, so the job runs every hour: the first run after the store's
-- midnight writes the day's changes, the other runs find nothing to change and write nothing.
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_nightly_refresh', '5 * * * *', 'select conductor.nightly_refresh()');
-- >>> sql/cron/refresh_win_back.sql
-- conductor_refresh_win_back: refreshes public.win_back_priority_queue concurrently every hour,
-- ten minutes after conductor_nightly_refresh (which also refreshes it when the day's values change).
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_refresh_win_back', '15 * * * *', 'select conductor.refresh_win_back()');
-- >>> sql/cron/reconcile_stale_sends.sql
-- Every minute: sends whose lease expired become outcome_unknown.
insert into conductor_cron_jobs values
('conductor_reconcile_stale_sends', '* * * * *', 'select conductor.reconcile_stale_sends()');
-- >>> sql/cron/dispatch_campaigns.sql
-- Every minute: due scheduled campaign messages are queued into public.messages.
insert into conductor_cron_jobs values
('conductor_dispatch_campaigns', '* * * * *', 'select conductor.dispatch_campaigns()');
-- >>> sql/cron/refresh_activity_timeline.sql
-- conductor_refresh_activity_timeline: refreshes public.customer_activity_timeline concurrently
-- every hour (get_customer_timeline reads what changed since from the base tables, so the
-- AI is never behind; the hourly refresh keeps that part small).
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_refresh_activity_timeline', '25 * * * *', 'select conductor.refresh_activity_timeline()');
-- >>> sql/cron/cleanup_cron_history.sql
-- conductor_cleanup_cron_history: every night at 03:35 UTC, cron.job_run_details older than
-- the cron_history_retention_days setting is deleted.
insert into conductor_cron_jobs (job_name, schedule, command)
values ('conductor_cleanup_cron_history', '35 3 * * *', 'select conductor.cleanup_cron_history()');
-- >>> sql/cron/sync.sql
-- Makes pg_cron's job list match conductor_cron_jobs: cron.schedule is an upsert by job name,
-- so installing twice changes nothing; conductor_* jobs no longer wanted are unscheduled.
-- Where pg_cron is not installed in this database (it lives in one database per cluster) the
-- install creates it when this is the cron database, and otherwise skips scheduling with a
-- notice. Never writes cron.job directly (Supabase forbids it).
do $sync$
declare
    v_job record;
begin
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron')
        and exists (select from pg_catalog.pg_available_extensions where name = 'pg_cron')
        and current_setting('cron.database_name', true) = current_database() then
        create extension pg_cron with schema pg_catalog;
    end if;
    if not exists (select from pg_catalog.pg_extension where extname = 'pg_cron') then
        raise notice 'pg_cron is not installed in database %: no jobs scheduled', current_database();
        return;
    end if;
    for v_job in select job_name, schedule, command from conductor_cron_jobs order by job_name loop
        perform cron.schedule(v_job.job_name, v_job.schedule, v_job.command);
    end loop;
    for v_job in
        select j.jobid
        from cron.job as j
        where j.jobname like 'conductor\_%'
            and j.jobname not in (select job_name from conductor_cron_jobs)
    loop
        perform cron.unschedule(v_job.jobid);
    end loop;
end
$sync$;

-- Registry, privileges, version.
-- >>> sql/lib/finish.sql
-- Closes every install: registers the code objects this install created in public, and
-- records the installed version. Writes: conductor.package_objects, conductor.installed_versions.
insert into conductor.package_objects (object_kind, object_identity)
select
    'function' as object_kind,
    p.oid::regprocedure::text as object_identity
from pg_catalog.pg_proc as p
where p.pronamespace = 'public'::regnamespace
union
select
    case c.relkind when 'v' then 'view' else 'materialized view' end as object_kind,
    c.oid::regclass::text as object_identity
from pg_catalog.pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
except
select
    object_kind,
    object_identity
from conductor_public_before
on conflict do nothing;

insert into conductor.installed_versions (version) values ('0.1.0')
on conflict (version) do nothing;
-- >>> sql/lib/grants.sql
-- Privileges, applied last and all in one place. Safe by default on Supabase: anon and
-- authenticated get nothing (whatever default privileges granted them), service_role (what n8n
-- uses) gets the package's tables, views and RPC functions in public, and nobody but the owner
-- reaches the conductor schema. Reads: conductor.package_objects.
revoke all on schema conductor from public, anon, authenticated, service_role;
revoke all on all tables in schema conductor from public, anon, authenticated, service_role;
revoke all on all sequences in schema conductor from public, anon, authenticated, service_role;
revoke all on all functions in schema conductor from public, anon, authenticated, service_role;

do $grants$
declare
    v_object record;
    v_sequence text;
begin
    for v_object in
        select object_kind, object_identity
        from conductor.package_objects
        where object_kind <> 'function' and object_identity like 'public.%'
    loop
        execute format('revoke all on table %s from public, anon, authenticated', v_object.object_identity);
        if v_object.object_kind = 'table' then
            execute format(
                'grant select, insert, update, delete on table %s to service_role', v_object.object_identity
            );
            for v_sequence in
                select pg_catalog.pg_get_serial_sequence(v_object.object_identity, a.attname)
                from pg_catalog.pg_attribute as a
                where a.attrelid = v_object.object_identity::regclass and a.attidentity <> ''
            loop
                execute format('revoke all on sequence %s from public, anon, authenticated', v_sequence);
                execute format('grant usage, select on sequence %s to service_role', v_sequence);
            end loop;
        else
            execute format('revoke all on table %s from service_role', v_object.object_identity);
            execute format('grant select on table %s to service_role', v_object.object_identity);
        end if;
    end loop;

    for v_object in
        select object_identity from conductor.package_objects where object_kind = 'function'
    loop
        execute format(
            'revoke all on function %s from public, anon, authenticated', v_object.object_identity
        );
        execute format('grant execute on function %s to service_role', v_object.object_identity);
    end loop;
end
$grants$;

-- The modem bridge: a NOLOGIN role with USAGE on conductor and EXECUTE on exactly the functions
-- of the bridge <-> SQL contract (all SECURITY DEFINER with search_path ''). An operator runs the
-- bridge as a login role granted conductor_bridge instead of the owner. Cluster-wide like the
-- Supabase roles: created when missing, kept by uninstall.
do $bridge_role$
begin
    if not exists (select from pg_catalog.pg_roles where rolname = 'conductor_bridge') then
        create role conductor_bridge nologin;
        comment on role conductor_bridge is
        'Conductor modem bridge: may call the conductor.bridge_* functions and nothing else.';
    end if;
end
$bridge_role$;
revoke all on all tables in schema conductor from conductor_bridge;
revoke all on all sequences in schema conductor from conductor_bridge;
revoke all on all functions in schema conductor from conductor_bridge;
grant usage on schema conductor to conductor_bridge;
grant execute on function
conductor.bridge_hello(text, text, text, text),
conductor.bridge_store_inbound(text, text, text, timestamptz, integer, smallint),
conductor.bridge_claim_outbound(text),
conductor.bridge_next_due_at(),
conductor.bridge_mark_sent(text, bigint, integer, smallint),
conductor.bridge_mark_failed(text, bigint, text, text),
conductor.bridge_mark_unknown(text, bigint, text),
conductor.bridge_heartbeat(text, text, text, smallint, text, integer, integer)
to conductor_bridge;

-- public.customer_purchase_history and public.customer_spending_analysis (security_invoker views
-- service_role reads) call this function for the store's time zone, today and the trend
-- settings: service_role may execute it. It is security definer and returns those values only.
grant execute on function conductor.reporting_parameters() to service_role;
