"""The warehouse benchmark's arithmetic: percentiles of its timings and the ratios it prints."""

from __future__ import annotations

import pytest

from bench.queries import percentiles, table


def test_one_timing_is_its_own_p50_and_p95():
    assert percentiles([42.5]) == (42.5, 42.5)


def test_percentiles_interpolate_between_the_timings():
    # inclusive method over 1..5: p50 is the middle value, p95 lies 0.8 of the way from 4 to 5
    assert percentiles([5.0, 1.0, 3.0, 2.0, 4.0]) == pytest.approx((3.0, 4.8))


def test_the_table_ends_with_the_in_process_over_warm_ratio_of_queries_and_builds():
    rows = [
        ("lakehouse sql, in process", 18.0, 19.0),
        ("lakehouse sql, warehouse, first answer", 2.0, 9.0),
        ("lakehouse sql, warehouse, warm", 1.2, 1.5),
        ("lakehouse build, in process", 150.0, 150.0),
        ("lakehouse build, warehouse, first after the start", 140.0, 140.0),
        ("lakehouse build, warehouse, warm", 60.0, 60.0),
        ("warehouse start", 11.0, 11.0),
    ]
    lines = table(rows).splitlines()
    assert lines[:3] == [
        "| measure | p50 (s) | p95 (s) |",
        "|---|---:|---:|",
        "| lakehouse sql, in process | 18.00 | 19.00 |",
    ]
    assert lines[-2:] == [
        "query: in process p50 / warehouse warm p50: 15.0x",
        "build: in process p50 / warehouse warm p50: 2.5x",
    ]
