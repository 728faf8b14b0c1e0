"""`make plan`: what an install would do to a database, found by running it and rolling it back.

The install script (the tree's manifest flattened, or a release file) runs statement by statement
in one transaction on the target database. Before and after it, inside that transaction, a
normalized description of the package's catalog is taken (definitions by object identity, never
by oid), together with the tables' file nodes, the install's own relation locks after each file,
the rows it wrote (pg_stat_xact_user_tables) and the rows of the small reference tables. Then the
transaction is rolled back and the two descriptions are compared in Python:

- objects created, dropped, or whose definition really changed (a drop and re-create of the same
  definition is no change), each change with a unified diff;
- tables rewritten (new relfilenode), scanned (a constraint validated, NOT NULL set, an index
  built), with their row counts;
- the locks taken on tables that existed before, when in the install each was first held and how
  long the install held it in this run;
- rows written, settings and threshold rows added or changed, installed and target versions.

Guarantees: everything runs in one transaction that is always rolled back (a script containing a
transaction-control statement is refused before anything runs, and the transaction id is checked
after the install); `lock_timeout` makes the plan give up rather than queue behind another
session while holding the install's locks. A rollback does not undo sequence increments: the plan
reports every sequence the install advanced (pg_cron's `cron.schedule` takes a job id each time
it upserts a job, and an install that records data issues takes their ids). NOTIFY is only
delivered at commit, so a rolled-back install notifies nobody; pg_cron's job table is transactional.

Exit status (cli): 0 nothing would change, 2 something would, 1 error.
"""

from __future__ import annotations

import difflib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import pq

from conductor_dev import installer

SCHEMAS = ["public", "conductor"]
LOCK_MODES = [
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
]
LOCK_BLOCKS = {
    "AccessShareLock": "only ALTER/DROP/TRUNCATE/VACUUM FULL",
    "RowShareLock": "only EXCLUSIVE locks and DDL",
    "RowExclusiveLock": "only DDL, CREATE INDEX and explicit SHARE locks",
    "ShareUpdateExclusiveLock": "VACUUM, ANALYZE and other DDL; not reads or writes",
    "ShareLock": "writes (INSERT, UPDATE, DELETE)",
    "ShareRowExclusiveLock": "writes (INSERT, UPDATE, DELETE)",
    "ExclusiveLock": "writes and SELECT ... FOR UPDATE; plain reads go on",
    "AccessExclusiveLock": "everything, reads included",
}
# Reference rows of tables at most this long are compared row by row; larger tables by counts.
SMALL_TABLE_ROWS = 2000
ROWS_SHOWN = 60


class PlanError(RuntimeError):
    """The plan could not be made; the target database was not changed."""


# --------------------------------------------------------------------------------------------
# Splitting the install script into statements (comments, quotes and dollar quotes respected).

_TX_CONTROL = re.compile(
    r"^(begin|commit|rollback|abort|end|start\s+transaction|savepoint|release|prepare\s+transaction)\b",
    re.IGNORECASE,
)
_FILE_MARK = re.compile(r"^-- >>> (\S+)\s*$")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


@dataclass
class Statement:
    file: str
    line: int
    sql: str

    @property
    def summary(self) -> str:
        text = " ".join(
            line.strip()
            for line in self.sql.splitlines()
            if line.strip() and not line.strip().startswith("--")
        )
        return text if len(text) <= 90 else text[:87] + "..."


def split_statements(script: str, default_file: str = "install") -> list[Statement]:
    """The top-level statements of a plain SQL script, each with the file it came from.

    Files are known from the `-- >>> path` lines that `installer.flatten` writes (release files
    carry them too); lines count within that file.
    """
    statements: list[Statement] = []
    buf: list[str] = []
    current_file, file_line = default_file, 0
    start: tuple[str, int] | None = None
    has_code = False  # buf holds more than comments and whitespace
    i, n = 0, len(script)
    line_start = True
    while i < n:
        ch = script[i]
        if line_start:
            end = script.find("\n", i)
            end = n if end < 0 else end
            mark = _FILE_MARK.match(script[i:end])
            if mark and not has_code:
                current_file, file_line = mark.group(1), 0
                buf, start = [], None
                i = end + 1
                line_start = True
                continue
            file_line += 1
            line_start = False
        if start is None and not ch.isspace():
            start = (current_file, file_line)
        if not ch.isspace() and not script.startswith("--", i):
            has_code = True
        if ch == "\n":
            line_start = True
            buf.append(ch)
            i += 1
            continue
        if script.startswith("--", i):
            end = script.find("\n", i)
            end = n if end < 0 else end
            if not has_code:
                start = None  # a comment before a statement does not start it
            buf.append(script[i:end])
            i = end
            continue
        if script.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if script.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif script.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            chunk = script[i:j]
            file_line += chunk.count("\n")
            buf.append(chunk)
            i = j
            continue
        if ch in "'\"":
            escaped = ch == "'" and i > 0 and script[i - 1] in "eE" and not script[i - 2 : i - 1].isalnum()
            j = i + 1
            while j < n:
                if escaped and script[j] == "\\":
                    j += 2
                    continue
                if script[j] == ch:
                    if script.startswith(ch * 2, j):
                        j += 2
                        continue
                    break
                j += 1
            chunk = script[i : j + 1]
            file_line += chunk.count("\n")
            buf.append(chunk)
            i = j + 1
            continue
        if ch == "$" and not (i > 0 and (script[i - 1].isalnum() or script[i - 1] == "_")):
            tag = _DOLLAR.match(script, i)
            if tag:
                close = script.find(tag.group(0), tag.end())
                close = n if close < 0 else close + len(tag.group(0))
                chunk = script[i:close]
                file_line += chunk.count("\n")
                buf.append(chunk)
                i = close
                continue
        if ch == ";":
            sql = "".join(buf).strip()
            if sql:
                statements.append(
                    Statement(start[0] if start else current_file, start[1] if start else 0, sql)
                )
            buf, start, has_code = [], None, False
            i += 1
            continue
        buf.append(ch)
        i += 1
    tail = "".join(buf).strip()
    if tail and has_code:
        statements.append(Statement(start[0] if start else current_file, start[1] if start else 0, tail))
    return statements


