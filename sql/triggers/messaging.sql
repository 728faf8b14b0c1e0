-- Triggers of the message flow (functions in sql/functions/messaging/). Row triggers run after
-- _100_normalize_phone, so they see E.164 numbers; statement triggers see whole statements
-- through transition tables (a campaign of thousands is one NOTIFY pass and one flow-back).
create trigger _200_prepare_insert before insert on public.messages
for each row execute function conductor.tg_messages__prepare_insert();
create trigger _200_guard_update before update on public.messages
for each row execute function conductor.tg_messages__guard_update();

-- Every inbound row, whoever inserts it, goes through the consent rules (keywords, revocations).
create trigger _400_apply_consent after insert on public.messages
for each row when (new.direction = 'inbound') execute function conductor.tg_messages__apply_consent();

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

create trigger _100_normalize_phone before insert or update of phone_number on conductor.opt_out_reviews
for each row execute function conductor.tg_normalize_phone('phone_number');
create trigger _500_cancel_marketing after insert on conductor.opt_out_reviews
referencing new table as new_rows
for each statement execute function conductor.tg_opt_out_reviews__cancel_marketing();
create trigger _900_set_updated_at before update on conductor.opt_out_reviews
for each row when (old.updated_at is not distinct from new.updated_at and old.* is distinct from new.*)
execute function conductor.tg_set_updated_at();

create trigger _100_normalize before insert or update of phrase on conductor.consent_phrases
for each row execute function conductor.tg_consent_phrases__normalize();

create trigger _500_cancel_message after update on public.scheduled_messages
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_scheduled_messages__cancel_message();

create trigger _600_link_messages after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__link_messages();
create trigger _600_link_messages_on_update after update on public.customers
for each row when (new.phone is not null and old.phone is distinct from new.phone)
execute function conductor.tg_customers__link_messages();
