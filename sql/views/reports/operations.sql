-- Operations reports of seed 003's dashboards: staff performance by month, and the seed's own
-- campaign and strategy effectiveness queries, reproduced as written (public.staff holds the
-- maintained staff totals). Campaign lift and revenue after a text are the attribution reports'.
-- security_invoker: the reader's own privileges apply (service_role). Reads: transactions,
-- scheduled_messages, conductor.reporting_parameters() (time zone).

create view public.report_staff_by_month
with (security_invoker = true)
as
with parameters as materialized (
    select p.time_zone from conductor.reporting_parameters() as p
)

select
    t.staff_name,
    t.shop_location,
    date_trunc('month', (t.date at time zone parameters.time_zone))::date as month,
    count(*) filter (where t.transaction_type = 'sale') as transactions,
    coalesce(sum(t.total_amount) filter (where t.transaction_type = 'sale'), 0) as total_sales,
    round(avg(t.total_amount) filter (where t.transaction_type = 'sale'), 2) as avg_transaction,
    count(*) filter (where t.transaction_type = 'refund') as refunds,
    coalesce(-sum(t.total_amount) filter (where t.transaction_type = 'refund'), 0) as refunded
from public.transactions as t
cross join parameters
where t.status = 'completed' and t.staff_name is not null and btrim(t.staff_name) <> ''
group by t.staff_name, t.shop_location, date_trunc('month', (t.date at time zone parameters.time_zone))::date;
comment on view public.report_staff_by_month is
'Seed 003''s staff performance by month, over completed transactions and store months: sale transactions, '
'total_sales and avg_transaction (sales only), refunds and refunded dollars, per staff member and location.';

create view public.report_campaign_effectiveness
with (security_invoker = true)
as
select
    s.campaign_name,
    count(*) as messages_sent,
    count(distinct s.customer_id) as unique_customers,
    sum(case when s.delivery_status = 'delivered' then 1 else 0 end) as delivered,
    sum(case when s.status = 'sent' then 1 else 0 end) as sent,
    sum(s.generation_cost) as total_cost,
    avg(s.generation_cost) as avg_cost_per_message
from public.scheduled_messages as s
where s.campaign_name is not null
group by s.campaign_name;
comment on view public.report_campaign_effectiveness is
'Seed 003''s "Campaign Effectiveness", as written: per campaign_name, the scheduled rows (messages_sent, as the '
'seed names them), unique customers, rows delivered and sent, total and average generation_cost.';

create view public.report_strategy_effectiveness
with (security_invoker = true)
as
select
    s.strategy_type,
    count(*) as messages,
    avg(s.confidence_score::numeric) as avg_confidence,
    sum(case when s.delivery_status = 'delivered' then 1 else 0 end) as delivered,
    sum(s.generation_cost) as total_cost
from public.scheduled_messages as s
where s.strategy_type is not null
group by s.strategy_type;
comment on view public.report_strategy_effectiveness is
'Seed 003''s "Strategy Effectiveness", as written: per strategy_type, the scheduled rows, average '
'confidence_score, rows delivered and total generation_cost.';