def _first_word_sql(sql: str) -> str:
    lines = [line for line in sql.splitlines() if line.strip() and not line.strip().startswith("--")]
    return "\n".join(lines).strip()


def check_no_transaction_control(statements: list[Statement]) -> None:
    for st in statements:
        if _TX_CONTROL.match(_first_word_sql(st.sql)):
            raise PlanError(
                f"{st.file}:{st.line}: the install script ends or splits its own transaction "
                f"({st.summary!r}); a plan could not roll it back, so nothing was run"
            )


# --------------------------------------------------------------------------------------------
# The catalog description. Runs with search_path = '' so every name is schema-qualified, the
# same way before and after the install.

SNAPSHOT = r"""
with
rel as (
    select c.oid, c.relname, c.relkind, c.relowner, c.relacl, n.nspname
    from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S', 'i', 'I', 'c')
),
fn as (
    select p.oid, p.prokind, p.proowner, p.proacl
    from pg_catalog.pg_proc as p
    join pg_catalog.pg_namespace as n on n.oid = p.pronamespace
    where n.nspname = any(%(schemas)s)
),
typ as (
    select t.oid, t.typtype, t.typowner, t.typacl, t.typbasetype, t.typtypmod, t.typnotnull,
           t.typdefault, t.typrelid
    from pg_catalog.pg_type as t
    join pg_catalog.pg_namespace as n on n.oid = t.typnamespace
    where n.nspname = any(%(schemas)s)
        and (t.typtype in ('d', 'e', 'r')
             or (t.typtype = 'c'
                 and (select c.relkind from pg_catalog.pg_class as c where c.oid = t.typrelid) = 'c'))
),
acl as (
    select 'schema' as kind, n.nspname::text as identity, n.nspowner as owner, n.nspacl as acl,
           'n'::"char" as aclkind
    from pg_catalog.pg_namespace as n where n.nspname = any(%(schemas)s)
    union all
    select
        case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                       when 'f' then 'foreign table' else 'table' end,
        r.oid::pg_catalog.regclass::text, r.relowner, r.relacl,
        (case r.relkind when 'S' then 's' else 'r' end)::"char"
    from rel as r where r.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    union all
    select case f.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
           f.oid::pg_catalog.regprocedure::text, f.proowner, f.proacl, 'f'::"char"
    from fn as f
    union all
    select 'type', t.oid::pg_catalog.regtype::text, t.typowner, t.typacl, 'T'::"char" from typ as t
)
-- schemas
select 'schema' as kind, n.nspname::text as identity, null::text as parent,
       'create schema ' || pg_catalog.quote_ident(n.nspname) as definition
from pg_catalog.pg_namespace as n where n.nspname = any(%(schemas)s)
union all
-- tables, views, materialized views, sequences, composite types
select
    case r.relkind when 'S' then 'sequence' when 'v' then 'view' when 'm' then 'materialized view'
                   when 'f' then 'foreign table' else 'table' end,
    r.oid::pg_catalog.regclass::text,
    null,
    case
        when r.relkind in ('v', 'm') then
            'create ' || case r.relkind when 'v' then 'view' else 'materialized view' end || ' '
            || r.oid::pg_catalog.regclass::text
            || coalesce(' with (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')
            || E' as\n' || pg_catalog.pg_get_viewdef(r.oid, true)
        when r.relkind = 'S' then
            (select pg_catalog.format(
                 'create sequence %%s as %%s increment %%s minvalue %%s maxvalue %%s start %%s '
                 'cache %%s%%s%%s',
                 r.oid::pg_catalog.regclass, pg_catalog.format_type(s.seqtypid, null), s.seqincrement,
                 s.seqmin, s.seqmax, s.seqstart, s.seqcache, case when s.seqcycle then ' cycle' else '' end,
                 coalesce((select ' owned by ' || d.refobjid::pg_catalog.regclass::text || '.'
                                  || pg_catalog.quote_ident(a.attname)
                           from pg_catalog.pg_depend as d
                           join pg_catalog.pg_attribute as a
                               on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
                           where d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objid = r.oid
                               and d.deptype in ('a', 'i') and d.refobjsubid > 0 limit 1), ''))
             from pg_catalog.pg_sequence as s where s.seqrelid = r.oid)
        else
            'create ' || case c.relpersistence when 'u' then 'unlogged ' else '' end
            || case r.relkind when 'p' then 'partitioned ' when 'f' then 'foreign ' else '' end
            || 'table ' || r.oid::pg_catalog.regclass::text
            || case when r.relkind = 'p'
                    then ' partition by ' || pg_catalog.pg_get_partkeydef(r.oid) else '' end
            || coalesce(' with (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')
            || case when c.relispartition
                    then E'\npartition of ' || (select i.inhparent::pg_catalog.regclass::text
                                                from pg_catalog.pg_inherits as i where i.inhrelid = r.oid)
                         || ' ' || pg_catalog.pg_get_expr(c.relpartbound, r.oid)
                    else '' end
            || case when c.relrowsecurity then E'\nrow level security enabled' else '' end
            || case when c.relforcerowsecurity then E'\nrow level security forced' else '' end
            || case when c.relreplident <> 'd' then E'\nreplica identity ' || c.relreplident::text else '' end
    end
from rel as r join pg_catalog.pg_class as c on c.oid = r.oid
where r.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
union all
-- columns of tables
select 'column', r.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname),
       'table ' || r.oid::pg_catalog.regclass::text,
       pg_catalog.format_type(a.atttypid, a.atttypmod)
       || case when a.attcollation <> t.typcollation
               then ' collate ' || (select pg_catalog.quote_ident(co.collname)
                                    from pg_catalog.pg_collation as co
                                    where co.oid = a.attcollation) else '' end
       || case when a.attnotnull then ' not null' else '' end
       || case a.attidentity when 'a' then ' generated always as identity'
                             when 'd' then ' generated by default as identity' else '' end
       || case when a.attgenerated = 's'
               then ' generated always as (' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') stored'
               when ad.adbin is not null then ' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid)
               else '' end
from rel as r
join pg_catalog.pg_attribute as a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
join pg_catalog.pg_type as t on t.oid = a.atttypid
left join pg_catalog.pg_attrdef as ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
where r.relkind in ('r', 'p', 'f', 'c')
union all
-- constraints of tables and domains
select 'constraint',
       pg_catalog.quote_ident(co.conname) || ' on '
       || coalesce(nullif(co.conrelid, 0)::pg_catalog.regclass::text, co.contypid::pg_catalog.regtype::text),
       case when co.conrelid <> 0 then 'table ' || co.conrelid::pg_catalog.regclass::text
            else 'type ' || co.contypid::pg_catalog.regtype::text end,
       pg_catalog.pg_get_constraintdef(co.oid)
from pg_catalog.pg_constraint as co
where co.conrelid in (select oid from rel) or co.contypid in (select oid from typ)
union all
-- indexes not created by a constraint
select 'index', r.oid::pg_catalog.regclass::text, 'table ' || i.indrelid::pg_catalog.regclass::text,
       pg_catalog.pg_get_indexdef(r.oid)
from rel as r
join pg_catalog.pg_index as i on i.indexrelid = r.oid
where not exists (select from pg_catalog.pg_constraint as co
                  where co.conindid = r.oid and co.contype in ('p', 'u', 'x'))
union all
-- triggers
select 'trigger', pg_catalog.quote_ident(tg.tgname) || ' on ' || tg.tgrelid::pg_catalog.regclass::text,
       'table ' || tg.tgrelid::pg_catalog.regclass::text,
       pg_catalog.pg_get_triggerdef(tg.oid, true)
       || case tg.tgenabled when 'D' then ' (disabled)' when 'R' then ' (enabled replica)'
                            when 'A' then ' (enabled always)' else '' end
from pg_catalog.pg_trigger as tg
where not tg.tgisinternal and tg.tgrelid in (select oid from rel)
union all
-- row level security policies
select 'policy', pg_catalog.quote_ident(p.policyname) || ' on '
       || pg_catalog.quote_ident(p.schemaname) || '.' || pg_catalog.quote_ident(p.tablename),
       'table ' || pg_catalog.quote_ident(p.schemaname) || '.' || pg_catalog.quote_ident(p.tablename),
       'as ' || p.permissive || ' for ' || p.cmd || ' to ' || pg_catalog.array_to_string(p.roles, ', ')
       || coalesce(E'\nusing (' || p.qual || ')', '')
       || coalesce(E'\nwith check (' || p.with_check || ')', '')
from pg_catalog.pg_policies as p where p.schemaname = any(%(schemas)s)
union all
-- functions, procedures, aggregates
select case f.prokind when 'p' then 'procedure' when 'a' then 'aggregate' else 'function' end,
       f.oid::pg_catalog.regprocedure::text, null,
       case when f.prokind = 'a' then 'aggregate ' || f.oid::pg_catalog.regprocedure::text
            else pg_catalog.pg_get_functiondef(f.oid) end
from fn as f
union all
-- domains, enums, ranges, composite types
select 'type', t.oid::pg_catalog.regtype::text, null,
       case t.typtype
           when 'd' then 'domain over ' || pg_catalog.format_type(t.typbasetype, t.typtypmod)
                || case when t.typnotnull then ' not null' else '' end
                || coalesce(' default ' || t.typdefault, '')
           when 'e' then 'enum (' || (select pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', '
                                                                   order by e.enumsortorder)
                                      from pg_catalog.pg_enum as e where e.enumtypid = t.oid) || ')'
           when 'r' then 'range of ' || (select pg_catalog.format_type(rg.rngsubtype, null)
                                         from pg_catalog.pg_range as rg where rg.rngtypid = t.oid)
           else 'composite type'
       end
from typ as t
union all
-- privileges (owner and every grant, with PostgreSQL's defaults spelled out)
select 'grants', a.kind || ' ' || a.identity, a.kind || ' ' || a.identity,
       'owner ' || a.owner::pg_catalog.regrole::text || coalesce(E'\n' || (
           select pg_catalog.string_agg(
                      case when x.grantee = 0 then 'PUBLIC' else x.grantee::pg_catalog.regrole::text end
                      || ': ' || x.privilege_type
                      || case when x.is_grantable then ' with grant option' else '' end,
                      E'\n' order by x.grantee = 0, x.grantee::pg_catalog.regrole::text, x.privilege_type,
                      x.is_grantable)
           from pg_catalog.aclexplode(coalesce(a.acl, pg_catalog.acldefault(a.aclkind, a.owner))) as x
       ), '')
from acl as a
union all
select 'grants', 'column ' || r.oid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname),
       'table ' || r.oid::pg_catalog.regclass::text,
       (select pg_catalog.string_agg(
                   case when x.grantee = 0 then 'PUBLIC' else x.grantee::pg_catalog.regrole::text end
                   || ': ' || x.privilege_type
                      || case when x.is_grantable then ' with grant option' else '' end,
                   E'\n' order by x.grantee = 0, x.grantee::pg_catalog.regrole::text, x.privilege_type,
                      x.is_grantable)
        from pg_catalog.aclexplode(a.attacl) as x)
from rel as r
join pg_catalog.pg_attribute as a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
where a.attacl is not null
union all
-- comments on any of these objects, named like the objects themselves
select 'comment', x.target, x.target, x.description
from (
    select d.description,
           case
               when d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objsubid > 0 then
                   'column ' || d.objoid::pg_catalog.regclass::text || '.'
                   || (select pg_catalog.quote_ident(a.attname) from pg_catalog.pg_attribute as a
                       where a.attrelid = d.objoid and a.attnum = d.objsubid)
               when d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass then
                   (select case r.relkind when 'S' then 'sequence' when 'v' then 'view'
                                          when 'm' then 'materialized view' when 'f' then 'foreign table'
                                          when 'i' then 'index' when 'I' then 'index' when 'c' then 'type'
                                          else 'table' end
                    from rel as r where r.oid = d.objoid)
                   || ' ' || d.objoid::pg_catalog.regclass::text
               when d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass then
                   (select case f.prokind when 'p' then 'procedure' when 'a' then 'aggregate'
                                          else 'function' end
                    from fn as f where f.oid = d.objoid)
                   || ' ' || d.objoid::pg_catalog.regprocedure::text
               when d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass then
                   'type ' || d.objoid::pg_catalog.regtype::text
               when d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass then
                   'schema ' || d.objoid::pg_catalog.regnamespace::text
               when d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass then
                   (select 'constraint ' || pg_catalog.quote_ident(co.conname) || ' on '
                           || coalesce(nullif(co.conrelid, 0)::pg_catalog.regclass::text,
                                       co.contypid::pg_catalog.regtype::text)
                    from pg_catalog.pg_constraint as co where co.oid = d.objoid)
               when d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass then
                   (select 'trigger ' || pg_catalog.quote_ident(tg.tgname) || ' on '
                           || tg.tgrelid::pg_catalog.regclass::text
                    from pg_catalog.pg_trigger as tg where tg.oid = d.objoid)
               when d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass then
                   (select 'policy ' || pg_catalog.quote_ident(po.polname) || ' on '
                           || po.polrelid::pg_catalog.regclass::text
                    from pg_catalog.pg_policy as po where po.oid = d.objoid)
           end as target
    from pg_catalog.pg_description as d
    where (d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass and d.objoid in (select oid from rel))
       or (d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objoid in (select oid from fn))
       or (d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass and d.objoid in (select oid from typ))
       or (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
           and d.objoid in (select oid from pg_catalog.pg_namespace where nspname = any(%(schemas)s)))
       or (d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
           and d.objoid in (select oid from pg_catalog.pg_constraint
                            where conrelid in (select oid from rel) or contypid in (select oid from typ)))
       or (d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
           and d.objoid in (select oid from pg_catalog.pg_trigger where tgrelid in (select oid from rel)))
       or (d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass
           and d.objoid in (select oid from pg_catalog.pg_policy where polrelid in (select oid from rel)))
) as x
union all
-- roles (cluster-wide; the install creates the API roles where they are missing)
select 'role', ro.rolname::text, null,
       pg_catalog.concat_ws(' ',
           case when ro.rolsuper then 'superuser' end,
           case when ro.rolcanlogin then 'login' else 'nologin' end,
           case when not ro.rolinherit then 'noinherit' end, case when ro.rolbypassrls then 'bypassrls' end,
           case when ro.rolcreaterole then 'createrole' end, case when ro.rolcreatedb then 'createdb' end)
       || coalesce(E'\nmember of ' || (select pg_catalog.string_agg(g.rolname::text, ', ' order by g.rolname)
                                      from pg_catalog.pg_auth_members as m
                                      join pg_catalog.pg_roles as g on g.oid = m.roleid
                                      where m.member = ro.oid), '')
from pg_catalog.pg_roles as ro
where ro.rolname !~ '^pg_'
union all
select 'extension', e.extname::text, null,
       'version ' || e.extversion || ' in schema ' || e.extnamespace::pg_catalog.regnamespace::text
from pg_catalog.pg_extension as e
"""

