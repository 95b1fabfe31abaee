"""``lakehouse report``: the AI/BI dashboard's pages as one static, self-contained HTML page.

The dashboard the bundle deploys (``dashboards/fitness.lvdash.json``) is the one definition of
what consumers see: its datasets' SQL over the gold tables, and for each widget the fields it
reads from a dataset and how it charts them. The report runs each widget's query on the
environment's tables (through the SQL warehouse when it runs, else in process) and draws it:

- a line, bar or heatmap widget as a Vega-Lite chart, rendered to SVG without a browser or a
  network (``vl-convert``); every data mark (a point, a bar, a cell) carries an ``aria-label``
  naming its values;
- a table widget as an HTML table of its first ``TABLE_ROWS`` rows;
- a text widget as its Markdown.

A widget without rows says so instead of drawing an empty frame. The page loads nothing: styles
and charts are inline, there is no script and no font or image from elsewhere, and every value
read from the tables is escaped. Times are sent to the charts as milliseconds since the epoch
and drawn as UTC dates, so the page does not depend on the time zone of the machine that writes
it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.errors import LakehouseError
from ingestion.files import write_atomically
from lakehouse.project import REPO_ROOT

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.project import LocalSettings

log = logging.getLogger(__name__)

DASHBOARD = REPO_ROOT / "dashboards" / "fitness.lvdash.json"
#: The widget kinds drawn as charts, and the Vega-Lite mark of each.
MARKS = {
    "line": {"type": "line", "point": True},
    "bar": {"type": "bar"},
    "heatmap": {"type": "rect"},
}
#: How a chart writes a number (on its axes and in its marks' labels): two decimals at most.
NUMBER = ".2~f"
#: How a chart writes a date: the UTC day.
DAY = "%Y-%m-%d"
#: The rows of a table widget the page shows.
TABLE_ROWS = 50
CHART_WIDTH, CHART_HEIGHT = 760, 260
#: A field expression that aggregates: the widget's query groups by its other fields.
AGGREGATE = re.compile(r"^\s*(sum|avg|min|max|count)\s*\(", re.IGNORECASE)
#: The tables a dataset reads: schema-qualified names after ``from`` or ``join``.
TABLE_READ = re.compile(r"\b(?:from|join)\s+([a-z_]\w*\.[a-z_]\w*)", re.IGNORECASE)


# --- the dashboard, read ------------------------------------------------------------------------


@dataclass(frozen=True)
class Widget:
    """One widget of a dashboard page: what it reads (a dataset's fields, each a name and an
    expression, aggregated by the others unless ``disaggregated``) and how it shows it."""

    name: str
    kind: str  # line, bar, heatmap, table or text
    title: str = ""
    description: str = ""
    dataset: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    disaggregated: bool = False
    encodings: dict | None = None
    text: str = ""

    @property
    def chart(self) -> bool:
        return self.kind in MARKS


@dataclass(frozen=True)
class Page:
    title: str
    widgets: tuple[Widget, ...]


@dataclass(frozen=True)
class Dashboard:
    datasets: dict[str, str]
    pages: tuple[Page, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables its datasets read, sorted."""
        return tuple(
            sorted({t.lower() for sql in self.datasets.values() for t in TABLE_READ.findall(sql)})
        )


def widget_of(serialized: dict) -> Widget:
    """A widget from its serialized form in the dashboard file."""
    if "multilineTextboxSpec" in serialized:
        text = "".join(serialized["multilineTextboxSpec"]["lines"])
        return Widget(serialized["name"], "text", text=text)
    [query] = serialized["queries"]
    spec = serialized["spec"]
    frame = spec.get("frame", {})
    return Widget(
        name=serialized["name"],
        kind=spec["widgetType"],
        title=frame.get("title", ""),
        description=frame.get("description", ""),
        dataset=query["query"]["datasetName"],
        fields=tuple((f["name"], f["expression"]) for f in query["query"]["fields"]),
        disaggregated=query["query"].get("disaggregated", False),
        encodings=spec["encodings"],
    )


def load_dashboard(path: Path = DASHBOARD) -> Dashboard:
    """The dashboard file: its datasets' SQL by name, and its pages' widgets in reading order
    (top to bottom, then left to right)."""
    serialized = json.loads(path.read_text())
    datasets = {d["name"]: "".join(d["queryLines"]) for d in serialized["datasets"]}
    pages = tuple(
        Page(
            page["displayName"],
            tuple(
                widget_of(item["widget"])
                for item in sorted(
                    page["layout"], key=lambda i: (i["position"]["y"], i["position"]["x"])
                )
            ),
        )
        for page in serialized["pages"]
    )
    return Dashboard(datasets, pages)


# --- a widget's query ---------------------------------------------------------------------------


def temporal_fields(widget: Widget) -> set[str]:
    """The fields a chart puts on a time scale."""
    return {
        e["fieldName"]
        for e in (widget.encodings or {}).values()
        if isinstance(e, dict) and e.get("scale", {}).get("type") == "temporal"
    }


