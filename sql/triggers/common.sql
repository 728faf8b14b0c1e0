-- Row triggers every table shares: updated_at maintenance and E.164 phone normalization.
-- Named with a number prefix so their firing order is explicit (_100 before _500).
-- updated_at moves when a row changes, unless the statement set it itself: the package's bulk
-- writers do (updated_at = now()), so the trigger function is not called for their rows, and the
-- cheap updated_at comparison comes first so their rows skip the whole-row comparison too.
create trigger _900_set_updated_at before update on public.customers
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.products
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.staff
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.transactions
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.transaction_items
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.messages
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.leads
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.customer_visit_patterns
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.customer_product_affinity
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.scheduled_messages
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.campaign_messages
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.campaign_holdouts
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on public.budtenders
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();
create trigger _900_set_updated_at before update on conductor.settings
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();

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