CRON_SNAPSHOT = """
select 'cron job', coalesce(j.jobname, 'job ' || j.jobid::text), null,
       'schedule ' || j.schedule || E'\ndatabase ' || j.database || E'\nusername ' || j.username
       || E'\nactive ' || j.active::text || E'\ncommand ' || j.command
from cron.job as j
"""

# Files, row estimates and NOT NULL flags of the relations in the package's schemas.
STORAGE = """
select c.oid::bigint, c.oid::pg_catalog.regclass::text, c.relkind::text, c.relfilenode::bigint,
       c.reltuples::bigint,
       (select i.indrelid::bigint from pg_catalog.pg_index as i where i.indexrelid = c.oid)
from pg_catalog.pg_class as c
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p', 'm', 'i', 'I', 't')
"""

CONSTRAINTS = """
select co.oid::bigint, co.conrelid::bigint, co.conname::text, co.contype::text, co.convalidated
from pg_catalog.pg_constraint as co
join pg_catalog.pg_class as c on c.oid = co.conrelid
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s)
"""

NOT_NULLS = """
select a.attrelid::bigint, a.attname::text
from pg_catalog.pg_attribute as a
join pg_catalog.pg_class as c on c.oid = a.attrelid
join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
where n.nspname = any(%(schemas)s) and c.relkind in ('r', 'p') and a.attnum > 0 and a.attnotnull
    and not a.attisdropped
"""

