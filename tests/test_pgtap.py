"""Runs every pgTAP file under tests/pgtap as its own test item, on a fresh clone.

A file passes when psql exits cleanly, the plan line is present, as many `ok` lines as planned
were printed and none of them is `not ok`.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PGTAP_DIR = Path(__file__).parent / "pgtap"
FILES = sorted(PGTAP_DIR.rglob("*.sql"))


def run_tap(url: str, path: Path) -> str:
    result = subprocess.run(
        [
            "psql",
            "-X",
            "-q",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            "set search_path = public, extensions",
            "-f",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def check_tap(output: str) -> None:
    plan = re.search(r"^1\.\.(\d+)$", output, re.MULTILINE)
    assert plan, f"no plan line:\n{output}"
    failures = re.findall(r"^not ok .*$", output, re.MULTILINE)
    assert not failures, "\n".join(failures) + "\n\n" + output
    passed = re.findall(r"^ok \d+", output, re.MULTILINE)
    assert len(passed) == int(plan.group(1)), f"planned {plan.group(1)}, ran {len(passed)}:\n{output}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PGTAP_DIR)) for p in FILES])
def test_pgtap(path: Path, request: pytest.FixtureRequest) -> None:
    fixture = "seeded_db" if "seeded" in path.parts else "db"
    database = request.getfixturevalue(fixture)
    check_tap(run_tap(database.url, path))


def test_pgtap_files_exist() -> None:
    assert FILES, "no pgTAP files found"