def widget_sql(widget: Widget, dashboard: Dashboard) -> str:
    """The query of a widget's rows, over its dataset's: a chart's time fields as epoch
    milliseconds, grouped by the fields that do not aggregate (unless the widget is
    disaggregated), in the order of its fields; a table's fields as text (as Spark writes them,
    in the session's UTC), the latest of its first field first."""
    times = temporal_fields(widget)

    def selected(name: str, expression: str) -> str:
        if widget.kind == "table":  # named apart from the field, which orders by its value
            return f"cast({expression} as string) as `{name} as text`"
        if name in times:
            expression = f"unix_millis(cast({expression} as timestamp))"
        return f"{expression} as `{name}`"

    keys = [str(i) for i, (_, e) in enumerate(widget.fields, 1) if not AGGREGATE.match(e)]
    lines = [
        "select " + ", ".join(selected(name, e) for name, e in widget.fields),
        # the dataset's last line may be a comment
        f"from (\n{dashboard.datasets[widget.dataset]}\n) as dataset",
    ]
    if not widget.disaggregated and keys:
        lines.append("group by " + ", ".join(keys))
    if widget.kind == "table":  # by the values, not their text
        first, *rest = [expression for _, expression in widget.fields]
        lines += [f"order by {', '.join([f'{first} desc', *rest])}", f"limit {TABLE_ROWS + 1}"]
    else:
        lines.append(f"order by {', '.join(str(i) for i in range(1, len(widget.fields) + 1))}")
    return "\n".join(lines)


# --- drawing: pure functions --------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """A value as a chart's data holds it."""
    return float(value) if isinstance(value, Decimal) else value


def field_definition(encoding: dict) -> dict:
    """A Vega-Lite field definition from a widget's encoding of one channel."""
    scale = encoding.get("scale", {}).get("type")
    definition = {"field": encoding["fieldName"], "title": encoding.get("displayName", "")}
    if scale == "temporal":  # by UTC day, a tick a day at most
        return definition | {
            "type": "temporal",
            "timeUnit": "utcyearmonthdate",
            "format": DAY,
            "scale": {"type": "utc"},
            "axis": {"format": DAY, "tickCount": "day", "labelOverlap": True},
        }
    if scale == "quantitative":
        return definition | {"type": "quantitative", "format": NUMBER}
    return definition | {"type": "nominal"}


def vega_lite(widget: Widget, values: list[dict]) -> dict:
    """The Vega-Lite chart of a line, bar or heatmap widget with its rows: each encoding as the
    dashboard states it; an axis of several fields draws each as a series (a colour)."""
    spec: dict[str, Any] = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "data": {"values": values},
        "mark": MARKS[widget.kind],
        "encoding": {},
    }
    for channel, encoding in (widget.encodings or {}).items():
        if "fields" not in encoding:
            spec["encoding"][channel] = field_definition(encoding)
            continue
        names = {f["fieldName"]: f.get("displayName", f["fieldName"]) for f in encoding["fields"]}
        spec["transform"] = [
            {"fold": list(names), "as": ["field", "value"]},
            {"calculate": f"{json.dumps(names)}[datum.field]", "as": "series"},
        ]
        spec["encoding"][channel] = {
            "field": "value",
            "type": "quantitative",
            "format": NUMBER,
            "title": ", ".join(names.values()),
        }
        spec["encoding"]["color"] = {"field": "series", "type": "nominal", "title": "Series"}
    if widget.kind == "heatmap":
        spec["encoding"]["color"]["scale"] = {"scheme": "blues"}
    return spec


def svg(spec: dict) -> str:
    """A Vega-Lite chart drawn as SVG."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec)


def markdown(text: str) -> str:
    """A text widget's Markdown as HTML (raw HTML in it escaped, not passed through), its
    headings a level below the page's."""
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": False}).render(text)
    return re.sub(r"<(/?)h([1-5])>", lambda m: f"<{m[1]}h{int(m[2]) + 1}>", html)


def e(value: Any) -> str:
    return escape("" if value is None else str(value))