MY_LOCKS = """
select l.relation::bigint, l.mode
from pg_catalog.pg_locks as l
where l.pid = pg_catalog.pg_backend_pid() and l.locktype = 'relation' and l.granted
    and l.database = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())
"""

WRITES = """
select s.relid::pg_catalog.regclass::text, c.relkind = 'm', s.n_tup_ins, s.n_tup_upd, s.n_tup_del
from pg_catalog.pg_stat_xact_user_tables as s
join pg_catalog.pg_class as c on c.oid = s.relid
where s.schemaname = any(%(schemas)s) and s.n_tup_ins + s.n_tup_upd + s.n_tup_del > 0
    and c.relkind in ('r', 'p', 'm')
"""

SEQUENCES = """
select pg_catalog.quote_ident(schemaname) || '.' || pg_catalog.quote_ident(sequencename), last_value
from pg_catalog.pg_sequences
where pg_catalog.has_sequence_privilege(
    pg_catalog.quote_ident(schemaname) || '.' || pg_catalog.quote_ident(sequencename), 'select')
"""


@dataclass
class Snapshot:
    objects: dict[tuple[str, str], tuple[str | None, str]] = field(default_factory=dict)
    storage: dict[int, tuple[str, str, int, int, int | None]] = field(default_factory=dict)
    constraints: dict[int, tuple[int, str, str, bool]] = field(default_factory=dict)
    not_nulls: set[tuple[int, str]] = field(default_factory=set)
    rows: dict[str, dict[str, dict]] = field(default_factory=dict)
    versions: list[str] = field(default_factory=list)
    cron: bool = False


