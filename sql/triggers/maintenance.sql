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

-- Runs at commit (or at SET CONSTRAINTS ... IMMEDIATE): affinity deferred by the insert trigger above.
create constraint trigger _500_apply_at_commit after insert on conductor.pending_affinity_refresh
deferrable initially deferred
for each row when (new.wakes_at_commit)
execute function conductor.tg_pending_affinity_refresh__apply();

create trigger _500_invalidate_context_on_insert after insert on public.products
referencing new table as new_rows
for each statement execute function conductor.tg_products__invalidate_context();
create trigger _500_invalidate_context_on_update after update on public.products
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_products__invalidate_context();
create trigger _500_invalidate_context_on_delete after delete on public.products
referencing old table as old_rows
for each statement execute function conductor.tg_products__invalidate_context();

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