def table_html(widget: Widget, rows: list[tuple]) -> str:
    """A table widget: its columns' display names, its first rows, and whether it has more."""
    names = {
        c["fieldName"]: c.get("displayName", c["fieldName"]) for c in widget.encodings["columns"]
    }
    fields = [name for name, _ in widget.fields]
    head = "".join(f"<th>{e(names.get(f, f))}</th>" for f in fields)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(v)}</td>" for v in row) + "</tr>" for row in rows[:TABLE_ROWS]
    )
    more = (
        f'<p class="note">The first {TABLE_ROWS} rows; the dashboard shows them all.</p>'
        if len(rows) > TABLE_ROWS
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def widget_html(widget: Widget, rows: list[tuple], env: str) -> str:
    """One widget of the page."""
    if widget.kind == "text":
        return f'<div class="text">{markdown(widget.text)}</div>'
    caption = f"<figcaption><strong>{e(widget.title)}</strong>"
    caption += f" {e(widget.description)}</figcaption>" if widget.description else "</figcaption>"
    if not rows:
        body = f'<p class="empty">No rows yet in {e(env)}.</p>'
    elif widget.chart:
        fields = [name for name, _ in widget.fields]
        values = [{f: json_value(v) for f, v in zip(fields, row, strict=True)} for row in rows]
        body = svg(vega_lite(widget, values))
    else:
        body = table_html(widget, rows)
    return f'<figure data-widget="{e(widget.name)}">{caption}{body}</figure>'


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 62rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
figure { margin: 1.5rem 0; overflow-x: auto; } figcaption { margin-bottom: .5rem; color: #444; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
.empty, .note { color: #666; font-style: italic; }
"""


@dataclass(frozen=True)
class ReportData:
    """What the page shows: the environment, when, each table's rows, each widget's rows."""

    env: str
    generated_at: datetime
    row_counts: dict[str, int]
    pages: tuple[tuple[Page, tuple[tuple[Widget, list[tuple]], ...]], ...]


def render(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    sources = "".join(
        f"<tr><td>{e(table)}</td><td>{e(rows)}</td></tr>" for table, rows in data.row_counts.items()
    )
    generated = data.generated_at.astimezone(UTC)
    sections = [
        f"<section><h2>{e(page.title)}</h2>"
        + "\n".join(widget_html(w, rows, data.env) for w, rows in widgets)
        + "</section>"
        for page, widgets in data.pages
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Smartwatch lakehouse report: {e(data.env)}</title>",
            f"<style>{STYLE}</style>",
            "</head><body>",
            "<header>",
            f"<h1>Smartwatch lakehouse report: {e(data.env)}</h1>",
            f'<p>Environment <strong data-env="{e(data.env)}">{e(data.env)}</strong>, generated '
            f'<time datetime="{generated:%Y-%m-%dT%H:%M:%SZ}">'
            f"{generated:%Y-%m-%d %H:%M:%S} UTC</time>; the pages of the dashboard "
            f"<code>{e(DASHBOARD.name)}</code>.</p>",
            '<table class="sources"><thead><tr><th>table read</th><th>rows</th></tr></thead>'
            f"<tbody>{sources}</tbody></table>",
            "</header>",
            "<main>",
            *sections,
            "</main>",
            "</body></html>",
            "",
        ]
    )


# --- at the edge: rows in, a file out -----------------------------------------------------------


def default_path(settings: LocalSettings) -> Path:
    """``report/index.html`` in the environment's docs site, so the site can link to it."""
    from lakehouse.docs import target_dir

    return target_dir(settings) / "report" / "index.html"


#: Answers a query with its rows (by position and by column name): a Spark session's
#: (``spark_rows``) or the SQL warehouse's (``lakehouse.warehouse.warehouse_rows``).
Rows = Callable[[str], list]


def spark_rows(spark: SparkSession) -> Rows:
    return lambda sql: spark.sql(sql).collect()


def missing_tables(rows: Rows, tables: tuple[str, ...]) -> list[str]:
    """The ``tables`` the environment does not have (yet)."""
    schemas = {r[0] for r in rows("show schemas")}
    present = {
        f"{layer}.{r.tableName}"
        for layer in sorted({t.split(".")[0] for t in tables} & schemas)
        for r in rows(f"show tables in {layer}")
    }
    return [t for t in tables if t not in present]


def read_report(
    rows: Rows, settings: LocalSettings, dashboard: Dashboard | None = None
) -> ReportData:
    """Read what the page shows from the environment's named tables; a missing table means the
    warehouse is not built yet."""
    dashboard = dashboard or load_dashboard()
    env = settings.env.value
    missing = missing_tables(rows, dashboard.tables)
    if missing:
        raise LakehouseError(
            f"no table {', '.join(missing)} in {env}: the warehouse is not built; "
            f"run lakehouse build --env {env} first"
        )
    counts = {t: rows(f"select count(*) from {t}")[0][0] for t in dashboard.tables}
    log.info("report of %s: %s", env, ", ".join(f"{t} {n} rows" for t, n in counts.items()))
    pages = tuple(
        (
            page,
            tuple(
                (w, [] if w.kind == "text" else [tuple(r) for r in rows(widget_sql(w, dashboard))])
                for w in page.widgets
            ),
        )
        for page in dashboard.pages
    )
    return ReportData(env, datetime.now(UTC), counts, pages)


def write_report(rows: Rows, settings: LocalSettings, out: Path | None = None) -> Path:
    """Write the environment's report to ``out`` (default: :func:`default_path`), whole or not
    at all, and return its path."""
    path = out or default_path(settings)
    write_atomically(path, render(read_report(rows, settings)))
    log.info("report of %s written to %s", settings.env.value, path)
    return path
