"""Every error an RPC function in `public` raises can be told apart by the start of its message.

n8n shows a failed call as its message alone (the SQLSTATE is lost on the way), so each message
starts with a stable phrase that names the refusal, followed by ": " and the details:
`max_rows is out of range: must be between 1 and 500, got 0`. A workflow's IF node tests
"starts with `max_rows is out of range:`". docs/n8n.md lists every phrase in one table.

The messages are read from the installed catalogue, not from a list kept by hand: starting at
each RPC function, the functions it calls and the triggers of the tables it writes are followed
(pg_proc.prosrc, pg_trigger), every `raise` of an error in their source is parsed, and the
placeholders that stand for an argument's name (`conductor.int_argument(max_rows, 'max_rows', ...)`)
are filled in from the callers. The tests then check that each leading phrase is fixed text, means
one SQLSTATE, and is documented; and a few refusals are called for real.

Covered (COVERED): the RPC functions of the customer, timeline, win-back and lead APIs. The
messaging functions (queue_sms, mark_messages_read, resolve_opt_out_review) are not yet: their
messages are being brought to the same scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "n8n.md"
COVERED = (
    "get_customer_insights",
    "get_customer_top_products",
    "get_customer_timeline",
    "get_overdue_customers",
    "get_win_back_targets",
    "record_inbound_lead",
)
# Reached in the catalogue but cannot fail for these callers: record_lead normalizes the phone
# (conductor.require_phone, naming phone_number) before it writes the lead, so the phone trigger's
# check of the same column (naming leads.phone_number) always passes.
NOT_REACHED = {"record_inbound_lead": {"conductor.tg_normalize_phone"}}
ANY = "\x00"  # a placeholder whose value comes from the data, not from the source
ERROR_LEVELS = {"exception"}
OTHER_LEVELS = {"debug", "log", "info", "notice", "warning"}


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    source: str
    language: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class Raise:
    function: str
    template: str  # the message with ANY where a value is filled in at run time
    sqlstate: str | None

    @property
    def phrase(self) -> str:
        return self.template.split(": ", 1)[0]


def strip_comments(source: str) -> str:
    """Removes -- and /* */ comments, leaving string literals alone."""
    out, i = [], 0
    while i < len(source):
        if source[i] == "'":
            end = i + 1
            while end < len(source):
                if source[end] == "'" and source[end + 1 : end + 2] == "'":
                    end += 2
                elif source[end] == "'":
                    break
                else:
                    end += 1
            out.append(source[i : end + 1])
            i = end + 1
        elif source.startswith("--", i):
            i = source.find("\n", i) if "\n" in source[i:] else len(source)
        elif source.startswith("/*", i):
            i = source.index("*/", i) + 2
        else:
            out.append(source[i])
            i += 1
    return "".join(out)


def read_literal(text: str, i: int) -> tuple[str, int]:
    """The string literal starting at text[i] (a quote) and the index after it."""
    assert text[i] == "'"
    value, i = [], i + 1
    while True:
        if text[i] == "'" and text[i + 1 : i + 2] == "'":
            value.append("'")
            i += 2
        elif text[i] == "'":
            return "".join(value), i + 1
        else:
            value.append(text[i])
            i += 1


def split_arguments(text: str, i: int) -> tuple[list[str], int]:
    """Top-level comma-separated items from text[i] up to the closing parenthesis (or `using`
    or `;` at depth 0); returns them and the index where the scan stopped."""
    items, depth, current = [], 0, ""
    while i < len(text):
        char = text[i]
        if char == "'":
            _, end = read_literal(text, i)
            current += text[i:end]
            i = end
            continue
        if depth == 0 and (char in ");" or re.match(r"\busing\b", text[i:], re.I)):
            break
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
        i += 1
    if current.strip():
        items.append(current.strip())
    return items, i


def literal_value(expression: str) -> str | None:
    """The value of a string or integer literal, else None."""
    expression = expression.strip()
    if re.fullmatch(r"-?\d+", expression):
        return expression
    if expression.startswith("'"):
        value, end = read_literal(expression, 0)
        if end == len(expression):
            return value
    return None


def parse_raises(function: Function) -> list[tuple[list[str], list[str], str | None]]:
    """(format pieces, argument expressions, SQLSTATE) of every error `raise` in a plpgsql body.
    A raise this parser does not understand fails the test: it must not slip through."""
    source = strip_comments(function.source)
    found = []
    for match in re.finditer(r"\braise\b", source, re.I):
        rest = source[match.end() :]
        level = re.match(r"\s*(\w+)", rest)
        word = level.group(1).lower() if level else ""
        if word in OTHER_LEVELS:
            continue
        if re.match(r"\s*;", rest):
            continue  # re-raises the error being handled, raised (and parsed) elsewhere
        i = match.end() + (level.end() if word in ERROR_LEVELS else 0)
        while source[i].isspace():
            i += 1
        assert source[i] == "'", (
            f"{function.name}: a raise without a message: {source[match.start() : i + 40]!r}"
        )
        pieces = []
        while source[i] == "'":  # adjacent literals separated by a newline are one string
            value, i = read_literal(source, i)
            pieces.append(value)
            gap = re.match(r"\s*", source[i:]).group(0)
            if "\n" in gap and source[i + len(gap)] == "'":
                i += len(gap)
            else:
                break
        arguments: list[str] = []
        if re.match(r"\s*,", source[i:]):
            arguments, i = split_arguments(source, source.index(",", i) + 1)
        tail = source[i : source.index(";", i)]
        sqlstate = re.search(r"errcode\s*=\s*'(\w+)'", tail, re.I)
        found.append((pieces, arguments, sqlstate.group(1) if sqlstate else None))
    return found


class Catalogue:
    def __init__(self, db):
        rows = db.rows(
            """
            select n.nspname, p.proname, p.prosrc, l.lanname,
                   coalesce(p.proargnames[1:p.pronargs], '{}')
            from pg_proc as p
            join pg_namespace as n on n.oid = p.pronamespace
            join pg_language as l on l.oid = p.prolang
            where n.nspname in ('public', 'conductor') and p.prokind = 'f'
            """
        )
        self.functions: dict[tuple[str, str], list[Function]] = {}
        for schema, name, source, language, arguments in rows:
            self.functions.setdefault((schema, name), []).append(
                Function(schema, name, source, language, tuple(arguments))
            )
        self.triggers: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for table_schema, table, function_schema, function in db.rows(
            """
            select c.relnamespace::regnamespace::text, c.relname,
                   p.pronamespace::regnamespace::text, p.proname
            from pg_trigger as t
            join pg_class as c on c.oid = t.tgrelid
            join pg_proc as p on p.oid = t.tgfoid
            where not t.tgisinternal
            """
        ):
            self.triggers.setdefault((table_schema, table), set()).add((function_schema, function))
        with db.connect() as conn:
            conn.execute("set search_path = pg_catalog")  # so view definitions name every schema
            views = conn.execute(
                """
                select c.relnamespace::regnamespace::text, c.relname, pg_get_viewdef(c.oid)
                from pg_class as c
                where c.relkind in ('v', 'm')
                    and c.relnamespace::regnamespace::text in ('public', 'conductor')
                """
            ).fetchall()
        self.views = {(schema, name): definition for schema, name, definition in views}

    def references(self, source: str) -> set[tuple[str, str]]:
        """Functions a body calls, trigger functions of the tables it writes, and what the views
        it reads call."""
        source = strip_comments(source).lower()
        found = {
            key for key in re.findall(r"\b(public|conductor)\.(\w+)\s*\(", source) if key in self.functions
        }
        for key in re.findall(
            r"\b(?:insert\s+into|update|delete\s+from|merge\s+into)\s+(public|conductor)\.(\w+)", source
        ):
            found |= self.triggers.get(key, set())
        for key in re.findall(r"\b(public|conductor)\.(\w+)", source):
            if key in self.views:
                found |= self.references(self.views[key])
        return found

    def reachable(self, start: tuple[str, str]) -> set[tuple[str, str]]:
        seen, todo = set(), [start]
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            for function in self.functions[key]:
                todo.extend(self.references(function.source) - seen)
        return seen

    def call_arguments(
        self, callers: set[tuple[str, str]], callee: Function
    ) -> list[tuple[Function, list[str]]]:
        """Every call of callee in the callers' bodies, with its argument expressions by position."""
        calls = []
        pattern = re.compile(rf"\b{callee.schema}\.{callee.name}\s*\(", re.I)
        for key in callers:
            for caller in self.functions[key]:
                source = strip_comments(caller.source)
                for match in pattern.finditer(source):
                    items, _ = split_arguments(source, match.end())
                    positional = [None] * len(callee.arguments)
                    for index, item in enumerate(items):
                        named = re.match(r"(\w+)\s*=>\s*(.*)", item, re.S)
                        if named and named.group(1) in callee.arguments:
                            positional[callee.arguments.index(named.group(1))] = named.group(2)
                        elif index < len(positional):
                            positional[index] = item
                    calls.append((caller, positional))
        return calls

    def bindings(
        self, callers: set[tuple[str, str]], function: Function, skip: frozenset[str], depth: int = 0
    ) -> list[dict[str, str]]:
        """What the parameters of a helper are, one dict per call from the callers (the callers in
        skip left out): a literal where the caller passes one, or passes one of its own parameters
        that gets one; else ANY."""
        result: list[dict[str, str]] = []
        for caller, positional in self.call_arguments(callers, function):
            if f"{caller.schema}.{caller.name}" in skip or depth > 5:
                continue
            options: list[dict[str, str]] = [{}]
            for name, expression in zip(function.arguments, positional, strict=True):
                expression = (expression or "").strip()
                value = literal_value(expression)
                own = expression.split(".")[-1]
                if value is not None:
                    fills = [value]
                elif re.fullmatch(r"(\w+\.)?\w+", expression) and own in caller.arguments:
                    fills = sorted({b[own] for b in self.bindings(callers, caller, skip, depth + 1)})
                else:
                    fills = [ANY]
                options = [{**option, name: fill} for option in options for fill in fills]
            result += options
        return result or [dict.fromkeys(function.arguments, ANY)]


