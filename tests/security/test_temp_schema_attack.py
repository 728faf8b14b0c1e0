"""A caller's temporary schema never runs code with the package owner's rights.

The attack: a login that may call package functions creates, in its own `pg_temp`, a domain
named like a type the package uses (`text`, `jsonb`, ...) whose check calls the attacker's
function, and a temporary table named like each package table. A function whose search_path
searched `pg_temp` before `pg_catalog` would resolve its types to those domains and run the
check as the function's owner. Driven by the catalog: every type name that appears in a package
function, every package function the attacker may execute (called with empty and plausible
arguments), and every trigger on a table it may write (fired by a workload that the test proves
reached each of them). Run as a login that is a member of service_role and as one granted
conductor_bridge."""

from __future__ import annotations

import psycopg
import pytest

MARK = "conductor-attack: ran as"

EVIL = f"""
create function pg_temp.evil() returns boolean language plpgsql as $$
begin
    if current_user not in (session_user, 'service_role') then
        raise warning '{MARK} %', current_user;
    end if;
    return true;
end
$$
"""

# Every word of the package's function sources and signatures that names a type in pg_catalog.
TYPE_NAMES = r"""
with words as (
    select distinct lower(w[1]) as word
    from pg_proc as p,
        regexp_matches(p.prosrc || ' ' || pg_get_function_arguments(p.oid) || ' '
                       || pg_get_function_result(p.oid), '([A-Za-z_][A-Za-z0-9_]*)', 'g') as w
    where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
)
select t.typname
from pg_type as t
where t.typnamespace = 'pg_catalog'::regnamespace and t.typtype in ('b', 'e', 'r', 'm')
  and t.typcategory <> 'A'
  and (t.typname in (select word from words)
       or t.oid in (select unnest(p.proargtypes::oid[] || p.prorettype) from pg_proc as p
                    where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace))
       or t.oid in (select a.atttypid from pg_attribute as a join pg_class as c on c.oid = a.attrelid
                    where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)))
order by 1
"""

RELATION_NAMES = """
select distinct c.relname from pg_class as c
where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
  and c.relkind in ('r', 'p', 'v', 'm')
  and not exists (select from pg_type as t
                  where t.typname = c.relname and t.typnamespace = 'pg_catalog'::regnamespace)
"""

CALLABLE = """
select p.oid::regprocedure::text, p.oid, p.pronamespace::regnamespace::text || '.' || quote_ident(p.proname),
       p.proargtypes::oid[], coalesce(p.proargnames, '{}')
from pg_proc as p
where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
  and p.prokind = 'f' and p.prorettype <> 'pg_catalog.trigger'::regtype
  and has_function_privilege(current_user, p.oid, 'EXECUTE')
  and has_schema_privilege(current_user, p.pronamespace, 'USAGE')
order by (p.proname = 'bridge_hello') desc, p.proname
"""

VIEWS = """
select quote_ident(c.relnamespace::regnamespace::text) || '.' || quote_ident(c.relname) from pg_class as c
where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
  and has_table_privilege(current_user, c.oid, 'SELECT')
"""

# Trigger functions on tables the attacker may write, fired directly or by the package.
TRIGGERS = """
select distinct t.tgfoid, t.tgfoid::regprocedure::text
from pg_trigger as t
join pg_class as c on c.oid = t.tgrelid
where not t.tgisinternal and c.relnamespace = 'public'::regnamespace
  and has_table_privilege(current_user, c.oid, 'INSERT, UPDATE, DELETE')
  and t.tgfoid::regprocedure::text <> 'conductor.tg_transactions__truncate()'
"""

SAMPLES = {
    "text": "'+16195550142'",
    "int2": "1",
    "int4": "1",
    "int8": "1",
    "numeric": "1",
    "bool": "true",
    "date": "current_date",
    "timestamptz": "now()",
    "interval": "'1 day'",
    "jsonb": "'{}'",
    "_text": "array['+16195550142']",
    "_int8": "array[1]",
}

