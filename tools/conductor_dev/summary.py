"""What `make install` prints after installing: the installed version, the objects the package
created, row counts of the main tables, the data issues the imports recorded, and a sample
lookup for a customer with a long history (public.get_customer_insights when it is installed,
otherwise the same facts read from the tables)."""

from __future__ import annotations

import json

import psycopg

MAIN_TABLES = [
    "public.customers",
    "public.products",
    "public.staff",
    "public.transactions",
    "public.transaction_items",
    "public.messages",
    "public.leads",
    "public.customer_product_affinity",
    "public.customer_visit_patterns",
    "public.scheduled_messages",
    "public.campaign_messages",
]

# The same facts get_customer_insights gives, read straight from the tables.
PLACEHOLDER_LOOKUP = """
select
    c.name,
    c.phone,
    c.vip_status,
    c.churn_risk,
    c.total_visits,
    c.lifetime_value,
    c.last_visited,
    (
        select coalesce(jsonb_agg(top.product_name order by top.bought desc, top.product_name), '[]'::jsonb)
        from (
            select i.product_name, sum(i.quantity) as bought
            from public.transactions as t
            join public.transaction_items as i on i.transaction_id = t.transaction_id
            where t.customer_id = c.member_id and t.status = 'completed' and t.transaction_type = 'sale'
            group by i.product_name
            order by bought desc, i.product_name
            limit 3
        ) as top
    ) as top_products
from public.customers as c
where c.member_id = %s
"""


def _scalar(conn: psycopg.Connection, sql: str, params: tuple | None = None):
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def _exists(conn: psycopg.Connection, regclass: str) -> bool:
    return _scalar(conn, "select to_regclass(%s) is not null", (regclass,))


def _objects(conn: psycopg.Connection) -> str:
    counts = conn.execute(
        """
        select
            (select count(*) from pg_class
             where relkind in ('r', 'p')
               and relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)
               and format('%I.%I', relnamespace::regnamespace, relname) in (
                   select object_identity from conductor.package_objects where object_kind = 'table')),
            (select count(*) from pg_class
             where relkind = 'v' and relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)),
            (select count(*) from pg_class
             where relkind = 'm' and relnamespace in ('public'::regnamespace, 'conductor'::regnamespace)),
            (select count(*) from pg_proc where pronamespace = 'conductor'::regnamespace),
            (select count(*) from conductor.package_objects where object_kind = 'function')
        """
    ).fetchone()
    tables, views, matviews, private_functions, api_functions = counts
    cron = "pg_cron not installed"
    if _scalar(conn, "select count(*) from pg_extension where extname = 'pg_cron'"):
        jobs = conn.execute(
            "select jobname, schedule from cron.job where jobname like 'conductor\\_%' order by jobname"
        ).fetchall()
        cron = f"{len(jobs)} cron jobs" + (": " + ", ".join(f"{n} ({s})" for n, s in jobs) if jobs else "")
    return (
        f"{tables} tables, {views} views, {matviews} materialized views, "
        f"{api_functions} API functions in public and {private_functions} private functions in conductor, "
        f"{cron}"
    )


def _row_counts(conn: psycopg.Connection) -> list[str]:
    lines = []
    for table in MAIN_TABLES:
        if _exists(conn, table):
            lines.append(
                f"  {table.split('.', 1)[1]:<28} {_scalar(conn, f'select count(*) from {table}'):>10,}"
            )
    return lines


def _issues(conn: psycopg.Connection) -> list[str]:
    if not _exists(conn, "conductor.data_issues"):
        return []
    rows = conn.execute(
        """
        select entity, field, action, count(*), min(problem)
        from conductor.data_issues
        group by entity, field, action
        order by entity, count(*) desc, field
        """
    ).fetchall()
    if not rows:
        return ["Data issues: none recorded."]
    total = sum(r[3] for r in rows)
    lines = [f"Data issues recorded by the imports ({total:,}; details in conductor.data_issues):"]
    for entity, fieldname, action, count, problem in rows:
        lines.append(f"  {entity}.{fieldname}: {count:,} {action.replace('_', ' ')} (e.g. {problem})")
    return lines


def _sample(conn: psycopg.Connection) -> list[str]:
    if not _exists(conn, "public.customers"):
        return []
    sample = conn.execute(
        """
        select c.member_id, c.phone
        from public.customers as c
        where c.phone is not null
        order by c.total_visits desc, c.member_id
        limit 1
        """
    ).fetchone()
    if sample is None:
        return ["Sample lookup: no customer with a phone yet (load data with `make seed`)."]
    member_id, phone = sample
    has_rpc = _scalar(
        conn,
        "select count(*) from pg_proc where pronamespace = 'public'::regnamespace "
        "and proname = 'get_customer_insights'",
    )
    if has_rpc:
        insights = _scalar(conn, "select public.get_customer_insights(phone_number => %s)", (phone,))
        text = json.dumps(insights, indent=2, default=str, ensure_ascii=False)
        return [f"Sample lookup: select public.get_customer_insights(phone_number => '{phone}');", text]
    row = conn.execute(PLACEHOLDER_LOOKUP, (member_id,)).fetchone()
    name, phone, tier, churn, visits, value, last, top = row
    return [
        f"Sample lookup for {phone} (public.get_customer_insights is not installed; read from the tables):",
        f"  {name}: {tier or 'no tier yet'}, churn risk {churn or 'unknown'}, {visits} visits, "
        f"lifetime value ${value:,.2f}, last visit {last}, top products: {', '.join(top) or 'none'}",
    ]


def describe(url: str) -> str:
    """A few paragraphs about what is installed in the database at url, and what it holds."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not _exists(conn, "conductor.installed_versions"):
            return "Conductor is not installed in this database."
        version = _scalar(
            conn,
            "select version from conductor.installed_versions "
            "order by installed_at desc, version desc limit 1",
        )
        lines = [f"Conductor {version}: {_objects(conn)}.", "Rows:"]
        lines += _row_counts(conn)
        lines += _issues(conn)
        lines += _sample(conn)
    return "\n".join(lines)