def _take(conn: psycopg.Connection, small_tables: list[str] | None) -> Snapshot:
    conn.execute("set local search_path = ''")
    snap = Snapshot()
    params = {"schemas": SCHEMAS}
    for kind, identity, parent, definition in conn.execute(SNAPSHOT, params):
        snap.objects[(kind, identity)] = (parent, definition or "")
    snap.cron = conn.execute("select to_regclass('cron.job') is not null").fetchone()[0]
    if snap.cron:
        for kind, identity, parent, definition in conn.execute(CRON_SNAPSHOT):
            snap.objects[(kind, identity)] = (parent, definition)
    for oid, name, kind, node, tuples, table in conn.execute(STORAGE, params):
        snap.storage[oid] = (name, kind, node, tuples, table)
    for oid, rel, name, ctype, valid in conn.execute(CONSTRAINTS, params):
        snap.constraints[oid] = (rel, name, ctype, valid)
    snap.not_nulls = {tuple(row) for row in conn.execute(NOT_NULLS, params)}
    if conn.execute("select to_regclass('conductor.installed_versions') is not null").fetchone()[0]:
        snap.versions = [
            row[0]
            for row in conn.execute(
                "select version from conductor.installed_versions order by installed_at, version"
            )
        ]
    for table in small_tables or []:
        snap.rows[table] = _table_rows(conn, table)
    return snap


def _primary_key(conn: psycopg.Connection, table: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            """
            select a.attname::text
            from pg_catalog.pg_index as i
            join pg_catalog.pg_attribute as a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            where i.indrelid = %s::pg_catalog.regclass and i.indisprimary
            order by pg_catalog.array_position(i.indkey::int2[], a.attnum)
            """,
            (table,),
        )
    ]


def _table_rows(conn: psycopg.Connection, table: str) -> dict[str, dict]:
    """The rows of a small table keyed by their primary key (or whole row)."""
    key = _primary_key(conn, table)
    rows = {}
    for (row,) in conn.execute(f"select pg_catalog.to_jsonb(t) from {table} as t"):
        ident = ", ".join(f"{k}={row[k]!r}" for k in key) if key else repr(sorted(row.items()))
        rows[ident] = row
    return rows


def _small_package_tables(conn: psycopg.Connection) -> list[str]:
    """Package tables of at most SMALL_TABLE_ROWS rows (reference data such as settings)."""
    if not conn.execute("select to_regclass('conductor.package_objects') is not null").fetchone()[0]:
        return []
    tables = [
        row[0]
        for row in conn.execute(
            "select object_identity from conductor.package_objects "
            "where case when object_kind = 'table' then pg_catalog.to_regclass(object_identity) end "
            "is not null order by 1"
        )
    ]
    small = []
    for table in tables:
        count = conn.execute(
            f"select count(*) from (select from {table} limit {SMALL_TABLE_ROWS + 1}) as t"
        ).fetchone()[0]
        if count <= SMALL_TABLE_ROWS:
            small.append(table)
    return small


# --------------------------------------------------------------------------------------------
# Running the install and rolling it back.


@dataclass
class Step:
    file: str
    statement: Statement
    seconds: float


