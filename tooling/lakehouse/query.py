"""Run SQL against an environment and render the result."""

from __future__ import annotations

import csv
import io

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def as_text(frame: DataFrame) -> tuple[list[str], list[list[str | None]]]:
    """Column names and rows as text, timestamps rendered by Spark in UTC."""
    columns = frame.columns
    rows = frame.select(*[F.col(f"`{c}`").cast("string") for c in columns]).collect()
    return columns, [list(row) for row in rows]


def render_json(frame: DataFrame) -> str:
    """A JSON array of row objects: numbers stay numbers, timestamps are ISO-8601 UTC with
    microseconds, null columns are left out."""
    options = {"timestampFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"}  # microseconds, UTC "Z"
    rows = frame.select(F.to_json(F.struct(*[F.col(f"`{c}`") for c in frame.columns]), options))
    return "[" + ",\n".join(row[0] for row in rows.collect()) + "]"


def render_csv(columns: list[str], rows: list[list[str | None]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
