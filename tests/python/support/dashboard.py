"""The AI/BI dashboard the bundle deploys (dashboards/fitness.lvdash.json), read offline: its
datasets' SQL, what each dataset selects and which gold tables and columns it reads, and the
widgets that chart them.

The SQL reader is deliberately small: it understands the dialect the dashboard's datasets are
written in (one select over schema-qualified tables, optional CTEs, explicit aliases), and raises
on anything it cannot account for rather than guessing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import yaml

from lakehouse import report
from lakehouse.project import REPO_ROOT as REPO
from lakehouse.report import DASHBOARD

GOLD = REPO / "models" / "gold"

# SQL reading -----------------------------------------------------------------------------------
TOKEN = re.compile(
    r"""(?P<string>'(?:[^'\\]|\\.)*')
      | (?P<quoted>`[^`]+`)
      | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<symbol>[(),*]|[^\s\w'`(),*]+)""",
    re.X,
)
#: Words of the dialect that are never columns.
KEYWORDS = frozenset(
    word
    for clause in (
        "select distinct from where group by order having limit union all as",
        "join inner left right full outer cross on asc desc",
        "and or not null is in between like true false",
        "case when then else end with over partition rows range",
        "unbounded preceding following current row",
        "interval year month week day hour minute second",
    )
    for word in clause.split()
)
#: Functions whose ``as`` names a type, not a column: cast(x as decimal(18, 2)).
CASTS = frozenset({"cast", "try_cast"})


def tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) of each token, comments dropped, words in lower case."""
    sql = re.sub(r"--[^\n]*", " ", sql)
    found = []
    for match in TOKEN.finditer(sql):
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "quoted":
            kind, text = "name", text.strip("`")
        found.append((kind, text.lower() if kind == "name" else text))
    return found


def _is(tokens_: list[tuple[str, str]], at: int, text: str) -> bool:
    return 0 <= at < len(tokens_) and tokens_[at][1] == text


def _closing(tokens_: list[tuple[str, str]], opening: int) -> int:
    depth = 0
    for at in range(opening, len(tokens_)):
        depth += {"(": 1, ")": -1}.get(tokens_[at][1], 0)
        if depth == 0:
            return at
    raise ValueError("unbalanced parentheses")


def _top_level(tokens_: list[tuple[str, str]]) -> Iterator[tuple[int, str]]:
    """Index and text of the tokens outside every parenthesis."""
    depth = 0
    for at, (_, text) in enumerate(tokens_):
        if text == ")":
            depth -= 1
        if depth == 0:
            yield at, text
        if text == "(":
            depth += 1


def selected_columns(sql: str) -> list[str]:
    """The columns the query returns, in order: the aliases (or plain column names) of its last
    top-level select list. A ``*`` or an unnamed expression raises."""
    found = tokens(sql)
    level = list(_top_level(found))
    start = max(at for at, text in level if text == "select")
    end = min((at for at, text in level if text == "from" and at > start), default=len(found))
    items, depth, current = [], 0, []
    for kind, text in found[start + 1 : end]:
        depth += {"(": 1, ")": -1}.get(text, 0)
        if text == "," and depth == 0:
            items.append(current)
            current = []
        elif not (text == "distinct" and not items and not current):
            current.append((kind, text))
    items.append(current)
    names = []
    for item in items:
        top = [at for at, text in _top_level(item) if text == "as"]
        if top and _is(item, top[-1] + 1, "("):  # a generator: stack(...) as (a, b)
            names += [text for kind, text in item[top[-1] + 2 : -1] if kind == "name"]
        elif top:
            names.append(item[top[-1] + 1][1])
        elif len(item) == 1 and item[0][0] == "name":
            names.append(item[0][1].rsplit(".", 1)[-1])
        else:
            raise ValueError(f"a selected expression has no name: {' '.join(t for _, t in item)}")
    return names


def tables_read(sql: str) -> set[str]:
    """The schema-qualified tables the query reads (``schema.table``); CTEs are not tables."""
    found = tokens(sql)
    ctes = _ctes(found)
    tables = set()
    for at, (kind, text) in enumerate(found):
        if at and found[at - 1][1] in ("from", "join") and kind == "name" and text not in ctes:
            if "." not in text:
                raise ValueError(f"{text}: a table is named with its schema (gold.<table>)")
            tables.add(text)
    return tables