# A service_role member's ways into the triggers: the writes n8n and a POS make.
WORKLOAD = [
    "insert into public.products (product_id, sku, name, category)"
    " values ('ATK-P1', 'ATK-1', 'Blue Dream', 'Flower')",
    "update public.products set name = 'Blue Dream 3.5g' where product_id = 'ATK-P1'",
    "insert into public.customers (member_id, name, phone) values ('ATK-M1', 'Ada', '+16195550142')",
    "insert into public.leads (phone_number, last_message) values ('+16195550143', 'hi')",
    "update public.leads set lead_status = 'warm' where phone_number = '+16195550143'",
    "insert into public.customers (member_id, name, phone) values ('ATK-M2', 'Bo', '+16195550143')",
    "update public.customers set phone = '+16195550144', name = 'Bob' where member_id = 'ATK-M2'",
    "update public.customers set registered_on = current_date - 400 where member_id = 'ATK-M1'",
    "insert into public.transactions (transaction_id, customer_id, date, shop_location, staff_name,"
    " total_amount) values ('ATK-T1', 'ATK-M1', now() - interval '3 days', 'Harbor', 'Nova', 35.00)",
    "insert into public.transaction_items (transaction_id, line_number, product_sku, quantity, unit_price,"
    " total_price) values ('ATK-T1', 1, 'ATK-1', 1, 35.00, 35.00)",
    "update public.transaction_items set quantity = 2, total_price = 70.00 where transaction_id = 'ATK-T1'",
    "update public.transactions set total_amount = 70.00 where transaction_id = 'ATK-T1'",
    "set constraints all immediate",
    "delete from public.transaction_items where transaction_id = 'ATK-T1'",
    "delete from public.transactions where transaction_id = 'ATK-T1'",
    "insert into public.staff (staff_name, shop_location) values ('Rio', 'Harbor')",
    "insert into public.budtenders (first_name, phone) values ('Kai', '(619) 555-0150')",
    "insert into public.messages (phone_number, content, direction, status) values"
    " ('+16195550142', 'hello there', 'inbound', 'unread')",
    "update public.messages set status = 'read' where direction = 'inbound'",
    "insert into public.messages (phone_number, content, direction, status, message_kind) values"
    " ('+16195550142', 'Your order is ready', 'outbound', 'queued', 'reply')",
    "insert into public.campaign_messages (customer_id, phone_number, message_content) values"
    " ('ATK-M1', '+16195550142', 'We miss you')",
    "insert into public.scheduled_messages (customer_id, phone_number, message_content, scheduled_send_time)"
    " values ('ATK-M1', '+16195550142', 'We miss you', now() + interval '1 day')",
    "update public.scheduled_messages set status = 'cancelled' where customer_id = 'ATK-M1'",
    "insert into public.campaign_holdouts (campaign_name, holdout_share) values ('ATK-spring', 0.1)",
    "update public.campaign_holdouts set holdout_share = 0.2 where campaign_name = 'ATK-spring'",
    "insert into public.scheduled_messages (customer_id, phone_number, message_content, scheduled_send_time,"
    " dispatched_at, status, campaign_name) values ('ATK-M1', '+16195550142', 'Spring deals',"
    " now() - interval '2 days', now() - interval '2 days', 'held_out', 'ATK-spring')",
    "insert into public.messages (phone_number, content, direction, status) values"
    " ('+16195550142', 'STOP', 'inbound', 'unread')",
    "insert into public.messages (phone_number, content, direction, status) values"
    " ('+16195550145', 'please leave me alone', 'inbound', 'unread')",
    "select public.resolve_opt_out_review(phone_number => '+16195550145', is_revocation => false,"
    " reviewed_by => 'owner')",
    "delete from public.customers where member_id = 'ATK-M2'",
]

# The bridge's way in: a send claimed and settled each way (queued beforehand, more than the calls claim).
BRIDGE_OUTBOX = """
insert into public.messages (phone_number, content, direction, status, message_kind)
select '+1619555017' || g, 'Your order is ready', 'outbound', 'queued', 'reply'
from generate_series(1, 9) as g
"""
BRIDGE_WORKLOAD = [
    "select conductor.bridge_hello('atk-bridge', 'host', '/dev/ttyUSB0', '1')",
    "select conductor.bridge_mark_sent('atk-bridge', m.message_id, 7, 1::smallint)"
    " from conductor.bridge_claim_outbound('atk-bridge') as m",
    "select conductor.bridge_mark_failed('atk-bridge', m.message_id, '+CMS ERROR: 500', 'unknown error')"
    " from conductor.bridge_claim_outbound('atk-bridge') as m",
    "select conductor.bridge_mark_unknown('atk-bridge', m.message_id, 'no answer')"
    " from conductor.bridge_claim_outbound('atk-bridge') as m",
]

ATTACKERS = {
    "service_role member": "create role {role} login in role service_role",
    "conductor_bridge member": "create role {role} login in role conductor_bridge",
}


