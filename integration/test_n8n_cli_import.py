"""The documented `n8n import:workflow` commands, run by a real n8n CLI: each example workflow is
imported and its HTTP Request nodes are bound to the credential the file names, even when another
Supabase credential was created first; a re-import replaces the workflow instead of adding one.

n8n is not part of the package, so this check is not in `make test` (it downloads Node.js 24 and
n8n 2.41.1 from the npm registry and compiles sqlite3: a few minutes). `make test-n8n` installs
them into .local/n8n (tools/ensure-n8n.sh) and runs it with N8N_CLI set to that CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
N8N = os.environ.get("N8N_CLI", "")
if not N8N:
    raise RuntimeError("N8N_CLI must name an n8n executable: run `make test-n8n`")

# Created in this order: a lookup that ignores the name would pick the staging one.
CREDENTIALS = [
    {"id": "stagingCred00001", "name": "Supabase staging", "type": "supabaseApi"},
    {"id": "supabaseCred0001", "name": "Supabase", "type": "supabaseApi"},
    {"id": "serviceRoleCred1", "name": "Supabase service role", "type": "supabaseApi"},
]


def n8n(home: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "N8N_USER_FOLDER": str(home),
        "N8N_ENCRYPTION_KEY": "conductor-test-key",
        "N8N_DIAGNOSTICS_ENABLED": "false",
        "N8N_VERSION_NOTIFICATIONS_ENABLED": "false",
        "DB_TYPE": "sqlite",
    }
    result = subprocess.run(
        [N8N, *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"n8n {' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.stdout


@pytest.fixture
def home(tmp_path: Path) -> Path:
    credentials = [
        {**c, "data": {"host": f"https://{c['id'].lower()}.supabase.co", "serviceRole": "key"}}
        for c in CREDENTIALS
    ]
    (tmp_path / "credentials.json").write_text(json.dumps(credentials))
    n8n(tmp_path, "import:credentials", f"--input={tmp_path / 'credentials.json'}")
    return tmp_path


def exported(home: Path) -> dict[str, dict]:
    n8n(home, "export:workflow", "--all", f"--output={home / 'export.json'}")
    return {w["id"]: w for w in json.loads((home / "export.json").read_text())}


def documented_commands() -> list[list[str]]:
    text = (ROOT / "docs" / "n8n.md").read_text()
    block = text.split("## The example workflows", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].split()[1:] for line in block.splitlines() if line.startswith("n8n ")]


def files() -> dict[str, dict]:
    return {
        w["id"]: w
        for w in (json.loads(p.read_text()) for p in sorted((ROOT / "docs" / "n8n").glob("*.json")))
    }


@pytest.mark.parametrize("command", documented_commands(), ids=lambda c: " ".join(c))
def test_a_documented_import_binds_the_named_credential(home, command):
    n8n(home, *command)
    workflows = exported(home)
    expected = {i: w for i, w in files().items() if i in workflows}
    assert expected, f"{command} imported none of the example workflows"
    for workflow_id, original in expected.items():
        bound = {
            node["name"]: node["credentials"]["supabaseApi"]
            for node in workflows[workflow_id]["nodes"]
            if "supabaseApi" in node.get("credentials", {})
        }
        # The Blaze workflows' requests to Blaze use another credential (Blaze partner API).
        expected_bound = sum("supabaseApi" in node.get("credentials", {}) for node in original["nodes"])
        assert len(bound) == expected_bound > 0
        for node, credential in bound.items():
            assert credential == {"id": "serviceRoleCred1", "name": "Supabase service role"}, (
                workflow_id,
                node,
            )


def test_importing_again_replaces_the_workflow(home):
    for _ in range(2):
        n8n(home, "import:workflow", "--separate", "--input=docs/n8n/")
    n8n(home, "import:workflow", "--input=docs/n8n/daily_win_back.json")
    assert sorted(exported(home)) == sorted(files())