@dataclass
class Plan:
    target: str
    target_version: str
    before: Snapshot
    after: Snapshot
    steps: list[Step]
    # relation oid -> (mode, index of the first step at which it was held)
    locks: dict[int, dict[str, int]]
    writes: dict[str, tuple[int, int, int]]
    filled: dict[str, int]
    sequences: dict[str, tuple[int | None, int | None]]
    notices: list[str]
    counts: dict[str, tuple[int, bool]] = field(default_factory=dict)

    # ---- analysis -----------------------------------------------------------------------
    def object_changes(self) -> tuple[list, list, list]:
        before, after = self.before.objects, self.after.objects
        created = sorted(k for k in after if k not in before)
        dropped = sorted(k for k in before if k not in after)
        changed = sorted(k for k in after if k in before and after[k][1] != before[k][1])
        return created, changed, dropped

    def table_work(self) -> list[tuple[str, str]]:
        """(table, what) for every existing table the install rewrites or scans."""
        work: list[tuple[str, str]] = []
        before, after = self.before.storage, self.after.storage
        existing_tables = {oid for oid, v in before.items() if v[1] in ("r", "p") and oid in after}
        rewritten = set()
        for oid in sorted(existing_tables, key=lambda o: after[o][0]):
            if after[oid][2] != before[oid][2]:
                rewritten.add(oid)
                work.append(
                    (after[oid][0], "rewritten (new relfilenode): every row is copied, every index rebuilt")
                )
        for oid, (name, kind, node, _, table) in sorted(after.items(), key=lambda kv: kv[1][0]):
            if kind not in ("i", "I") or table not in existing_tables or table in rewritten:
                continue
            if oid not in before:
                work.append((after[table][0], f"index {name} built: the table is read in full"))
            elif before[oid][2] != node:
                work.append((after[table][0], f"index {name} rebuilt: the table is read in full"))
        for oid, (rel, name, ctype, valid) in sorted(self.after.constraints.items(), key=lambda kv: kv[1][1]):
            if rel not in existing_tables or rel in rewritten or not valid or ctype not in ("c", "f"):
                continue
            old = self.before.constraints.get(oid)
            if old is None or not old[3]:
                verb = "added and validated" if old is None else "validated"
                work.append((after[rel][0], f"constraint {name} {verb}: every row is checked"))
        for rel, column in sorted(self.after.not_nulls - self.before.not_nulls):
            if rel in existing_tables and rel not in rewritten:
                work.append((after[rel][0], f"column {column} set NOT NULL: every row is checked"))
        return work

    def lock_rows(self) -> list[tuple[str, str, int]]:
        """(relation, strongest mode, step index) for relations that existed before the install."""
        existing = {oid: v[0] for oid, v in self.before.storage.items() if v[1] in ("r", "p", "m")}
        rows = []
        for oid, modes in self.locks.items():
            if oid not in existing:
                continue
            mode = max(modes, key=LOCK_MODES.index)
            rows.append((existing[oid], mode, modes[mode]))
        return sorted(rows, key=lambda r: (-LOCK_MODES.index(r[1]), r[2], r[0]))

    def settings_changes(self) -> dict[str, tuple[list, list, list]]:
        out = {}
        for table in sorted(set(self.before.rows) | set(self.after.rows)):
            if table not in self.after.rows:
                continue
            old, new = self.before.rows.get(table, {}), self.after.rows[table]
            added = [new[k] for k in new if k not in old]
            removed = [old[k] for k in old if k not in new]
            changed = [(k, old[k], new[k]) for k in new if k in old and old[k] != new[k]]
            if added or removed or changed:
                out[table] = (added, changed, removed)
        return out

    def version_change(self) -> bool:
        return self.target_version not in self.before.versions

    def changes_anything(self) -> bool:
        created, changed, dropped = self.object_changes()
        return bool(
            created or changed or dropped or self.writes or self.table_work() or self.version_change()
        )

    @property
    def total_seconds(self) -> float:
        return sum(step.seconds for step in self.steps)


def run_plan(
    url: str,
    script: str,
    target_version: str,
    lock_timeout: str = "5s",
) -> Plan:
    """Run the install script in a transaction on `url`, describe what it did, roll it back."""
    statements = split_statements(script)
    if not statements:
        raise PlanError("the install script is empty")
    check_no_transaction_control(statements)
    notices: list[str] = []
    with psycopg.connect(url, autocommit=True, application_name="conductor plan") as conn:
        conn.add_notice_handler(lambda d: notices.append(f"{d.severity}: {d.message_primary}"))
        sequences_before = dict(conn.execute(SEQUENCES).fetchall())
        conn.execute("begin")
        try:
            conn.execute("select set_config('lock_timeout', %s, true)", (lock_timeout,))
            xid = conn.execute("select pg_catalog.txid_current()").fetchone()[0]
            # The install's own first lock: no other install can run between the two descriptions.
            conn.execute("select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('conductor install'))")
            before = _take(conn, _small_package_tables(conn))
            # The plan's own reads hold AccessShareLock until the rollback; they are not the install's.
            own = {tuple(row) for row in conn.execute(MY_LOCKS)}
            notices.clear()
            steps: list[Step] = []
            locks: dict[int, dict[str, int]] = {}
            last_file = None
            for index, st in enumerate(statements):
                if last_file is not None and st.file != last_file:
                    _note_locks(conn, locks, index - 1, own)
                last_file = st.file
                started = time.perf_counter()
                try:
                    conn.execute(st.sql, prepare=False)
                except psycopg.errors.LockNotAvailable as exc:
                    raise PlanError(
                        f"{st.file}:{st.line}: the install would wait for a lock another session holds "
                        f"(lock_timeout {lock_timeout} reached): {exc}. "
                        "The real install would wait there too, blocking every query queued behind it; "
                        "find the blocker in pg_stat_activity"
                    ) from exc
                except psycopg.Error as exc:
                    raise installer.InstallError(f"{st.file}:{st.line}: {exc}") from exc
                steps.append(Step(st.file, st, time.perf_counter() - started))
            _note_locks(conn, locks, len(statements) - 1, own)
            if conn.info.transaction_status != pq.TransactionStatus.INTRANS or (
                conn.execute("select pg_catalog.txid_current()").fetchone()[0] != xid
            ):
                raise PlanError("the install left its transaction: the plan cannot guarantee a rollback")
            writes, filled = {}, {}
            for name, is_matview, ins, upd, dele in conn.execute(WRITES, {"schemas": SCHEMAS}):
                if is_matview:
                    filled[name] = ins
                else:
                    writes[name] = (ins, upd, dele)
            small = sorted(set(before.rows) | {t for t in writes if t in _existing(conn, list(writes))})
            small = [t for t in small if _small(conn, t)]
            after = _take(conn, small)
        finally:
            if conn.info.transaction_status != pq.TransactionStatus.IDLE:
                conn.execute("rollback")
        sequences_after = dict(conn.execute(SEQUENCES).fetchall())
        leftover = conn.execute(
            "select count(*) from pg_catalog.pg_locks where pid = pg_catalog.pg_backend_pid() "
            "and locktype <> 'virtualxid' "
            "and not (locktype = 'relation' and relation = 'pg_catalog.pg_locks'::regclass)"
        ).fetchone()[0]
        if leftover:
            raise PlanError("locks outlived the rollback; the connection is closed to release them")
    advanced = {
        name: (sequences_before.get(name), value)
        for name, value in sequences_after.items()
        if value is not None and value != sequences_before.get(name)
    }
    plan = Plan(
        target=url,
        target_version=target_version,
        before=before,
        after=after,
        steps=steps,
        locks=locks,
        writes=writes,
        filled=filled,
        sequences=advanced,
        notices=notices,
    )
    plan.counts = row_counts(url, sorted({table for table, _ in plan.table_work()}))
    return plan


