"""docs/n8n.md and the example workflows stay true to the installed API: every function the
document lists exists in public with exactly the documented argument names (what PostgREST maps
JSON keys to), every RPC an example workflow calls exists and accepts every key its JSON body
sends, and each workflow is a well-formed n8n workflow (nodes with unique names, ids and known
types; connections between existing nodes; a trigger; the Supabase credential on every HTTP node).

The workflow files also follow the rules of n8n's `import:workflow` command (n8n 2.41,
packages/cli: commands/import/workflow.ts, services/import.service.ts, workflow-helpers.ts
replaceInvalidCredentials), which these tests restate:
- `--separate --input=<dir>` reads every `*.json` file directly in the folder, one workflow object
  each, and gives a workflow without `id` a new one; `--input=<file>` reads one object or an array
  and stores `id` as it is, so a workflow without `id` fails there (NOT NULL on workflow_entity.id).
- A credential reference `{"id": null, "name": N}` is bound to the one credential of that type
  named N in the target project, else left unbound. A reference with a name but no `id` key is
  looked up by id = undefined, which matches any credential of the type: the first one wins.
- Structure checks before saving: node name, type and a two-number position; unique node names
  and ids; connections of {node, type, index >= 0} between existing nodes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
WORKFLOWS = sorted((DOCS / "n8n").glob("*.json"))
ROOT = DOCS.parent
# The node types the examples use, with the versions n8n 2.41 (n8n-nodes-base) knows.
NODE_VERSIONS = {
    "n8n-nodes-base.scheduleTrigger": {1, 1.1, 1.2, 1.3, 1.4},
    "n8n-nodes-base.set": {1, 2, 3, 3.1, 3.2, 3.3, 3.4, 3.5},
    "n8n-nodes-base.httpRequest": {1, 2, 3, 4, 4.1, 4.2, 4.3, 4.4, 4.5},
    "n8n-nodes-base.if": {1, 2, 2.1, 2.2, 2.3},
    "n8n-nodes-base.code": {1, 2},
    "n8n-nodes-base.manualTrigger": {1},
    "n8n-nodes-base.webhook": {1, 1.1, 2, 2.1},
}
# The Blaze workflows call the Blaze partner API with a Header Auth-like custom credential.
BLAZE_CREDENTIAL = ("httpCustomAuth", "Blaze partner API")
TRIGGERS = {"n8n-nodes-base.scheduleTrigger", "n8n-nodes-base.manualTrigger", "n8n-nodes-base.webhook"}
NODE_TYPES = set(NODE_VERSIONS)


def api_arguments(db) -> dict[str, list[str]]:
    rows = db.rows(
        """
        select p.proname, coalesce(p.proargnames[1:p.pronargs], '{}')
        from pg_proc as p
        where p.pronamespace = 'public'::regnamespace
        """
    )
    return {name: list(args) for name, args in rows}


def top_level_segments(cell: str) -> list[str]:
    """Splits a table cell at the commas that are not inside parentheses."""
    segments, depth, current = [], 0, ""
    for char in cell:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    return [*segments, current]


def documented_functions() -> dict[str, list[str]]:
    """Function -> argument names, from the table in docs/n8n.md (each argument is the first
    back-quoted word of a comma-separated segment of the arguments cell)."""
    text = (DOCS / "n8n.md").read_text()
    table = text.split("## The functions", 1)[1].split("\n\n", 2)[1]
    functions = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        functions[cells[0].strip("`")] = [
            re.search(r"`(\w+)`", segment).group(1) for segment in top_level_segments(cells[1])
        ]
    return functions


def test_every_documented_function_exists_with_its_argument_names(db):
    installed = api_arguments(db)
    documented = documented_functions()
    assert len(documented) == 14
    for function, arguments in documented.items():
        assert function in installed, f"{function} is documented but not installed"
        assert arguments == installed[function], (
            f"{function}: documented {arguments}, installed {installed[function]}"
        )


def body_keys(expression: str) -> set[str]:
    body = expression.split("JSON.stringify(", 1)[1]
    return set(re.findall(r"[{,]\s*(\w+):", body))


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_example_workflow_calls_installed_functions_with_their_argument_names(db, path):
    installed = api_arguments(db)
    workflow = json.loads(path.read_text())
    calls = 0
    for node in workflow["nodes"]:
        url = node["parameters"].get("url", "")
        match = re.search(r"/rest/v1/rpc/(\w+)$", url)
        if not match:
            continue
        calls += 1
        function = match.group(1)
        assert function in installed, f"{node['name']} calls {function}, which is not installed"
        keys = body_keys(node["parameters"]["jsonBody"])
        pagination = node["parameters"]["options"].get("pagination", {}).get("pagination", {})
        keys |= {
            p["name"] for p in pagination.get("parameters", {}).get("parameters", []) if p["type"] == "body"
        }
        assert keys <= set(installed[function]), f"{node['name']}: {keys - set(installed[function])} unknown"
    assert calls >= (1 if path.name.startswith("blaze_webhook") else 2)


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_example_workflow_is_well_formed(path):
    workflow = json.loads(path.read_text())
    assert {"name", "nodes", "connections", "settings"} <= set(workflow)
    nodes = workflow["nodes"]
    names = [n["name"] for n in nodes]
    assert len(names) == len(set(names))
    assert len({n["id"] for n in nodes}) == len(nodes)
    for node in nodes:
        assert node["type"] in NODE_TYPES, node["type"]
        assert node["typeVersion"] in NODE_VERSIONS[node["type"]], (node["name"], node["typeVersion"])
        assert node["name"] and len(node["position"]) == 2
        assert all(isinstance(x, (int, float)) for x in node["position"])
        if node["type"] == "n8n-nodes-base.httpRequest" and "httpCustomAuth" in node.get("credentials", {}):
            assert node["parameters"]["authentication"] == "genericCredentialType"
            assert node["parameters"]["genericAuthType"] == "httpCustomAuth"
            # Backoff on Blaze errors: the node retries before the workflow gives up.
            assert node.get("retryOnFail") is True and node.get("maxTries", 0) >= 3
        elif node["type"] == "n8n-nodes-base.httpRequest":
            assert node["parameters"]["authentication"] == "predefinedCredentialType"
            assert node["parameters"]["nodeCredentialType"] == "supabaseApi"
            assert "supabaseApi" in node["credentials"]
    assert sum(n["type"] in TRIGGERS for n in nodes) == 1
    targets = set()
    for source, outputs in workflow["connections"].items():
        assert source in names
        for branch in outputs["main"]:
            for edge in branch:
                assert edge["node"] in names and edge["type"] == "main"
                assert isinstance(edge["index"], int) and edge["index"] >= 0
                targets.add(edge["node"])
    # Everything but the trigger is reached.
    assert targets == set(names) - {n["name"] for n in nodes if n["type"] in TRIGGERS}


def credential_references(workflow: dict) -> list[tuple[str, str, object]]:
    return [
        (node["name"], credential_type, reference)
        for node in workflow["nodes"]
        for credential_type, reference in node.get("credentials", {}).items()
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_every_credential_reference_is_bound_by_its_name(path):
    """{"id": null, "name": ...}: the import binds the credential of that name, never another one
    of the same type (a reference without an `id` key binds the first credential of its type)."""
    references = credential_references(json.loads(path.read_text()))
    assert references
    for node, credential_type, reference in references:
        assert isinstance(reference, dict) and set(reference) == {"id", "name"}, (node, reference)
        assert reference["id"] is None, (node, reference)
        assert (credential_type, reference["name"]) in {
            ("supabaseApi", "Supabase service role"),
            BLAZE_CREDENTIAL,
        }, (
            node,
            reference,
        )


def test_the_docs_name_the_credential_the_files_name():
    names = {
        reference["name"]
        for path in WORKFLOWS
        for _, _, reference in credential_references(json.loads(path.read_text()))
    }
    text = (DOCS / "n8n.md").read_text()
    assert names
    for name in names:
        assert f"`{name}`" in text, f"docs/n8n.md does not tell to name the credential {name!r}"


def test_each_file_is_one_workflow_with_a_stable_id():
    """What `import:workflow --input=<file>` stores as is: an object (or an array) whose `id` is
    set, unique across the examples, and shaped like n8n's own ids (16 letters and digits)."""
    ids = []
    for path in WORKFLOWS:
        workflow = json.loads(path.read_text())
        assert isinstance(workflow, dict) and {"nodes", "connections"} <= set(workflow), path.name
        assert re.fullmatch(r"[0-9A-Za-z]{16}", workflow.get("id") or ""), (path.name, workflow.get("id"))
        ids.append(workflow["id"])
    assert len(ids) == len(set(ids)) == len(WORKFLOWS) == 5


