"""`make plan`: the install run in a transaction that is rolled back, described object by object.

A plan of the tree over itself reports nothing and exits 0; a plan over the newest release lists
exactly the objects whose pg_dump entries differ between that release and a fresh install of the
tree; a plan leaves the target dump- and row-identical and holds no lock afterwards; a column with
a volatile default is reported as a rewrite with its row count; `make migration` writes the plan
beside the migration.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import psycopg
import pytest

from conductor_dev import cli, installer, plan
from conductor_dev.localdb import bindir
from tests.install.test_install_properties import SAMPLE_ROWS, load_sample, package_rows


def pg_dump(url: str, *args: str) -> str:
    result = subprocess.run(
        [str(bindir() / "pg_dump"), "--no-tablespaces", *args, "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return "\n".join(
        line for line in result.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    )


HEADER = re.compile(r"^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$")


def dump_entries(url: str) -> dict[tuple[str, str, str], str]:
    """pg_dump --schema-only as {(type, schema, name): body}."""
    entries: dict[tuple[str, str, str], str] = {}
    key, body = None, []
    for line in pg_dump(url, "--schema-only").splitlines() + ["-- Name: end; Type: END; Schema: -; Owner: -"]:
        match = HEADER.match(line)
        if match:
            if key:
                entries[key] = "\n".join(x for x in body if x and not x.startswith("--"))
            key, body = (match.group(2), match.group(3), match.group(1)), []
        else:
            body.append(line)
    return entries


def _base(name: str) -> str:
    return name.split("(", 1)[0].strip().strip('"')


def dump_target(key: tuple[str, str, str], body: str) -> str:
    """The table, view, function, type or schema a pg_dump entry belongs to: schema.name."""
    kind, schema, name = key
    if kind == "INDEX":
        table = re.search(r" ON (?:ONLY )?([\w.\"]+) USING", body).group(1)
        return table.replace('"', "")
    if kind in ("CONSTRAINT", "FK CONSTRAINT", "CHECK CONSTRAINT", "TRIGGER", "POLICY", "DEFAULT"):
        return f"{schema}.{_base(name.split(' ', 1)[0])}"
    if kind in ("COMMENT", "ACL"):
        what, _, rest = name.partition(" ")
        if what == "SCHEMA":
            return rest
        if what in ("MATERIALIZED", "FOREIGN"):
            rest = rest.split(" ", 1)[1]
        if " ON " in rest:
            return f"{schema}.{_base(rest.split(' ON ', 1)[1])}"
        if what == "COLUMN":
            return f"{schema}.{_base(rest.split('.', 1)[0])}"
        return f"{schema}.{_base(rest)}"
    if kind == "SCHEMA":
        return name
    return (
        f"{schema}.{_base(name.split(' ', 1)[0] if kind in ('ROW SECURITY', 'SEQUENCE OWNED BY') else name)}"
    )


def plan_target(kind: str, identity: str, parent: str | None) -> str | None:
    """The same for an object of the plan; None for what pg_dump of one database does not show."""
    if kind in ("role", "extension", "cron job"):
        return None
    if kind == "schema":
        return identity
    if kind in ("comment", "grants"):
        what, _, rest = identity.partition(" ")
        if what in ("materialized", "foreign"):
            what, rest = what + " " + rest.split(" ", 1)[0], rest.split(" ", 1)[1]
        return plan_target(what, rest, None) if what != "column" else rest.rsplit(".", 1)[0].replace('"', "")
    if parent:
        return parent.split(" ", 1)[1].removeprefix("view ").removeprefix("table ").replace('"', "")
    if " on " in identity:
        return identity.split(" on ", 1)[1].replace('"', "")
    return _base(identity).replace('"', "")


def attached_index_table(entries: dict, schema: str, index: str) -> str:
    """The table of a partition's index (an INDEX ATTACH entry names only the index): the one its
    own INDEX or CONSTRAINT entry puts it on."""
    for (kind, entry_schema, name), body in entries.items():
        if entry_schema == schema and (
            (kind == "INDEX" and name == index) or (kind == "CONSTRAINT" and name.endswith(" " + index))
        ):
            return dump_target((kind, entry_schema, name), body)
    raise AssertionError(f"no entry creates the attached index {schema}.{index}")


def changed_targets(before: dict, after: dict) -> set[str]:
    keys = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return {
        attached_index_table({**before, **after}, k[1], k[2])
        if k[0] == "INDEX ATTACH"
        else dump_target(k, after.get(k) or before.get(k))
        for k in keys
        if k[0] != "MATERIALIZED VIEW DATA"
    }


def run_cli(monkeypatch, capsys, url: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    status = cli.main(["plan", *args])
    return status, capsys.readouterr().out


def test_a_plan_of_the_tree_over_itself_reports_nothing_and_exits_0(empty_db, monkeypatch, capsys) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)

    status, report = run_cli(monkeypatch, capsys, empty_db.url)

    assert status == 0, report
    assert "**Nothing would change.**" in report
    assert "### Created (0)" in report and "### Dropped (0)" in report and "### Changed (0)" in report


def newest_release_with_sample(database) -> None:
    installer.run_script(database.url, installer.releases()[-1])
    load_sample(database.url)


def test_a_plan_over_the_newest_release_lists_exactly_what_an_upgrade_changes(empty_db, pg_cluster) -> None:
    newest_release_with_sample(empty_db)
    release_entries = dump_entries(empty_db.url)

    script, version = plan.tree_script()
    result = plan.run_plan(empty_db.url, script, version)

    fresh_name = empty_db.name + "_fresh"
    pg_cluster.psql(f'create database "{fresh_name}"')
    try:
        installer.install(pg_cluster.url(fresh_name))
        fresh_entries = dump_entries(pg_cluster.url(fresh_name))
    finally:
        pg_cluster.psql(f'drop database "{fresh_name}"')
    expected = changed_targets(release_entries, fresh_entries)
    created, changed, dropped = result.object_changes()
    objects = {**result.before.objects, **result.after.objects}
    reported = {
        plan_target(kind, identity, objects[(kind, identity)][0])
        for kind, identity in created + changed + dropped
    }
    reported.discard(None)
    assert expected, "the tree differs from its newest release (otherwise this test proves nothing)"
    assert reported == expected
    assert result.changes_anything()
    assert dump_entries(empty_db.url) == release_entries


def test_a_plan_leaves_the_database_dump_and_row_identical_and_holds_no_lock(
    empty_db, monkeypatch, capsys
) -> None:
    newest_release_with_sample(empty_db)
    empty_db.execute("vacuum analyze")
    full_dump, rows = pg_dump(empty_db.url), package_rows(empty_db.url)

    status, report = run_cli(monkeypatch, capsys, empty_db.url)

    assert status == 2
    assert "**The install would change the database**" in report
    after = pg_dump(empty_db.url)
    # Sequence values are not transactional: a setval line may differ only for a sequence the
    # report names as advanced.
    changed = set(full_dump.splitlines()) ^ set(after.splitlines())
    named = re.findall(r"sequence `([^`]+)` advanced", report)
    assert all(line.startswith("SELECT pg_catalog.setval(") for line in changed), changed
    assert {re.search(r"setval\('([^']+)'", line).group(1) for line in changed} <= set(named)
    assert package_rows(empty_db.url) == rows
    assert (
        empty_db.scalar(
            "select count(*) from pg_locks where pid <> pg_backend_pid() "
            "and (database = (select oid from pg_database where datname = current_database()) "
            "or locktype in ('transactionid', 'advisory'))"
        )
        == 0
    )
    assert (
        empty_db.scalar("select count(*) from pg_stat_activity where application_name = 'conductor plan'")
        == 0
    )


def patched_tree(tmp_path, table_file: str, extra_sql: str):
    root = tmp_path / "patched"
    shutil.copytree(installer.SQL_DIR, root / "sql")
    shutil.copy(installer.ROOT / "VERSION", root / "VERSION")
    with open(root / "sql" / table_file, "a") as fh:
        fh.write("\n" + extra_sql + "\n")
    return root / "sql"


def test_a_column_with_a_volatile_default_is_reported_as_a_rewrite_with_its_row_count(
    empty_db, tmp_path
) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    customers = empty_db.scalar("select count(*) from public.customers")
    sql_dir = patched_tree(
        tmp_path,
        "tables/customers.sql",
        "alter table public.customers add column if not exists plan_probe double precision default random();",
    )

    script, version = plan.tree_script(sql_dir)
    result = plan.run_plan(empty_db.url, script, version)
    report = plan.render(result)

    assert [what for table, what in result.table_work() if table == "public.customers"] == [
        "rewritten (new relfilenode): every row is copied, every index rebuilt"
    ]
    assert result.counts["public.customers"] == (customers, True)
    assert (
        "| `public.customers` | rewritten (new relfilenode): every row is copied, every index rebuilt "
        f"| {customers} |" in report
    )
    assert ("column", "public.customers.plan_probe") in result.object_changes()[0]
    assert result.changes_anything()
    assert empty_db.scalar("select count(*) from pg_attribute where attname = 'plan_probe'") == 0


def test_a_plan_gives_up_instead_of_queueing_behind_another_sessions_lock(empty_db) -> None:
    installer.install(empty_db.url)
    load_sample(empty_db.url)
    rows = package_rows(empty_db.url)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(empty_db.url) as conn:
            conn.execute("lock table public.customers in access share mode")
            holding.set()
            release.wait(120)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(60)
        script, version = plan.tree_script()
        with pytest.raises(plan.PlanError, match="would wait for a lock"):
            plan.run_plan(empty_db.url, script, version, lock_timeout="300ms")
    finally:
        release.set()
        holder.join(120)
    assert package_rows(empty_db.url) == rows


def test_a_script_that_ends_its_own_transaction_is_refused_before_anything_runs(empty_db) -> None:
    script = "-- >>> sql/x.sql\ncreate table public.plan_probe (id int);\ncommit;\n"
    with pytest.raises(
        plan.PlanError, match=r"sql/x.sql:2: the install script ends or splits its own transaction"
    ):
        plan.run_plan(empty_db.url, script, "0")
    assert empty_db.scalar("select to_regclass('public.plan_probe')") is None


def test_statements_are_split_at_top_level_semicolons_only() -> None:
    script = (
        "-- >>> sql/a.sql\n-- header; not a statement\nselect 'a;b', \"x;y\", E'\\';';\n"
        "create function f() returns int language plpgsql as $f$ begin return 1; end $f$;\n"
        "-- >>> sql/b.sql\n/* c; /* nested; */ */ select $$;$$;\n"
    )
    statements = plan.split_statements(script)
    assert [(s.file, s.line) for s in statements] == [("sql/a.sql", 2), ("sql/a.sql", 3), ("sql/b.sql", 1)]
    assert statements[1].sql.endswith("end $f$")


def test_make_migration_writes_the_plan_beside_the_migration(empty_db, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db.url)
    assert cli.main(["migration", "--out", str(tmp_path)]) == 0
    migration = next(tmp_path.glob("*_conductor_*.sql"))
    report = (tmp_path / (migration.stem + ".plan.md")).read_text()
    assert f"Installed version: **none**; target version: **{installer.version()}**" in report
    assert "### Created (" in report and "public.get_customer_insights(text)" in report
    assert empty_db.scalar("select to_regnamespace('conductor')") is None


def test_plan_from_a_release_on_a_scratch_database(pg_cluster, monkeypatch, capsys) -> None:
    newest = installer.releases()[-1]
    status = cli.main(
        ["plan", "--from", str(newest), "--to", str(newest), "--scratch-url", pg_cluster.url("postgres")]
    )
    report = capsys.readouterr().out
    # A release over itself re-creates every object as it was; older releases rewrote their
    # registry rows on each install, which the plan reports as rows written (exit status 2).
    assert "### Created (0)" in report and "### Dropped (0)" in report and "### Changed (0)" in report
    assert (status, "**Nothing would change.**" in report) in ((0, True), (2, False))
    assert status == 0 or "## Rows written\n\n| table" in report
    result, _ = plan.plan_between(pg_cluster.url("postgres"), newest, setup_sql=SAMPLE_ROWS)
    assert result.before.versions == [newest.stem.removeprefix("conductor-")]
    assert result.target_version == installer.version()
    scratch = pg_cluster.psql("select count(*) from pg_database where datname like 'conductor_plan_%'")
    assert scratch.strip() == "0"


def test_a_changed_cron_schedule_is_a_change_and_the_job_ids_it_takes_are_reported(cron_db, tmp_path) -> None:
    sql_dir = patched_tree(tmp_path, "cron/sync.sql", "")
    job_file = sql_dir / "cron" / "refresh_win_back.sql"
    job_file.write_text(job_file.read_text().replace("'15 * * * *'", "'20 * * * *'"))
    schedule = "select schedule from cron.job where jobname = 'conductor_refresh_win_back'"
    assert cron_db.scalar(schedule) == "15 * * * *"

    script, version = plan.tree_script(sql_dir)
    result = plan.run_plan(cron_db.url, script, version)

    key = ("cron job", "conductor_refresh_win_back")
    assert key in result.object_changes()[1]
    diff = plan.render(result)
    assert "-schedule 15 * * * *" in diff and "+schedule 20 * * * *" in diff
    assert cron_db.scalar(schedule) == "15 * * * *"
    # cron.schedule takes a job id for every job it upserts, and a rollback does not give it back.
    assert "cron.jobid_seq" in result.sequences
    old, new = result.sequences["cron.jobid_seq"]
    assert new - old >= len([k for k in result.after.objects if k[0] == "cron job" and "conductor_" in k[1]])