def _existing(conn: psycopg.Connection, tables: list[str]) -> set[str]:
    return {t for t in tables if conn.execute("select to_regclass(%s) is not null", (t,)).fetchone()[0]}


def _small(conn: psycopg.Connection, table: str) -> bool:
    count = conn.execute(
        f"select count(*) from (select from {table} limit {SMALL_TABLE_ROWS + 1}) as t"
    ).fetchone()[0]
    return count <= SMALL_TABLE_ROWS


def _note_locks(conn: psycopg.Connection, locks: dict[int, dict[str, int]], step: int, own: set) -> None:
    for relation, mode in conn.execute(MY_LOCKS):
        if (relation, mode) in own:
            continue
        locks.setdefault(relation, {}).setdefault(mode, step)


def row_counts(url: str, tables: list[str], exact_limit: int = 10_000_000) -> dict[str, tuple[int, bool]]:
    """Rows of each table: exact (count(*)) unless the estimate passes exact_limit. Read-only."""
    out: dict[str, tuple[int, bool]] = {}
    if not tables:
        return out
    with psycopg.connect(url, autocommit=True, application_name="conductor plan") as conn:
        for table in tables:
            estimate = conn.execute(
                "select reltuples::bigint from pg_catalog.pg_class where oid = %s::regclass", (table,)
            ).fetchone()[0]
            if estimate is not None and estimate > exact_limit:
                out[table] = (estimate, False)
            else:
                out[table] = (conn.execute(f"select count(*) from {table}").fetchone()[0], True)
    return out


# --------------------------------------------------------------------------------------------
# Sources of the install script.


def tree_script(sql_dir: Path = installer.SQL_DIR) -> tuple[str, str]:
    """The tree's install as one script, and its version."""
    ver = installer.version(sql_dir.parent)
    return installer.flatten(sql_dir / "install.sql", {"conductor_version": ver}), ver


def release_script(path: Path) -> tuple[str, str]:
    return path.read_text(), path.stem.removeprefix("conductor-")


# --------------------------------------------------------------------------------------------
# The report.


def _fmt_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(),
        new.splitlines(),
        fromfile=f"installed/{name}",
        tofile=f"install/{name}",
        lineterm="",
        n=2,
    )
    return "\n".join(lines)


def _row_text(row: dict) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in row.items() if v is not None)
    return text if len(text) <= 200 else text[:197] + "..."


def _is_dependent(key: tuple[str, str], parent: str | None, keys: set[tuple[str, str]]) -> bool:
    if parent is None:
        return False
    kind, _, identity = parent.partition(" ")
    if kind == "materialized":
        kind, identity = "materialized view", identity.removeprefix("view ")
    if kind == "foreign":
        kind, identity = "foreign table", identity.removeprefix("table ")
    return (kind, identity) in keys


