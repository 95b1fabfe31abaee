"""The settings benchmark: how a setting splits, and its table against the default."""

from __future__ import annotations

from bench.knobs import split, table


def test_a_setting_splits_into_spark_conf_dbt_options_and_environment():
    knob = {
        "spark.sql.shuffle.partitions": "1",
        "--threads": "2",
        "$JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1",
    }
    assert split(knob) == (
        {"spark.sql.shuffle.partitions": "1"},
        ["--threads", "2"],
        {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1"},
    )
    assert split({}) == ({}, [], {})


def test_each_setting_is_a_row_against_the_default_and_a_failure_is_a_row_too():
    results = {
        "default": {"ingest": 10.0, "build": 30.0},
        "faster": {"ingest": 8.0, "build": 22.0},
        "broken": "DELTA_ROW_ID_ASSIGNMENT_WITHOUT_STATS",
    }
    assert table(results).splitlines() == [
        "| setting | ingest (s) | build (s) | total (s) | / default |",
        "|---|---|---|---|---|",
        "| default | 10.0 | 30.0 | 40.0 | 1.00 |",
        "| faster | 8.0 | 22.0 | 30.0 | 0.75 |",
        "| broken | fails: DELTA_ROW_ID_ASSIGNMENT_WITHOUT_STATS | | | |",
    ]
