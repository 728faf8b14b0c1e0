"""`conductor-dev`: what the Makefile targets run.

Without DATABASE_URL every command works on the project-local cluster in `.local/pgdata`
(port 54330, database `conductor`, pg_cron preloaded). With DATABASE_URL it works on that
database and never starts a server.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from conductor_dev import csvimport, installer
from conductor_dev.localdb import Cluster
from conductor_dev.plan import PlanError

LOCAL = Cluster(
    datadir=installer.ROOT / ".local" / "pgdata",
    port=int(os.environ.get("CONDUCTOR_LOCAL_PORT", "54330")),
    cron_database="conductor",
)


def target_url(start: bool = True) -> tuple[str, bool]:
    """The database to work on, and whether it is the local demo cluster."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, False
    if start:
        LOCAL.start()
    return LOCAL.url(), True


def cmd_db_start(args: argparse.Namespace) -> None:
    LOCAL.start()
    print(f"local PostgreSQL running: DATABASE_URL={LOCAL.url()}")


def cmd_db_stop(args: argparse.Namespace) -> None:
    LOCAL.stop()
    print("local PostgreSQL stopped")


def cmd_install(args: argparse.Namespace) -> None:
    url, local = target_url()
    with_demo = args.demo if args.demo is not None else local
    installer.install(url)
    print(f"installed conductor {installer.version()} into {redact(url)}")
    if with_demo:
        from conductor_dev import seed

        report = seed.load(url, scale=args.scale)
        print(report)
    from conductor_dev import summary

    print(summary.describe(url))


def cmd_uninstall(args: argparse.Namespace) -> None:
    url, _ = target_url()
    installer.uninstall(url, drop_data=args.drop_data)
    kept = "dropped its tables and data" if args.drop_data else "kept the tables and their data"
    print(f"uninstalled conductor from {redact(url)}; {kept}")


def cmd_seed(args: argparse.Namespace) -> None:
    from conductor_dev import seed

    url, _ = target_url()
    print(seed.load(url, scale=args.scale))


def cmd_import(args: argparse.Namespace) -> None:
    url, _ = target_url()
    files = [csvimport.parse_file_argument(a) for a in args.files]
    result = csvimport.import_files(url, files, source=args.source, encoding=args.encoding)
    print(csvimport.describe(result))