def _try(conn: psycopg.Connection, sql: str) -> None:
    conn.info_current = sql  # names the statement in the notice handler's findings
    try:
        with conn.transaction():
            conn.execute(sql)
    except psycopg.Error:
        pass  # refusals are expected; only the warnings and the reach count


# Arguments whose plausible value is not just any value of their type.
SAMPLES_BY_NAME = {
    "message_kind": "'reply'",
    "in_reply_to": "null",
    "message_ids": "(select array_agg(m.id) from public.messages as m where m.direction = 'inbound')",
    "entity": "'transactions'",
    "blaze_page": """'{"values": []}'""",
    "sync_cursor": "null",
    "backfill_from": "null",
    "min_group_size": "2",
    "sent_since": "now() - interval '30 days'",
}


def _literal(type_name: str | None, arg_name: str, sample: bool) -> str:
    if type_name is None:
        return "null"
    cast = f"pg_catalog.{type_name[1:]}[]" if type_name.startswith("_") else f"pg_catalog.{type_name}"
    value = SAMPLES_BY_NAME.get(arg_name, SAMPLES.get(type_name, "null")) if sample else "null"
    return f"{value}::{cast}"


@pytest.mark.parametrize("attacker", ATTACKERS)
def test_temporary_objects_never_run_as_the_owner(db, pg_cluster, login_role, attacker) -> None:
    role = login_role("attacker", ATTACKERS[attacker])
    pg_cluster.psql(f"alter role \"{role}\" set track_functions = 'all'")
    db.execute(BRIDGE_OUTBOX)
    warnings: list[str] = []
    conninfo = psycopg.conninfo.make_conninfo(db.url, user=role)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.info_current = "setup"
        conn.add_notice_handler(
            lambda diag: warnings.append(f"{diag.message_primary} in: {conn.info_current[:120]}")
        )
        type_names = [row[0] for row in conn.execute(TYPE_NAMES)]
        assert {"text", "jsonb", "timestamptz", "int8", "bool", "numeric", "date"} <= set(type_names)
        relation_names = [row[0] for row in conn.execute(RELATION_NAMES)]
        type_by_oid = dict(conn.execute("select oid, typname from pg_type").fetchall())
        functions = conn.execute(CALLABLE).fetchall()
        triggers = dict(conn.execute(TRIGGERS).fetchall())
        views = [row[0] for row in conn.execute(VIEWS)]
        assert functions, "the attacker may execute no package function"

        conn.execute(EVIL)
        shadowed = []
        for name in type_names:
            try:
                with conn.transaction():
                    conn.execute(
                        f'create domain pg_temp."{name}" as pg_catalog."{name}" check (pg_temp.evil())'
                    )
                shadowed.append(name)
            except psycopg.Error:
                pass  # not a valid domain base (e.g. a pseudo-type)
        assert {"text", "jsonb", "timestamptz", "int8", "bool"} <= set(shadowed)
        for name in relation_names:
            conn.execute(f'create temporary table "{name}" (evil boolean check (pg_temp.evil()))')
        if attacker == "service_role member":
            conn.execute("set role service_role")  # as PostgREST and the n8n login do: BYPASSRLS

        with conn.transaction():
            # Every function with empty and plausible arguments, before and after the workload
            # has written rows for them to find.
            for round_ in range(2):
                for sample in (False, True):
                    for _, _, name, arg_types, arg_names in functions:
                        arg_names = (arg_names + [""] * len(arg_types))[: len(arg_types)]  # input args first
                        args = ", ".join(
                            _literal(type_by_oid.get(oid), arg, sample)
                            for oid, arg in zip(arg_types, arg_names, strict=True)
                        )
                        _try(conn, f"select {name}({args})")
                for view in views:
                    _try(conn, f"select * from {view} limit 5")
                if round_ == 0:
                    for sql in WORKLOAD if attacker == "service_role member" else BRIDGE_WORKLOAD:
                        _try(conn, sql)
            ran = {
                row[0]
                for row in conn.execute("select funcid from pg_stat_xact_user_functions where calls > 0")
            }
            conn.execute("set constraints all immediate")

    escalations = [w for w in warnings if MARK in w]
    assert not escalations, f"{len(escalations)} calls ran attacker code as the owner:\n" + "\n".join(
        sorted(set(escalations))
    )
    missed = sorted(identity for identity, oid, *_ in functions if oid not in ran)
    assert not missed, f"functions never reached: {missed}"
    if attacker == "service_role member":
        assert triggers, "the service_role member may write no table with triggers"
        missed = sorted(identity for oid, identity in triggers.items() if oid not in ran)
        assert not missed, f"trigger functions the workload never fired: {missed}"
