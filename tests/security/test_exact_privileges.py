"""Every role holds exactly the privileges the package means it to have, on every package table,
view, sequence, function and schema, whatever default privileges the database had: catalog
driven, so an object added later is checked without being named here."""

from __future__ import annotations

from tests.security._n8n_setup import documented_setup_sql

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
SCHEMA_PRIVILEGES = ("USAGE", "CREATE")
WRITE = {"SELECT", "INSERT", "UPDATE", "DELETE"}

# Maintained by the package from the POS data: the API reads them and never writes them.
DERIVED_TABLES = {
    "public.customer_visit_patterns",
    "public.customer_product_affinity",
    "public.customer_lifetime_value",
}
BRIDGE_FUNCTIONS = {
    "conductor.bridge_hello",
    "conductor.bridge_store_inbound",
    "conductor.bridge_stored_parts",
    "conductor.bridge_claim_outbound",
    "conductor.bridge_next_due_at",
    "conductor.bridge_mark_sent",
    "conductor.bridge_mark_failed",
    "conductor.bridge_mark_unknown",
    "conductor.bridge_heartbeat",
}
# security_invoker reporting views in public call it for the store's time zone and today.
SERVICE_ROLE_CONDUCTOR_FUNCTIONS = {"conductor.reporting_parameters"}

PACKAGE_OBJECTS = """
select case c.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'view'
                      else 'table' end,
       c.relnamespace::regnamespace::text, c.oid::regclass::text,
       c.relnamespace::regnamespace::text || '.' || c.relname
from pg_class c
where c.relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
  and c.relkind in ('r', 'p', 'v', 'm', 'S')
union all
select 'function', p.pronamespace::regnamespace::text, p.oid::regprocedure::text,
       p.pronamespace::regnamespace::text || '.' || p.proname
from pg_proc p
where p.pronamespace in ('public'::regnamespace, 'conductor'::regnamespace)
"""


def expected(role: str, kind: str, schema: str, name: str, *, api_login: str) -> set[str]:
    if role in ("service_role", api_login):
        if schema == "conductor":
            return {"EXECUTE"} if kind == "function" and name in SERVICE_ROLE_CONDUCTOR_FUNCTIONS else set()
        if kind == "table":
            return {"SELECT"} if name in DERIVED_TABLES else WRITE
        return {"view": {"SELECT"}, "sequence": {"USAGE", "SELECT"}, "function": {"EXECUTE"}}[kind]
    if role == "conductor_bridge":
        return {"EXECUTE"} if kind == "function" and name in BRIDGE_FUNCTIONS else set()
    return set()  # anon, authenticated


def held(conn, role: str, kind: str, identity: str) -> set[str]:
    if kind == "function":
        check, privileges = "has_function_privilege(%s, %s::regprocedure, %s)", ("EXECUTE",)
    elif kind == "sequence":
        check, privileges = "has_sequence_privilege(%s, %s::regclass, %s)", SEQUENCE_PRIVILEGES
    else:
        check, privileges = "has_table_privilege(%s, %s::regclass, %s)", TABLE_PRIVILEGES
    return {p for p in privileges if conn.execute(f"select {check}", (role, identity, p)).fetchone()[0]}


def test_each_role_holds_exactly_its_privileges(supabase_db, login_role) -> None:
    n8n = login_role("n8n", documented_setup_sql("{role}"))
    roles = ("anon", "authenticated", "service_role", "conductor_bridge", n8n)
    wrong = []
    with supabase_db.connect() as conn:
        objects = conn.execute(PACKAGE_OBJECTS).fetchall()
        kinds = {kind for kind, *_ in objects}
        assert kinds == {"table", "view", "sequence", "function"}, kinds
        assert len(objects) > 100, "the catalog query found too few package objects"
        for kind, schema, identity, name in objects:
            for role in roles:
                want = expected(role, kind, schema, name, api_login=n8n)
                have = held(conn, role, kind, identity)
                if have != want:
                    wrong.append(f"{role} on {kind} {identity}: holds {sorted(have)}, expects {sorted(want)}")
        for role in roles:
            want = {"USAGE"} if role == "conductor_bridge" else set()
            have = {
                p
                for p in SCHEMA_PRIVILEGES
                if conn.execute("select has_schema_privilege(%s, 'conductor', %s)", (role, p)).fetchone()[0]
            }
            if have != want:
                wrong.append(f"{role} on schema conductor: holds {sorted(have)}, expected {sorted(want)}")
        # The bridge role's contract exists as named (a renamed function must be noticed here).
        names = {name for kind, _, _, name in objects if kind == "function"}
        assert names >= BRIDGE_FUNCTIONS | SERVICE_ROLE_CONDUCTOR_FUNCTIONS
    assert not wrong, "\n".join(wrong)
