"""A row that no longer holds leaves in the MERGE that rewrites its key: one commit, no reader
sees it going away, and no model deletes afterwards. A table rebuilt each run (user_profile)
loses it in its one commit too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingestion.ingest import ingest_once
from lakehouse.dbt import run_dbt
from tests.python.support.scenario import envelope, scenario_settings

T0 = 1_678_450_000  # 2023-03-10 12:06:40 UTC
SELECT = ["--select", "+completed_workouts", "+user_profile"]


def workout(action: str, at: int) -> dict:
    return {"user_id": 1, "workout_id": 7, "session_id": 1, "action": action, "timestamp": at}


def profile(user: int, update_type: str, at: int) -> dict:
    return {"user_id": user, "update_type": update_type, "timestamp": at, "first_name": "Ada"}


def land(settings, name: str, records: list[tuple]) -> None:
    kafka = settings.landing / "kafka"
    kafka.mkdir(parents=True, exist_ok=True)
    lines = [envelope(*record, kafka_time=T0) for record in records]
    (kafka / name).write_text("\n".join(lines) + "\n")


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def rows(spark, sql: str) -> set[tuple]:
    return {tuple(row) for row in spark.sql(sql).collect()}


def merges(spark, table: str) -> tuple[set[str], list[dict]]:
    """The operations of a table's history, and the metrics of its MERGEs, oldest first."""
    history = spark.sql(f"describe history {table}").orderBy("version").collect()
    operations = {commit.operation for commit in history}
    metrics = [commit.operationMetrics for commit in history if commit.operation == "MERGE"]
    return operations, metrics


@pytest.mark.integration
def test_rows_that_no_longer_hold_leave_in_the_merge_that_rewrites_their_key(catalog, tmp_path):
    spark = catalog
    settings = scenario_settings(tmp_path / "home")
    land(
        settings,
        "wave-1.jsonl",
        [
            ("user_info", 1, "1", profile(1, "new", T0 - 7200)),
            ("user_info", 2, "2", profile(2, "new", T0 - 7200)),
            ("workout", 1, "1", workout("start", T0)),
            ("workout", 2, "1", workout("stop", T0 + 1800)),
        ],
    )
    ingest_once(spark, settings)
    run_dbt(settings, ["run", *SELECT])
    workouts_sql = "select user_id, workout_id, session_id, start_time, end_time from "
    workouts_sql += "silver.completed_workouts"
    assert rows(spark, workouts_sql) == {(1, 7, 1, utc(T0), utc(T0 + 1800))}
    assert rows(spark, "select user_id from silver.user_profile") == {(1,), (2,)}

    # a late start between the start and the stop re-pairs the workout
    # ([rule 6](docs/contract.md#rule-6)); user 2 is deleted ([rule 3](docs/contract.md#rule-3))
    land(
        settings,
        "wave-2.jsonl",
        [
            ("workout", 3, "1", workout("start", T0 + 600)),
            ("user_info", 3, "2", profile(2, "delete", T0)),
        ],
    )
    ingest_once(spark, settings)
    run_dbt(settings, ["run", *SELECT])

    assert rows(spark, workouts_sql) == {(1, 7, 1, utc(T0 + 600), utc(T0 + 1800))}
    assert rows(spark, "select user_id from silver.user_profile") == {(1,)}
    operations, metrics = merges(spark, "silver.completed_workouts")
    assert "DELETE" not in operations
    last = metrics[-1]
    assert (last["numTargetRowsDeleted"], last["numTargetRowsInserted"]) == ("1", "1")
    # no table carries the flag the merge deletes by
    assert "is_removed" not in spark.table("silver.completed_workouts").columns
    # user_profile is rebuilt whole from the history each run: one commit, no DELETE
    operations, _ = merges(spark, "silver.user_profile")
    assert operations == {"CREATE OR REPLACE TABLE AS SELECT"}
