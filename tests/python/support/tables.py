"""Read the pipeline's silver and gold tables in the oracle's row format."""

from __future__ import annotations

import math
import re
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from tests.python.support.oracle import GRAINS, PROFILE_COLUMNS, _sort_key

SILVER = [
    "users",
    "user_profile",
    "user_profile_history",
    "heart_rate",
    "workouts",
    "completed_workouts",
    "workout_bpm",
    "gym_logs",
    "user_bins",
    "date_lookup",
    "rejected_events",
    "record_ledger",
]
GOLD = [
    "workout_bpm_summary",
    "workout_hr_zones",
    "gym_summary",
    "gym_daily_utilization",
    "record_ledger_daily",
]

REASON_CLASSES = [
    (r"^missing value$", "missing_value"),
    (r"^not valid UTF-8$", "not_utf8"),
    (r"^malformed JSON$", "malformed_json"),
    (r"^NaN or Infinity is not a JSON number$", "nan"),
    (r"^JSON nested deeper than 1000 levels$", "too_deep"),
    (r"^duplicate key in a JSON object$", "duplicate_key"),
    (r" overflows (bigint|double)$", "overflow"),
    (r" out of range$", "out_of_range"),
    (r"^value is not a JSON object$", "not_object"),
    (r"^missing field ", "missing_field"),
    (r"^wrong type for ", "wrong_type"),
    (r"^unknown (update_type|action)$", "unknown_enum"),
    (r"^dob is not a MM/dd/yyyy date$", "bad_date"),
    (r"^unknown topic ", "unknown_topic"),
    (r"^not a Kafka record", "not_kafka_record"),
]


def reason_class(reason: str) -> str:
    for pattern, name in REASON_CLASSES:
        if re.search(pattern, reason):
            return name
    raise AssertionError(f"rejection reason of no known class: {reason!r}")


def _select(frame: DataFrame, columns: list[str]) -> DataFrame:
    """Timestamps as epoch microseconds (exact, zone-free); other types as they are."""
    types = {f.name: f.dataType for f in frame.schema.fields}
    return frame.selectExpr(
        *[
            f"unix_micros(`{c}`) as `{c}`" if isinstance(types[c], T.TimestampType) else f"`{c}`"
            for c in columns
        ]
    )


def load(spark: SparkSession, name: str, warehouse: Path | None = None) -> DataFrame:
    """Silver or gold table ``name`` from the session's catalog, or by path from the warehouse
    folder of a pipeline that ran in another process."""
    layer = "gold" if name in GOLD else "silver"
    if warehouse is None:
        return spark.table(f"{layer}.{name}")
    return spark.read.format("delta").load(str(warehouse / f"{layer}.db" / name))


def read_table(
    spark: SparkSession, name: str, columns: list[str], warehouse: Path | None = None
) -> list[dict]:
    wanted = [c for c in columns if c != "reason_class"]
    if name == "rejected_events":
        wanted.append("reason")
    table = load(spark, name, warehouse)
    if name == "record_ledger":
        # the oracle accounts for Kafka records; landing lines that are not records and
        # registration rows are checked through rejected_events and users
        table = table.where("topic is not null")
    rows = [r.asDict() for r in _select(table, wanted).collect()]
    for row in rows:
        if name == "rejected_events":
            row["reason_class"] = reason_class(row.pop("reason"))
    return sorted(rows, key=_sort_key(GRAINS[name]))


#: The contract's columns of each table (docs/contract.md, silver and gold).
COLUMNS = {
    "users": ["user_id", "device_id", "mac_address", "registered_at"],
    "user_profile": ["user_id", *PROFILE_COLUMNS, "updated_at"],
    "user_profile_history": ["user_id", *PROFILE_COLUMNS, "valid_from", "valid_to", "is_deleted"],
    "heart_rate": ["device_id", "measured_at", "heartrate", "is_valid"],
    "workouts": ["user_id", "workout_id", "session_id", "action", "event_at"],
    "completed_workouts": ["user_id", "workout_id", "session_id", "start_time", "end_time"],
    "workout_bpm": [
        "user_id",
        "workout_id",
        "session_id",
        "start_time",
        "end_time",
        "device_id",
        "measured_at",
        "heartrate",
    ],
    "gym_logs": ["mac_address", "gym", "login", "logout"],
    "user_bins": ["user_id", "age", "gender", "city", "state"],
    "date_lookup": [
        "date",
        "week",
        "year",
        "month",
        "dayofweek",
        "dayofmonth",
        "dayofyear",
        "week_part",
    ],
    "rejected_events": ["source", "topic", "partition", "offset", "value", "reason_class"],
    "record_ledger": [
        "record_id",
        "disposition",
        "silver_table",
        "kept_record_id",
        "is_coordinate_conflict",
    ],
    "workout_bpm_summary": [
        "user_id",
        "workout_id",
        "session_id",
        "start_time",
        "end_time",
        "age",
        "gender",
        "city",
        "state",
        "min_bpm",
        "avg_bpm",
        "max_bpm",
        "num_recordings",
    ],
    "gym_summary": [
        "date",
        "gym",
        "mac_address",
        "user_id",
        "workout_id",
        "session_id",
        "minutes_in_gym",
        "minutes_exercising",
        "login",
        "start_time",
    ],
    "workout_hr_zones": [
        "user_id",
        "workout_id",
        "session_id",
        "start_time",
        "end_time",
        "age",
        "max_hr",
        *(f"seconds_zone_{k}" for k in range(6)),
        "trimp",
        "coverage",
    ],
    "gym_daily_utilization": [
        "gym",
        "date",
        "visits",
        "members",
        "minutes_in_gym",
        "peak_occupancy",
    ],
}


def read_all(spark: SparkSession, warehouse: Path | None = None) -> dict[str, list[dict]]:
    """Every silver and gold table of the contract, in the oracle's row format (``warehouse``:
    see ``load``)."""
    return {name: read_table(spark, name, columns, warehouse) for name, columns in COLUMNS.items()}


def assert_tables_equal(actual: dict, expected: dict) -> None:
    for name in COLUMNS:
        got, want = actual[name], expected[name]
        assert len(got) == len(want), f"{name}: {len(got)} rows, the oracle expects {len(want)}"
        for got_row, want_row in zip(got, want, strict=True):
            if name == "workout_bpm_summary":
                assert math.isclose(got_row.pop("avg_bpm"), want_row["avg_bpm"], rel_tol=1e-12)
                want_row = {k: v for k, v in want_row.items() if k != "avg_bpm"}
            assert got_row == want_row, f"{name}: row differs: {got_row} != {want_row}"
