"""Latency of the README's example queries as a user meets it: each ``lakehouse sql`` in a
process of its own, in process (a Spark of its own each time) and through the environment's SQL
warehouse (the first answer of each query after the start, then warm), side by side."""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import time

from ingestion.errors import LakehouseError
from lakehouse import warehouse
from lakehouse.catalog import table_folders
from lakehouse.project import LAKEHOUSE, LocalSettings
from lakehouse.query import EXAMPLES

log = logging.getLogger(__name__)


def sql_seconds(settings: LocalSettings, fmt: str, query: str) -> float:
    """Seconds of one ``lakehouse sql`` process, from start to exit."""
    command = [str(LAKEHOUSE), "--home", str(settings.home), "sql", "--env", settings.env.value]
    env = os.environ | {"LAKEHOUSE_WAREHOUSE_PORT": str(settings.warehouse_port)}
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--format", fmt, query], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LakehouseError(f"lakehouse sql failed on {query!r}: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (inclusive: the largest of few values is their p95's neighbour)."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def bench_queries(settings: LocalSettings, *, repeats: int = 5) -> list[tuple[str, float, float]]:
    """(measure, p50 seconds, p95 seconds) of the README queries: in process, through the
    warehouse the first time after its start, and warm; then the warehouse's start."""
    if not any(name.startswith("gold.") for name in table_folders(settings)):
        raise LakehouseError(
            f"environment {settings.env.value} has no gold tables to query: run `make demo` "
            "(or `lakehouse demo --env ENV`) first"
        )
    if warehouse.running(settings):
        raise LakehouseError(
            "the SQL warehouse already runs, so its first answers cannot be measured: stop it "
            f"with `lakehouse warehouse stop --env {settings.env.value}`"
        )

    def each_query() -> list[float]:
        return [sql_seconds(settings, fmt, query) for fmt, query in EXAMPLES]

    log.info("In process: %d queries, each in a Spark of its own", len(EXAMPLES))
    in_process = each_query()
    started = time.perf_counter()
    warehouse.start(settings)
    start = time.perf_counter() - started
    try:
        first = each_query()
        warm = [seconds for _ in range(repeats) for seconds in each_query()]
    finally:
        warehouse.stop(settings)
    return [
        ("lakehouse sql, in process", *percentiles(in_process)),
        ("lakehouse sql, warehouse, first answer", *percentiles(first)),
        ("lakehouse sql, warehouse, warm", *percentiles(warm)),
        ("warehouse start", start, start),
    ]


def table(rows: list[tuple[str, float, float]]) -> str:
    """The measures, and the in-process p50 over the warm p50."""
    lines = ["| measure | p50 (s) | p95 (s) |", "|---|---:|---:|"]
    lines += [f"| {name} | {p50:.2f} | {p95:.2f} |" for name, p50, p95 in rows]
    ratio = rows[0][1] / rows[2][1]
    return "\n".join([*lines, "", f"in process p50 / warehouse warm p50: {ratio:.1f}x"])