def _shown(path: Path) -> Path:
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def cmd_migration(args: argparse.Namespace) -> int:
    path = installer.write_migration(Path(args.out))
    print(f"wrote {_shown(path)}")
    if not args.plan:
        return 0
    from conductor_dev import plan

    url, _ = target_url()
    result = plan.run_plan(url, path.read_text(), installer.version())
    report_path = path.with_name(path.stem + ".plan.md")
    report_path.write_text(plan.render(result, f"Install plan: {path.name} on {redact(url)}"))
    print(f"wrote {_shown(report_path)}: what this migration would do to {redact(url)}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Print what an install would do; exit 2 when it would change something, 0 when not."""
    from conductor_dev import plan

    to = Path(args.to) if args.to else None
    if args.from_release:
        if args.scratch_url:
            admin = args.scratch_url
        else:
            LOCAL.start()
            admin = LOCAL.url("postgres")
        result, report = plan.plan_between(admin, Path(args.from_release), to)
    else:
        url, _ = target_url()
        script, ver = plan.release_script(to) if to else plan.tree_script()
        result = plan.run_plan(url, script, ver, lock_timeout=args.lock_timeout)
        report = plan.render(result, f"Install plan: {to.name if to else 'the tree'} on {redact(url)}")
    if args.out:
        Path(args.out).write_text(report)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(report, end="")
    return 2 if result.changes_anything() else 0


def cmd_release(args: argparse.Namespace) -> None:
    path = installer.write_release()
    print(f"wrote {path.relative_to(installer.ROOT)}; commit it and tag the commit v{installer.version()}")


def cmd_report(args: argparse.Namespace) -> None:
    try:
        from conductor_dev import report
    except ModuleNotFoundError as exc:
        if exc.name != "plotly" and not (exc.name or "").startswith("plotly."):
            raise
        sys.exit("conductor-dev report needs plotly: pip install '.[report]' (make venv installs it)")

    url, _ = target_url()
    path = report.write(url, Path(args.out), min_baskets=args.min_baskets)
    print(f"wrote {_shown(path.resolve())}: the report of {redact(url)}; open it in a browser")


def cmd_url(args: argparse.Namespace) -> None:
    print(target_url(start=False)[0])


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}@{host}"
    return url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="conductor-dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("db-start", help="start the project-local PostgreSQL").set_defaults(func=cmd_db_start)
    sub.add_parser("db-stop", help="stop the project-local PostgreSQL").set_defaults(func=cmd_db_stop)
    sub.add_parser("url", help="print the database URL commands use").set_defaults(func=cmd_url)
    p = sub.add_parser("install", help="install or upgrade the package")
    p.add_argument(
        "--demo",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="load demo data (default: only into the local cluster)",
    )
    p.add_argument("--scale", type=float, default=1.0, help="demo data scale factor (1 = seed volumes)")
    p.set_defaults(func=cmd_install)
    p = sub.add_parser("uninstall", help="remove the package's code layer")
    p.add_argument("--drop-data", action="store_true", help="also drop the package's tables and data")
    p.set_defaults(func=cmd_uninstall)
    p = sub.add_parser("seed", help="generate and import demo data")
    p.add_argument("--scale", type=float, default=1.0)
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser(
        "import",
        help="import POS CSV exports (customers.csv, transactions=export.csv, ...) through the import path",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="[ENTITY=]FILE",
        help="a CSV file with a header line; the entity (customers, products, staff, transactions, "
        "transaction_items) is the file name without .csv, or given as ENTITY=FILE",
    )
    p.add_argument(
        "--encoding",
        default="UTF8",
        help="encoding of the files, any PostgreSQL encoding name (default UTF8; e.g. LATIN1, WIN1252)",
    )
    p.add_argument("--source", help="label of this load in conductor.import_batches (default: the time)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("migration", help="write the install as one Supabase migration file")
    p.add_argument("--out", default="supabase/migrations")
    p.add_argument(
        "--plan",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also write <migration>.plan.md: what it would do to the target database (default: on)",
    )
    p.set_defaults(func=cmd_migration)
    p = sub.add_parser(
        "plan",
        help="show what an install would change, by running it in a transaction that is rolled back",
        description="Exit status: 0 nothing would change, 2 something would, 1 error.",
    )
    p.add_argument(
        "--from",
        dest="from_release",
        metavar="RELEASE_SQL",
        help="install this release file into a scratch database first (the plan then shows the upgrade)",
    )
    p.add_argument("--to", metavar="RELEASE_SQL", help="plan this release file instead of the tree")
    p.add_argument(
        "--scratch-url",
        help="with --from: a connection to the server where the scratch database is created "
        "(default: the local cluster)",
    )
    p.add_argument("--lock-timeout", default="5s", help="give up rather than wait this long for a lock")
    p.add_argument("--out", help="write the Markdown report to this file instead of stdout")
    p.set_defaults(func=cmd_plan)
    p = sub.add_parser(
        "report",
        help="write the shop owner's report: one self-contained HTML page with charts, readable offline",
    )
    p.add_argument("--out", default="report.html", help="the page to write (default report.html)")
    p.add_argument(
        "--min-baskets",
        type=int,
        default=20,
        help="bought-together pairs must share at least this many baskets (default 20)",
    )
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("release", help="freeze the install as releases/conductor-<version>.sql")
    p.set_defaults(func=cmd_release)
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except installer.InstallError as exc:
        print(f"install failed, nothing was changed:\n{exc}", file=sys.stderr)
        return 1
    except PlanError as exc:
        print(f"plan failed, nothing was changed:\n{exc}", file=sys.stderr)
        return 1
    except csvimport.CsvImportError as exc:
        print(f"import failed, nothing was imported:\n{exc}", file=sys.stderr)
        return 1
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
