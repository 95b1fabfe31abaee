"""The local SQL warehouse as a user meets it, against a Spark of each command's own, side by
side: the README's example queries (each ``lakehouse sql`` in a process of its own) and
``lakehouse build`` (dbt, incremental: the demo's tables with nothing new to read). Through the
warehouse, each is measured the first time after the warehouse's start, then warm."""

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

#: The measures' names, per kind of work: in process, through the warehouse for the first time
#: after its start, and warm. The table ends with each kind's in process over warm ratio.
MEASURES = {
    kind: (
        f"{command}, in process",
        f"{command}, warehouse, {first}",
        f"{command}, warehouse, warm",
    )
    for kind, command, first in [
        ("query", "lakehouse sql", "first answer"),
        ("build", "lakehouse build", "first after the start"),
    ]
}


def lakehouse_seconds(settings: LocalSettings, command: str, *args: str) -> float:
    """Seconds of one ``lakehouse COMMAND --env ENV ARGS`` process, from start to exit."""
    env = ["--env", settings.env.value]
    started = time.perf_counter()
    done = subprocess.run(
        [str(LAKEHOUSE), "--home", str(settings.home), command, *env, *args],
        env=os.environ | settings.dbt_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise LakehouseError(f"lakehouse {command} failed: {done.stderr.strip()[-300:]}")
    return time.perf_counter() - started


def percentiles(values: list[float]) -> tuple[float, float]:
    """p50 and p95 (inclusive: the largest of few values is their p95's neighbour; one value is
    both)."""
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94]


def bench_queries(settings: LocalSettings, *, repeats: int = 5) -> list[tuple[str, float, float]]:
    """(measure, p50 seconds, p95 seconds) of the README queries and of a build: in process,
    through the warehouse the first time after its start, and warm; then the warehouse's start."""
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
        return [lakehouse_seconds(settings, "sql", "--format", f, q) for f, q in EXAMPLES]

    def build(target: str) -> list[float]:
        log.info("lakehouse build --target %s", target)
        return [lakehouse_seconds(settings, "build", "--target", target)]

    log.info("In process: %d queries, each in a Spark of its own", len(EXAMPLES))
    in_process = each_query()
    build_in_process = build("local")
    started = time.perf_counter()
    warehouse.start(settings)
    start = time.perf_counter() - started
    try:
        first = each_query()
        build_first = build("warehouse")
        warm = [seconds for _ in range(repeats) for seconds in each_query()]
        build_warm = build("warehouse")
    finally:
        warehouse.stop(settings)
    timings = {
        "query": (in_process, first, warm),
        "build": (build_in_process, build_first, build_warm),
    }
    return [
        *(
            (name, *percentiles(values))
            for kind, names in MEASURES.items()
            for name, values in zip(names, timings[kind], strict=True)
        ),
        ("warehouse start", start, start),
    ]


def table(rows: list[tuple[str, float, float]]) -> str:
    """The measures, and per kind of work the in-process p50 over the warm p50."""
    lines = ["| measure | p50 (s) | p95 (s) |", "|---|---:|---:|"]
    lines += [f"| {name} | {p50:.2f} | {p95:.2f} |" for name, p50, p95 in rows]
    p50 = {name: value for name, value, _ in rows}
    lines.append("")
    for kind, (in_process, _, warm) in MEASURES.items():
        ratio = p50[in_process] / p50[warm]
        lines.append(f"{kind}: in process p50 / warehouse warm p50: {ratio:.1f}x")
    return "\n".join(lines)