def _ctes(found: list[tuple[str, str]]) -> set[str]:
    return {
        text
        for at, (kind, text) in enumerate(found)
        if kind == "name"
        and at
        and found[at - 1][1] in ("with", ",")
        and _is(found, at + 1, "as")
        and _is(found, at + 2, "(")
        and _is(found, at + 3, "select")
    }


def columns_read(sql: str) -> set[str]:
    """Every column name the query mentions that it does not define itself: words that are not
    keywords, functions, tables, CTEs, aliases or types (a qualified ``v.col`` counts as col)."""
    found = tokens(sql)
    ctes = _ctes(found)
    defined: set[str] = set(ctes)
    skip: set[int] = set()
    calls: list[str] = []  # the function each open parenthesis belongs to
    for at, (kind, text) in enumerate(found):
        if text == "(":
            calls.append(found[at - 1][1] if at and found[at - 1][0] == "name" else "")
        elif text == ")":
            calls.pop()
        elif text == "as" and calls and calls[-1] in CASTS:  # a type, with its arguments
            end = at + 1
            if _is(found, end + 1, "("):
                end = _closing(found, end + 1)
            skip.update(range(at + 1, end + 1))
        elif text == "as" and _is(found, at + 1, "("):
            if not _is(found, at + 2, "select"):  # names a generator's columns
                end = _closing(found, at + 1)
                defined.update(t for k, t in found[at + 2 : end] if k == "name")
        elif text == "as":
            defined.add(found[at + 1][1])
        elif at and found[at - 1][1] in ("from", "join") and kind == "name":
            skip.add(at)
            after = at + 1 + _is(found, at + 1, "as")
            if after < len(found) and found[after][0] == "name" and found[after][1] not in KEYWORDS:
                defined.add(found[after][1])  # a table alias
    mentioned = set()
    for at, (kind, text) in enumerate(found):
        if kind != "name" or at in skip or text in KEYWORDS or _is(found, at + 1, "("):
            continue
        mentioned.add(text.rsplit(".", 1)[-1])
    return mentioned - defined


# The dashboard --------------------------------------------------------------------------------
@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def load_dashboard(path: Path = DASHBOARD) -> dict:
    """The serialized dashboard, as the bundle deploys it."""
    return _load(path)


def dashboard_queries(path: Path = DASHBOARD) -> dict[str, str]:
    """Each dataset's SQL by dataset name. Tables are named ``gold.<table>``: the catalog is the
    environment's (on Databricks the bundle's ``dataset_catalog``, locally the session's own), so
    every query also runs as it is against the local gold tables."""
    return report.load_dashboard(path).datasets


def widgets(dashboard: dict) -> Iterator[tuple[str, dict, dict]]:
    """(page name, widget, position) of every widget on every page."""
    for page in dashboard["pages"]:
        for item in page["layout"]:
            yield page["name"], item["widget"], item["position"]


def encoded_fields(encodings) -> set[str]:
    """Every field name a widget's encodings chart (x, y, color, each series, each column)."""
    if isinstance(encodings, dict):
        own = {encodings["fieldName"]} if "fieldName" in encodings else set()
        return own.union(*(encoded_fields(value) for value in encodings.values()))
    if isinstance(encodings, list):
        return set().union(*(encoded_fields(value) for value in encodings))
    return set()


def field_columns(expression: str) -> set[str]:
    """The dataset columns a widget's field expression reads: its backquoted names."""
    return {name.lower() for name in re.findall(r"`([^`]+)`", expression)}


# The gold models ------------------------------------------------------------------------------
@cache
def gold_models() -> dict[str, frozenset[str]]:
    """Each gold model (a .sql with its .yml in models/gold/) and the columns its YAML declares."""
    models = {}
    for sql in sorted(GOLD.glob("*.sql")):
        spec = yaml.safe_load(sql.with_suffix(".yml").read_text())
        [model] = [m for m in spec["models"] if m["name"] == sql.stem]
        models[sql.stem] = frozenset(c["name"] for c in model.get("columns", []))
    return models


def gold_tables_read(path: Path = DASHBOARD) -> set[str]:
    """The gold models the dashboard's datasets read (names without the schema)."""
    return {
        table.split(".", 1)[1]
        for sql in dashboard_queries(path).values()
        for table in tables_read(sql)
        if table.startswith("gold.")
    }