def error_messages(catalogue: Catalogue, rpc: str) -> list[Raise]:
    """Every error message (as a template) that the RPC function, or anything it reaches, raises."""
    reached = catalogue.reachable(("public", rpc))
    skip = frozenset(NOT_REACHED.get(rpc, {}))
    messages = set()
    for key in sorted(reached):
        for function in catalogue.functions[key]:
            if function.language != "plpgsql" or f"{function.schema}.{function.name}" in skip:
                continue
            for pieces, arguments, sqlstate in parse_raises(function):
                text = "".join(pieces).replace("%%", "\x01")
                parts = text.split("%")
                assert len(parts) - 1 <= len(arguments), (
                    f"{function.name}: more placeholders than arguments in {text!r}"
                )
                uses_parameters = any(a.strip().split(".")[-1] in function.arguments for a in arguments)
                for binding in catalogue.bindings(reached, function, skip) if uses_parameters else [{}]:
                    message = parts[0]
                    for part, argument in zip(parts[1:], arguments[: len(parts) - 1], strict=True):
                        value = literal_value(argument)
                        name = argument.strip().split(".")[-1]
                        if value is None and re.fullmatch(r"(\w+\.)?\w+", argument.strip()):
                            value = binding.get(name)
                        message += (ANY if value is None else value) + part
                    messages.add(
                        Raise(f"{function.schema}.{function.name}", message.replace("\x01", "%"), sqlstate)
                    )
    return sorted(messages, key=lambda m: (m.function, m.template))