def documented_import_commands() -> list[str]:
    commands = []
    for document in (DOCS / "n8n.md", ROOT / "README.md"):
        for line in document.read_text().splitlines():
            match = re.search(r"\bn8n import:workflow [^`#\n]*", line)
            if match:
                commands.append(match.group(0).strip())
    return commands


def test_every_documented_import_command_reads_workflow_files_it_accepts():
    """Each documented `n8n import:workflow` (run from the repository's root) gets what it expects:
    --separate a folder of *.json workflow objects, otherwise a file holding a workflow object with
    an id, or an array of them."""
    commands = documented_import_commands()
    assert any("--separate" in c for c in commands) and any("--separate" not in c for c in commands)
    for command in commands:
        source = ROOT / re.search(r"--input=(\S+)", command).group(1)
        if "--separate" in command:
            assert source.is_dir(), command
            files = sorted(source.glob("*.json"))
            assert files == WORKFLOWS, command
            workflows = [json.loads(f.read_text()) for f in files]
        else:
            assert source.is_file(), command
            content = json.loads(source.read_text())
            workflows = content if isinstance(content, list) else [content]
            assert all(w.get("id") for w in workflows), f"{command}: no id, which this import does not add"
        for workflow in workflows:
            assert isinstance(workflow, dict) and {"nodes", "connections"} <= set(workflow), command
