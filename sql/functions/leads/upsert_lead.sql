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
set search_path = pg_catalog, pg_temp
language plpgsql
as $$
declare
    v_phone text := conductor.require_phone(p_phone_number, 'phone_number');
    v_source text := nullif(btrim(p_source), '');
    v_at timestamptz := coalesce(p_received_at, pg_catalog.now());
begin
    if v_phone is null then
        raise exception 'phone_number is required: pass a phone number such as +16199773020' using errcode = '22023';
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
set search_path = pg_catalog, pg_temp
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
set search_path = pg_catalog, pg_temp
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
