"""Installing into a database that has Supabase's roles and default privileges (which grant
anon and authenticated everything on new objects in public) still leaves them nothing."""

from __future__ import annotations

from pathlib import Path

from conductor_dev import installer
from tests.test_pgtap import check_tap, run_tap

SUPABASE_ROLES_AND_DEFAULTS = """
do $$
begin
    -- Roles are cluster-wide: other tests may have created them already.
    if not exists (select from pg_roles where rolname = 'anon') then
        create role anon nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticated') then
        create role authenticated nologin noinherit;
    end if;
    if not exists (select from pg_roles where rolname = 'service_role') then
        create role service_role nologin noinherit bypassrls;
    end if;
    if not exists (select from pg_roles where rolname = 'authenticator') then
        create role authenticator login noinherit;
    end if;
end
$$;
grant anon, authenticated, service_role to authenticator;
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
create schema extensions;
grant usage on schema extensions to public;
create extension pgtap with schema extensions;
"""

PRIVILEGES_TAP = (
    Path(__file__).parents[1] / "pgtap" / "schema" / "nobody_but_service_role_reaches_the_api.sql"
)


def test_supabase_default_privileges_do_not_leak(pg_cluster) -> None:
    name = "supabase_like"
    pg_cluster.psql(f'create database "{name}"')
    try:
        url = pg_cluster.url(name)
        pg_cluster.psql(SUPABASE_ROLES_AND_DEFAULTS, dbname=name)
        installer.install(url)
        anon_tables = pg_cluster.psql(
            "select count(*) from pg_class c where c.relnamespace = 'public'::regnamespace "
            "and c.relkind in ('r','p','v','m') and has_table_privilege('anon', c.oid, 'select')",
            dbname=name,
        )
        assert anon_tables.strip() == "0"
        check_tap(run_tap(url, PRIVILEGES_TAP))
    finally:
        pg_cluster.psql(f'drop database "{name}"')
