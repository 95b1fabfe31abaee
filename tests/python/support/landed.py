"""What bronze holds, against what the simulator sent (its ground truth)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest

from ingestion import landing
from tests.python.support.truth import Truth

TABLES = ["kafka_records", "registration_exports", "registrations"]


def bronze(spark, settings, table):
    return settings.bronze_table(table).read(spark)


def versions(spark, settings) -> dict[str, int]:
    return {t: settings.bronze_table(t).delta(spark).history(1).first()["version"] for t in TABLES}


def expected_records(truth: Truth, topics: list[str] | None = None) -> Counter:
    """Each (topic, partition, offset) once, with the value sent; from the broker, only the
    topics the ingester subscribes to."""
    return Counter(
        {
            (r["topic"], r["partition"], r["offset"], r["value"]): 1
            for r in truth.records
            if topics is None or r["topic"] in topics
        }
    )


def landed_records(spark, settings) -> Counter:
    rows = (
        bronze(spark, settings, "kafka_records")
        .where("topic is not null")
        .select("topic", "partition", "offset", "value")
        .collect()
    )
    return Counter(tuple(r) for r in rows)


def epoch_micros(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def expected_registrations(truth: Truth, channel: str) -> Counter:
    rows = [
        (r["user_id"], r["device_id"], r["mac_address"], epoch_micros(r["registration_timestamp"]))
        for r in truth.registrations
        if r["channel"] == channel
    ]
    # database rows land once per distinct row; export rows once per exported line
    return Counter(set(rows)) if channel == "database" else Counter(rows)


def landed_registrations(spark, settings, table) -> Counter:
    micros = (
        "unix_micros(registration_timestamp)"
        if table == "registrations"
        else "unix_micros(timestamp_micros(cast(cast(registration_timestamp as decimal(24,6))"
        " * 1000000 as bigint)))"
    )
    rows = (
        bronze(spark, settings, table)
        .selectExpr("cast(user_id as bigint)", "cast(device_id as bigint)", "mac_address", micros)
        .collect()
    )
    return Counter(tuple(r) for r in rows)


def assert_bronze_matches(spark, settings, truth: Truth, topics: list[str] | None = None) -> None:
    """Bronze holds exactly what was sent: records, bad lines and registrations."""
    assert landed_records(spark, settings) == expected_records(truth, topics)
    bad = bronze(spark, settings, "kafka_records").where("topic is null").select("raw").collect()
    assert sorted(r.raw for r in bad) == sorted(b["line"] for b in truth.bad_lines)
    assert landed_registrations(spark, settings, "registration_exports") == expected_registrations(
        truth, "export"
    )
    assert landed_registrations(spark, settings, "registrations") == expected_registrations(
        truth, "database"
    )


class Crash(RuntimeError):
    """The ingester killed mid-run."""


def crash_after_second_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Kafka-record sink dies right after its second batch reached bronze, before the stream
    commits the batch to its checkpoint: as a process killed at that instant would."""
    written = 0
    insert_new = landing.insert_new

    def insert_then_crash(*args, **kwargs) -> None:
        nonlocal written
        insert_new(*args, **kwargs)
        written += 1
        if written == 2:
            raise Crash("killed after the batch was written, before its checkpoint commit")

    monkeypatch.setattr(landing, "insert_new", insert_then_crash)
