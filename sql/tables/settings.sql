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
    'default_offer', '"$10 off next purchase"',
    'Win-back offer for customers whose favourite category has no row in conductor.offers'
)
on conflict (key) do nothing;
-- Seed 000's ELSE offer is "$10 off next purchase"; installs before this one wrote another text.
-- Only a row still holding that earlier default is brought to the seed's; an owner's text stays.
update conductor.settings
set value = '"$10 off next purchase"', updated_at = now()
where key = 'default_offer' and value = '"$10 off your next purchase"';

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

-- Messaging compliance: natural-language revocations (conductor.consent_phrases), the window of
-- compliance replies, and what a marketing text that answers the customer may skip.
insert into conductor.settings (key, value, description) values
(
    'natural_opt_out_confirmation_text',
    '"MoTa: We read your message as a request to stop texts, so you will get no more messages from us. If we got that wrong, reply START."',
    'The one reply sent when a text that is not a bare keyword opts the number out ("please stop texting me"): '
    'a confirmation that also lets the customer correct us, never marketing'
),
(
    'compliance_reply_window_minutes', '5',
    'Confirmations and help replies are queued only for texts received (messages.timestamp) within this many '
    'minutes; an older text (stored late, imported history) still opts out or in but gets no reply. 47 CFR '
    '64.1200(a)(12) presumes an opt-out confirmation sent within five minutes'
),
(
    'reply_window_hours', '24',
    'A marketing text with in_reply_to (exempt from quiet hours and the frequency cap) must answer an inbound '
    'text from the same number received within this many hours'
),
(
    'marketing_replies_per_inbound', '1',
    'Most marketing texts that may answer one inbound text exempt from quiet hours and the frequency cap'
)
on conflict (key) do nothing;

-- Derived customer data: the weights of the seeds' win-back score.
insert into conductor.settings (key, value, description) values
(
    'win_back_score_weights', '{"lifetime_value": 0.3, "visit": 2, "recency": 30, "loyalty_point": 0.2}',
    'win_back_score = lifetime_value x lifetime_value + total_visits x visit + recency / days since the last '
    'visit + loyalty_points x loyalty_point (the seeds'' 0.3, 10 x 0.2, 100 x 0.3 and 0.2)'
),
(
    'win_back_min_days_since_last_visit', '30',
    'The win-back queue takes lapsed customers whose days since the last visit are more than this (seed 000: '
    'days_since_last_visit > 30)'
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

-- Reports and attribution: the window a visit or a reply counts for a text, what a text costs, the
-- share of each campaign's audience held back as a control group and the smallest group a lift
-- verdict is given for.
insert into conductor.settings (key, value, description) values
(
    'attribution_window_days', '7',
    'A visit (completed sale), its revenue and an inbound reply count for a text when they fall within this many '
    'days after it'
),
(
    'sms_cost_per_message', '0',
    'What one sent text costs in dollars (carrier or plan cost per SMS); added to the generation cost in the '
    'attribution reports'
),
(
    'campaign_holdout_share', '0',
    'Share (0 to below 1) of each campaign''s eligible audience held back and not texted, as the control group '
    'of the lift report; the same campaign and phone always land in the same group. 0 sends to everyone; 0.1 '
    'is a usual choice. public.campaign_holdouts overrides it per campaign'
),
(
    'attribution_min_group_size', '30',
    'campaign_lift gives no verdict (too_small_to_tell) unless the texted and the held-out group both have at '
    'least this many recipients'
)
on conflict (key) do nothing;
