-- Conductor install manifest: the only place that fixes what is installed and in what order.
-- Run as one transaction: psql --single-transaction -v ON_ERROR_STOP=1 \
--   -v conductor_version=$(cat VERSION) -f sql/install.sql
-- State (sql/tables) only ever grows convergently; everything else is dropped and re-created.

\ir lib/begin.sql
\ir lib/drop_code_layer.sql

-- State: tables, indexes, default settings.
\ir tables/package.sql
\ir tables/settings.sql
\ir tables/customers.sql
\ir tables/products.sql
\ir tables/staff.sql
\ir tables/transactions.sql
\ir tables/transaction_items.sql
\ir tables/messages.sql
\ir tables/leads.sql
\ir tables/customer_visit_patterns.sql
\ir tables/customer_product_affinity.sql
\ir tables/campaign_messages.sql
\ir tables/scheduled_messages.sql
\ir tables/budtenders.sql
\ir tables/opt_outs.sql
\ir tables/consent_phrases.sql
\ir tables/data_issues.sql
\ir tables/import_staging.sql
\ir tables/bridge_health.sql
\ir tables/send_error_codes.sql
\ir tables/other_sender_messages.sql
\ir tables/inbound_parts.sql
\ir tables/pending_affinity_refresh.sql
\ir tables/derived_revisions.sql
\ir tables/stale_materialized_views.sql
\ir tables/blaze_sync.sql
\ir tables/lifetime_value.sql
\ir tables/campaign_holdouts.sql
\ir tables/lead_score_history.sql
\ir tables/customer_context.sql

-- Code: private functions first, then triggers, views and the public API.
\ir functions/common/setting.sql
\ir functions/common/error_text.sql
\ir functions/common/phone.sql
\ir functions/common/updated_at.sql
\ir triggers/common.sql

-- Code: import path (staging -> upsert by business key).
\ir functions/import/parse.sql
\ir functions/import/batch.sql
\ir functions/import/import_products.sql
\ir functions/import/import_customers.sql
\ir functions/import/import_staff.sql
\ir functions/import/import_transactions.sql
\ir functions/import/import_transaction_items.sql
\ir functions/import/import_all.sql

-- Code: derived customer data (metrics, affinity, visit patterns, RFM, staff, win-back).
\ir functions/metrics/planner_statistics.sql
\ir functions/metrics/customers.sql
\ir functions/metrics/visit_patterns.sql
\ir views/product_affinity_from_sales.sql
\ir functions/metrics/product_affinity.sql
\ir functions/metrics/staff.sql
\ir functions/metrics/win_back.sql
\ir functions/metrics/customer_context.sql
\ir functions/metrics/nightly_refresh.sql
\ir functions/metrics/rebuild.sql
\ir functions/metrics/maintenance.sql
\ir triggers/maintenance.sql
\ir views/customer_scores.sql
\ir views/customer_sms_context.sql
\ir views/win_back_priority_queue.sql

-- Code: probabilistic lifetime value (BG/NBD and Gamma-Gamma fitted in the database).
\ir functions/prediction/special_functions.sql
\ir functions/prediction/nelder_mead.sql
\ir functions/prediction/bgnbd.sql
\ir functions/prediction/gamma_gamma.sql
\ir functions/prediction/lifetime_value.sql

-- Code: leads, activity timeline, reporting views.
\ir functions/leads/linking.sql
\ir functions/leads/upsert_lead.sql
\ir triggers/leads.sql
\ir triggers/customer_context.sql
\ir functions/timeline/activity_rows.sql
\ir views/customer_activity_timeline.sql
\ir functions/timeline/refresh_activity_timeline.sql
\ir functions/timeline/get_customer_timeline.sql
\ir functions/timeline/reporting_parameters.sql
\ir views/customer_purchase_history.sql
\ir views/customer_spending_analysis.sql
\ir functions/maintenance/cleanup_cron_history.sql

-- Code: the dashboards' reports (views in public) and the lead-score history behind their trend.
\ir functions/history/lead_score_history.sql
\ir views/reports/revenue.sql
\ir views/reports/customers.sql
\ir views/reports/products.sql
\ir views/reports/operations.sql
\ir views/reports/marketing.sql

-- Code: messaging (queue, compliance, campaigns, bridge functions).
\ir functions/messaging/rules.sql
\ir functions/messaging/revocation.sql
\ir functions/messaging/message_triggers.sql
\ir functions/messaging/compliance.sql
\ir functions/messaging/reconcile.sql
\ir functions/reports/holdout.sql
\ir functions/messaging/campaigns.sql
\ir functions/messaging/api.sql
\ir functions/bridge/session.sql
\ir functions/bridge/inbound.sql
\ir functions/bridge/outbound.sql
\ir triggers/messaging.sql

-- Code: reports and attribution (campaign and flow attribution, holdout lift, response rates, contact times).
\ir functions/reports/statistics.sql
\ir functions/reports/attribution.sql
\ir functions/reports/campaign_lift.sql
\ir functions/reports/campaign_response_rates.sql
\ir functions/reports/best_contact_times.sql

-- Code: public RPC API for n8n.
\ir functions/api/arguments.sql
\ir functions/api/get_customer_insights.sql
\ir functions/api/get_customer_top_products.sql
\ir functions/api/get_overdue_customers.sql
\ir functions/api/get_win_back_targets.sql
\ir functions/blaze/values.sql
\ir functions/blaze/blaze_sync_next.sql
\ir functions/blaze/blaze_sync_page.sql

-- Derived tables whose formulas changed since their rows were written are recomputed.
\ir lib/converge_derived.sql

-- Schedules.
\ir cron/begin.sql
-- one file per job here
\ir cron/nightly_refresh.sql
\ir cron/refresh_win_back.sql
\ir cron/refresh_customer_context.sql
\ir cron/reconcile_stale_sends.sql
\ir cron/dispatch_campaigns.sql
\ir cron/refresh_activity_timeline.sql
\ir cron/cleanup_cron_history.sql
\ir cron/fit_lifetime_value_models.sql
\ir cron/record_lead_score_history.sql
\ir cron/sync.sql

-- Registry, privileges, version.
\ir lib/finish.sql
\ir lib/grants.sql