def render(plan: Plan, title: str | None = None) -> str:
    created, changed, dropped = plan.object_changes()
    work = plan.table_work()
    locks = plan.lock_rows()
    settings = plan.settings_changes()
    installed = plan.before.versions[-1] if plan.before.versions else None
    out: list[str] = []
    out.append(f"# {title or 'Install plan'}")
    out.append("")
    out.append(
        f"Installed version: **{installed or 'none'}**; target version: **{plan.target_version}**"
        + (" (new row in conductor.installed_versions)" if plan.version_change() else "")
        + "."
    )
    out.append(
        f"The install ran in {_fmt_seconds(plan.total_seconds)} ({len(plan.steps)} statements) "
        "inside a transaction that was rolled back: nothing was changed."
    )
    out.append("")
    if not plan.changes_anything():
        out.append("**Nothing would change.** Every object would be re-created exactly as it is.")
    else:
        out.append(
            f"**The install would change the database**: {len(created)} objects created, "
            f"{len(changed)} changed, "
            f"{len(dropped)} dropped; {len(work)} table operations that read or rewrite existing rows; "
            f"rows written in {len(plan.writes)} tables."
        )
    out.append("")

    out.append("## Tables rewritten or scanned")
    out.append("")
    if work:
        out.append("| table | what | rows |")
        out.append("|---|---|---:|")
        for table, what in work:
            count, exact = plan.counts.get(table, (None, True))
            shown = "?" if count is None else f"{count:,}" if exact else f"~{count:,} (estimate)"
            out.append(f"| `{table}` | {what} | {shown} |")
    else:
        out.append("None: no existing table is rewritten, and no constraint or index reads one in full.")
    out.append("")

    out.append("## Locks on existing tables")
    out.append("")
    if locks:
        total = plan.total_seconds
        starts = []
        acc = 0.0
        for step in plan.steps:
            starts.append(acc)
            acc += step.seconds
        out.append(
            "Every lock is held until the install commits. *Held* is measured in this run: from the start of "
            "the file that took the lock to the end of the install."
        )
        out.append("")
        out.append("| strongest lock | blocks | taken in | held | tables |")
        out.append("|---|---|---|---:|---|")
        first_of_file: dict[str, int] = {}
        for i, step in enumerate(plan.steps):
            first_of_file.setdefault(step.file, i)
        groups: dict[tuple[str, str], list[str]] = {}
        for table, mode, step_index in locks:
            groups.setdefault((mode, plan.steps[step_index].file), []).append(table)
        for (mode, file), tables in groups.items():
            held = total - starts[first_of_file[file]]
            out.append(
                f"| {mode} | {LOCK_BLOCKS[mode]} | `{file}` | {_fmt_seconds(held)} | "
                + ", ".join(f"`{t}`" for t in sorted(tables))
                + " |"
            )
    else:
        out.append("The install locks no existing table.")
    out.append("")
    slow = sorted(plan.steps, key=lambda s: -s.seconds)[:5]
    if slow:
        out.append("Slowest statements in this run:")
        out.append("")
        for step in slow:
            out.append(
                f"- {_fmt_seconds(step.seconds)} `{step.statement.file}:{step.statement.line}` "
                f"`{step.statement.summary.replace('`', '')}`"
            )
        out.append("")

    out.append("## Rows written")
    out.append("")
    if plan.writes:
        out.append("| table | inserted | updated | deleted |")
        out.append("|---|---:|---:|---:|")
        for table, (ins, upd, dele) in sorted(plan.writes.items()):
            out.append(f"| `{table}` | {ins:,} | {upd:,} | {dele:,} |")
    else:
        out.append("None.")
    out.append("")
    if plan.filled:
        out.append(
            "Materialized views the install re-creates and fills (every install does; not a change): "
            + ", ".join(f"`{name}` ({rows:,} rows)" for name, rows in sorted(plan.filled.items()))
            + "."
        )
        out.append("")

    out.append("## Settings, thresholds and other small tables: rows added, changed, removed")
    out.append("")
    if settings:
        for table, (added, changed_rows, removed) in settings.items():
            out.append(
                f"### `{table}`: {len(added)} added, {len(changed_rows)} changed, {len(removed)} removed"
            )
            out.append("")
            shown = 0
            for label, rows in (("added", added), ("removed", removed)):
                for row in rows:
                    if shown < ROWS_SHOWN:
                        out.append(f"- {label}: {_row_text(row)}")
                    shown += 1
            for key, old, new in changed_rows:
                if shown < ROWS_SHOWN:
                    delta = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
                    out.append(
                        f"- changed {key}: " + ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in delta.items())
                    )
                shown += 1
            if shown > ROWS_SHOWN:
                out.append(f"- ... and {shown - ROWS_SHOWN} more")
            out.append("")
    else:
        out.append("None added, changed or removed.")
        out.append("")

    out.append("## Objects")
    out.append("")
    for label, keys, objects in (
        ("Created", created, plan.after.objects),
        ("Dropped", dropped, plan.before.objects),
    ):
        keyset = set(keys)
        main = [k for k in keys if not _is_dependent(k, objects[k][0], keyset)]
        dependent = len(keys) - len(main)
        out.append(
            f"### {label} ({len(keys)})"
            + (f": {len(main)} listed, {dependent} belong to them" if dependent else "")
        )
        out.append("")
        if not main:
            out.append("None.")
        by_kind: dict[str, list[str]] = {}
        for kind, identity in main:
            by_kind.setdefault(kind, []).append(identity)
        for kind, identities in sorted(by_kind.items()):
            out.append(f"- {kind} ({len(identities)}): " + ", ".join(f"`{i}`" for i in identities))
        out.append("")
    out.append(f"### Changed ({len(changed)})")
    out.append("")
    if not changed:
        out.append("None: every object the install re-creates comes back with the same definition.")
        out.append("")
    for kind, identity in changed:
        out.append(f"#### {kind} `{identity}`")
        out.append("")
        out.append("```diff")
        out.append(
            _diff(plan.before.objects[(kind, identity)][1], plan.after.objects[(kind, identity)][1], identity)
        )
        out.append("```")
        out.append("")
    if not plan.before.cron or not plan.after.cron:
        out.append("pg_cron is not installed in this database, so cron jobs are not compared.")
        out.append("")

    out.append("## Side effects a rollback does not undo")
    out.append("")
    if plan.sequences:
        for name, (old, new) in sorted(plan.sequences.items()):
            out.append(
                f"- sequence `{name}` advanced from {old} to {new}: values are never handed out twice, "
                "so ids skip these numbers (the install itself does the same)"
            )
    else:
        out.append("None: no sequence advanced.")
    out.append("")
    if plan.notices:
        out.append("## Messages from the install")
        out.append("")
        for notice in plan.notices:
            out.append(f"- {notice}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------------------------
# Plans between two releases, on a scratch database.


def plan_between(
    admin_url: str,
    from_script: Path,
    to: Path | None = None,
    sql_dir: Path = installer.SQL_DIR,
    setup_sql: str | None = None,
) -> tuple[Plan, str]:
    """Install `from_script` into a new scratch database on admin_url's server, plan `to` (a release
    file, or the tree) against it, drop the scratch database. Returns the plan and its report."""
    import os

    name = f"conductor_plan_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    scratch = psycopg.conninfo.make_conninfo(admin_url, dbname=name)
    try:
        installer.run_script(scratch, from_script)
        if setup_sql:
            with psycopg.connect(scratch, autocommit=True) as conn:
                conn.execute(setup_sql)
        script, version = release_script(to) if to else tree_script(sql_dir)
        plan = run_plan(scratch, script, version)
        target = to.name if to else "the tree"
        report = render(plan, f"Install plan: {from_script.name} -> {target}")
        return plan, report
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')
