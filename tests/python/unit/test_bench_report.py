"""The benchmark document: targets judged from the measures, models ranked by their seconds."""

from __future__ import annotations

import json

from bench.report import node_table, table
from bench.run import FLATNESS, LEDGER_SHARE, Measure, Report

MACHINE = {"cpu": "cpu", "cores": 2, "memory_gib": 24.0, "python": "3.11", "spark": "4.2.0"}


def test_each_target_is_marked_met_or_not_by_its_limit():
    report = Report(
        measures=[
            Measure("run +1% / full run", 10_000_000, 0.19, "x"),
            Measure("build no input / full build", 10_000_000, 0.25, "x"),
            Measure(FLATNESS, 10_000_000, 1.1, "x"),
            Measure("landing ratio to ceiling", 1_000_000, 0.79, "x"),
        ],
        machine=MACHINE,
    )
    rows = table(report).splitlines()
    assert rows[2] == "| run +1% / full run | 10M | 0.19 x | <= 0.2: met |"
    assert rows[3] == "| build no input / full build | 10M | 0.25 x | <= 0.2: **not met** |"
    assert rows[4] == f"| {FLATNESS} | 10M | 1.1 x | <= 1.1: met |"
    assert rows[5] == "| landing ratio to ceiling | 1M | 0.79 x | >= 0.8: **not met** |"


def test_a_models_share_is_its_seconds_in_the_stage_against_the_stages_time():
    report = Report(
        measures=[Measure("dbt run, +1%", 10_000_000, 80.0, "s")],
        nodes={
            "dbt run, +1% @ 10000000": {
                "model.p.record_ledger": 12.0,
                "model.p.record_ledger_daily": 3.0,
                "tests": 0.0,
            }
        },
        machine=MACHINE,
    )
    assert report.share(LEDGER_SHARE, 10_000_000, "dbt run, +1%", "record_ledger") == 0.15
    [row] = [r for r in table(report).splitlines() if r.startswith(f"| {LEDGER_SHARE}")]
    assert row == f"| {LEDGER_SHARE} | 10M | 0.15 x | <= 0.15: met |"


def test_models_of_the_largest_size_slowest_first_tests_left_out():
    report = Report(
        nodes={
            "dbt full run @ 1000000": {"model.p.heart_rate": 99.0},
            "dbt full run @ 10000000": {
                "model.p.heart_rate": 30.0,
                "model.p.record_ledger": 80.5,
                "test.p.unique_heart_rate": 9.0,
            },
            "dbt run, +1% @ 10000000": {"model.p.heart_rate": 3.25, "model.p.record_ledger": 6.0},
            "dbt run, no new input @ 10000000": {"model.p.record_ledger": 1.0},
        },
        machine=MACHINE,
    )
    assert node_table(report).splitlines()[4:] == [
        "| record_ledger | 80.5 | 6.0 | 1.0 |",
        "| heart_rate | 30.0 | 3.2 |  |",
    ]


def test_latencies_are_kept_as_percentiles_not_every_value():
    values = [float(n) for n in range(1, 102)]  # 1..101: the k-th percentile is k + 1 exactly
    report = Report(latencies={"event to bronze": values}, machine=MACHINE)
    kept = json.loads(report.to_json())["latencies"]["event to bronze"]
    assert kept == {"count": 101, "p50": 51.0, "p90": 91.0, "p95": 96.0, "p99": 100.0, "max": 101.0}
