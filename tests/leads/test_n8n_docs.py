"""docs/n8n.md and the example workflows stay true to the installed API: every function the
document lists exists in public with exactly the documented argument names (what PostgREST maps
JSON keys to), every RPC an example workflow calls exists and accepts every key its JSON body
sends, and each workflow is a well-formed n8n workflow (nodes with unique names, ids and known
types; connections between existing nodes; a trigger; the Supabase credential on every HTTP node)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
WORKFLOWS = sorted((DOCS / "n8n").glob("*.json"))
NODE_TYPES = {
    "n8n-nodes-base.scheduleTrigger",
    "n8n-nodes-base.set",
    "n8n-nodes-base.httpRequest",
    "n8n-nodes-base.if",
    "n8n-nodes-base.code",
}


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
    assert len(documented) == 8
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
    assert calls >= 2


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
        assert isinstance(node["typeVersion"], (int, float))
        assert len(node["position"]) == 2
        if node["type"] == "n8n-nodes-base.httpRequest":
            assert node["parameters"]["authentication"] == "predefinedCredentialType"
            assert node["parameters"]["nodeCredentialType"] == "supabaseApi"
            assert "supabaseApi" in node["credentials"]
    assert sum(n["type"].endswith("Trigger") for n in nodes) == 1
    targets = set()
    for source, outputs in workflow["connections"].items():
        assert source in names
        for branch in outputs["main"]:
            for edge in branch:
                assert edge["node"] in names and edge["type"] == "main"
                targets.add(edge["node"])
    # Everything but the trigger is reached.
    assert targets == set(names) - {n["name"] for n in nodes if n["type"].endswith("Trigger")}