def covered_rpcs(db) -> list[str]:
    names = {
        name for (name,) in db.rows("select proname from pg_proc where pronamespace = 'public'::regnamespace")
    }
    assert set(COVERED) <= names, f"not installed: {set(COVERED) - names}"
    return list(COVERED)


@dataclass(frozen=True)
class Row:
    phrases: frozenset[str]
    sqlstate: str
    functions: frozenset[str]


def documented_rows() -> list[Row]:
    """The rows of the first table under "## Telling errors apart" in docs/n8n.md: the phrases of
    the first cell (each back-quoted with its colon), the SQLSTATE, the functions that raise them."""
    section = DOCS.read_text().split("## Telling errors apart", 1)[1].split("\n## ", 1)[0]
    lines = section.split("\n|", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        phrases = frozenset(re.findall(r"`([^`]+):`", cells[0]))
        assert phrases, f"no phrase in {line!r}"
        rows.append(Row(phrases, cells[1].strip("`"), frozenset(re.findall(r"`(\w+)`", cells[2]))))
    return rows


def documented_phrases() -> dict[str, Row]:
    phrases: dict[str, Row] = {}
    for row in documented_rows():
        for phrase in row.phrases:
            assert phrase not in phrases, f"{phrase!r} is documented twice"
            phrases[phrase] = row
    return phrases


@pytest.fixture
def raised(db) -> dict[str, list[Raise]]:
    catalogue = Catalogue(db)
    return {rpc: error_messages(catalogue, rpc) for rpc in covered_rpcs(db)}


def test_the_parser_finds_the_argument_checks(raised):
    """Guards the parser itself: the known checks of the functions are found, with the argument
    names filled in from the callers."""
    templates = {(m.template, m.sqlstate) for m in raised["get_overdue_customers"]}
    assert (f"max_rows is out of range: must be between 1 and 1000, got {ANY}", "22023") in templates
    assert (f"min_days_late is out of range: must be between 0 and 36500, got {ANY}", "22023") in templates
    phrases = {m.phrase for m in raised["get_customer_timeline"]}
    assert {"phone_number is required", "phone_number", "max_rows is out of range"} <= phrases
    assert "invalid setting" in {m.phrase for m in raised["record_inbound_lead"]}
    assert all(raised.values()), "every covered function raises something"


def test_every_message_starts_with_a_fixed_phrase_and_a_colon(raised):
    for rpc, messages in raised.items():
        for message in messages:
            assert ": " in message.template, (
                f"{rpc} via {message.function}: no phrase in {message.template!r}"
            )
            assert ANY not in message.phrase, (
                f"{rpc} via {message.function}: the phrase of {message.template!r} depends on the data"
            )
            assert message.sqlstate, f"{rpc} via {message.function}: {message.template!r} has no errcode"


def test_each_phrase_means_one_sqlstate(raised):
    sqlstates: dict[str, set[str]] = {}
    for messages in raised.values():
        for message in messages:
            sqlstates.setdefault(message.phrase, set()).add(message.sqlstate)
    assert len(sqlstates) >= 5
    assert {p: s for p, s in sqlstates.items() if len(s) > 1} == {}


def test_every_phrase_is_documented_with_its_sqlstate_and_functions(raised):
    documented = documented_phrases()
    for rpc, messages in raised.items():
        for message in messages:
            assert message.phrase in documented, f"{rpc}: {message.phrase!r} is not in docs/n8n.md"
            row = documented[message.phrase]
            assert row.sqlstate == message.sqlstate, (
                f"{message.phrase!r}: documented {row.sqlstate}, raised {message.sqlstate}"
            )
            assert rpc in row.functions, f"{message.phrase!r}: docs/n8n.md does not list {rpc}"
    # And no row names one of these functions for refusals it cannot raise.
    for row in documented_rows():
        for rpc in row.functions & set(raised):
            assert row.phrases & {m.phrase for m in raised[rpc]}, (
                f"docs/n8n.md lists {sorted(row.phrases)} for {rpc}, which raises none of them"
            )


REFUSALS = [
    ("select public.get_customer_insights(phone_number => null)", "22023", "phone_number is required"),
    ("select public.get_customer_insights(phone_number => '555')", "22023", "phone_number"),
    (
        "select public.get_customer_top_products('+16195550100', max_products => 0)",
        "22023",
        "max_products is out of range",
    ),
    ("select public.get_customer_timeline(phone_number => ' ')", "22023", "phone_number is required"),
    (
        "select public.get_customer_timeline('+16195550100', max_rows => 501)",
        "22023",
        "max_rows is out of range",
    ),
    ("select public.get_overdue_customers(min_days_late => -1)", "22023", "min_days_late is out of range"),
    ("select public.get_win_back_targets(page => 1, page_size => 0)", "22023", "page_size is out of range"),
    (
        "select public.record_inbound_lead(phone_number => 'call me', message => 'hi')",
        "22023",
        "phone_number",
    ),
]


@pytest.mark.parametrize(
    ("sql", "sqlstate", "phrase"), REFUSALS, ids=[r[2] + ": " + r[0][14:40] for r in REFUSALS]
)
def test_a_refusal_called_for_real_starts_with_its_documented_phrase(db, sql, sqlstate, phrase):
    documented = documented_phrases()
    with pytest.raises(psycopg.Error) as failure:
        db.execute(sql)
    message = failure.value.diag.message_primary
    assert failure.value.sqlstate == sqlstate
    assert message.split(": ", 1)[0] == phrase, message
    assert documented[phrase].sqlstate == sqlstate


def test_a_broken_probability_setting_is_reported_as_invalid_setting(db):
    with db.connect() as conn:
        conn.execute(
            "update conductor.settings set value = '\"high\"' where key = 'lead_probability_prospect'"
        )
        with pytest.raises(psycopg.Error) as failure:
            conn.execute("select public.record_inbound_lead(phone_number => '+16195550100', message => 'hi')")
    assert failure.value.diag.message_primary.startswith("invalid setting: lead_probability_prospect ")
    assert failure.value.sqlstate == documented_phrases()["invalid setting"].sqlstate
