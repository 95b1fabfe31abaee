"""Run SQL against an environment and render the result: in process on a Spark session, or
through the environment's SQL warehouse when it runs. Both give the same text."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyspark is imported only to answer in process
    from pyspark.sql import DataFrame

#: The README's example queries, as (format, query): what the warehouse test runs and the
#: benchmark times.
EXAMPLES = [
    ("table", "select * from gold.workout_bpm_summary limit 10"),
    ("json", "select * from gold.gym_summary"),
    (
        "table",
        "select user_id, start_time, trimp, seconds_zone_4 + seconds_zone_5 as hard_seconds "
        "from gold.workout_hr_zones order by trimp desc limit 10",
    ),
    (
        "table",
        "select gym, date, visits, peak_occupancy from gold.gym_daily_utilization order by 2, 1",
    ),
    ("csv", "select reason, count(*) from silver.rejected_events group by 1"),
]


def example_commands(env: str) -> list[str]:
    """The ``lakehouse sql`` command lines of ``EXAMPLES`` on environment ``env``."""
    return [
        f".venv/bin/lakehouse sql --env {env} "
        + (f"--format {fmt} " if fmt != "table" else "")
        + f'"{query}"'
        for fmt, query in EXAMPLES
    ]


#: JSON timestamps: ISO-8601 in UTC, with microseconds ("Z").
JSON_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"


def as_text(frame: DataFrame) -> tuple[list[str], list[list[str | None]]]:
    """Column names and rows as text, timestamps rendered by Spark in UTC."""
    from pyspark.sql import functions as F

    columns = frame.columns
    rows = frame.select(*[F.col(f"`{c}`").cast("string") for c in columns]).collect()
    return columns, [list(row) for row in rows]


def render_json(frame: DataFrame) -> str:
    """A JSON array of row objects: numbers stay numbers, timestamps are ISO-8601 UTC with
    microseconds, null columns are left out."""
    from pyspark.sql import functions as F

    options = {"timestampFormat": JSON_TIMESTAMP}
    rows = frame.select(F.to_json(F.struct(*[F.col(f"`{c}`") for c in frame.columns]), options))
    return json_array(row[0] for row in rows.collect())


def json_array(objects) -> str:
    return "[" + ",\n".join(objects) + "]"


def json_query(query: str) -> str:
    """``query`` with each row as ``render_json`` writes it: what the warehouse is asked for
    a query's JSON, so both give the same text."""
    return (
        f"select to_json(struct(*), map('timestampFormat', \"{JSON_TIMESTAMP}\")) "
        f"from ({query.strip().rstrip(';')}) as answer"
    )


def text_of(value: Any) -> str | None:
    """A value the warehouse's client returns, as Spark casts it to text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
        return f"{value:%Y-%m-%d %H:%M:%S}{fraction}"
    if isinstance(value, date | Decimal | int):
        return str(value)
    if isinstance(value, float):
        return double_text(value)
    return str(value)


def double_text(value: float) -> str:
    """A double as Java writes it (Spark's cast): plain from 10^-3 to 10^7, else ``1.0E10``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    mantissa = "".join(map(str, digits)).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    head, tail = mantissa[0], mantissa[1:] or "0"
    return f"{'-' if sign else ''}{head}.{tail}E{power}"


def json_of(columns: list[str], row: tuple) -> str:
    """A row of a statement that is not a query (``show tables``), as a JSON object."""
    pairs = zip(columns, row, strict=True)
    values = {c: v if isinstance(v, int | float) else text_of(v) for c, v in pairs}
    return json.dumps({c: v for c, v in values.items() if v is not None}, separators=(",", ":"))


def render_csv(columns: list[str], rows: list[list[str | None]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
