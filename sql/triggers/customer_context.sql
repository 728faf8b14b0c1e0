-- Triggers that mark a customer's ready AI context stale (conductor.customer_context) when a row
-- it shows changes outside the sale maintenance (functions in
-- sql/functions/metrics/customer_context.sql): the customer's own row, opt-outs, opt-out reviews
-- and leads. _700 runs after lead linking (_600), whose lead updates mark the context too. On
-- customers, per row on update with a WHEN listing the columns the context shows that are not
-- derived from sales: identity, contact, loyalty points and date_joined. The derived totals and
-- visit dates are written only by the sale maintenance and the repairs, which mark the context
-- themselves, so a sale's update of them calls nothing here (the random-history consistency tests
-- compare every ready answer with the live one).
create trigger _700_invalidate_context_on_update after update on public.customers
for each row when (
    (
        old.member_id, old.name, old.phone, old.email, old.customer_type, old.member_group, old.loyalty_points,
        old.date_joined
    ) is distinct from (
        new.member_id, new.name, new.phone, new.email, new.customer_type, new.member_group, new.loyalty_points,
        new.date_joined
    )
)
execute function conductor.tg_customers__invalidate_context();
create trigger _700_invalidate_context_on_insert after insert on public.customers
referencing new table as new_rows
for each statement execute function conductor.tg_customers__invalidate_context();
create trigger _700_invalidate_context_on_delete after delete on public.customers
referencing old table as old_rows
for each statement execute function conductor.tg_customers__invalidate_context();

create trigger _700_invalidate_context_on_insert after insert on conductor.opt_outs
referencing new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_update after update on conductor.opt_outs
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_delete after delete on conductor.opt_outs
referencing old table as old_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_truncate after truncate on conductor.opt_outs
for each statement execute function conductor.tg_contact_rows__invalidate_context();

create trigger _700_invalidate_context_on_insert after insert on conductor.opt_out_reviews
referencing new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_update after update on conductor.opt_out_reviews
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_delete after delete on conductor.opt_out_reviews
referencing old table as old_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_truncate after truncate on conductor.opt_out_reviews
for each statement execute function conductor.tg_contact_rows__invalidate_context();

create trigger _700_invalidate_context_on_insert after insert on public.leads
referencing new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_update after update on public.leads
referencing old table as old_rows new table as new_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_delete after delete on public.leads
referencing old table as old_rows
for each statement execute function conductor.tg_contact_rows__invalidate_context();
create trigger _700_invalidate_context_on_truncate after truncate on public.leads
for each statement execute function conductor.tg_contact_rows__invalidate_context();
