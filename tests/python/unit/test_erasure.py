"""Whose rows erasure removes and which records suppression keeps out, on hand-written rows."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

from pyspark.sql import types as T

from ingestion.erasure import (
    SUPPRESSED_SCHEMA,
    holdings,
    kafka_records_of,
    landing_files_holding,
    subject_of,
    without_suppressed_records,
)
from ingestion.settings import load_settings

REGISTERED = T.StructType(
    [
        T.StructField("user_id", T.LongType()),
        T.StructField("device_id", T.LongType()),
        T.StructField("mac_address", T.StringType()),
        T.StructField("registered_at", T.TimestampType()),
    ]
)
RECORDS = "record_id string, topic string, value string"


def at(hour: int) -> datetime:
    return datetime(2023, 3, 10, hour)


def epoch(hour: int) -> int:
    return int((at(hour) - datetime(1970, 1, 1)).total_seconds())


def registrations(spark):
    # device 7 is user 1's from 08:00, user 2's from 10:00, user 1's again from 14:00;
    # device 8 is user 2's only
    return spark.createDataFrame(
        [
            (1, 7, "aa:00:00:00:00:07", at(8)),
            (2, 7, "aa:00:00:00:00:07", at(10)),
            (1, 7, "aa:00:00:00:00:07", at(14)),
            (2, 8, "aa:00:00:00:00:08", at(9)),
        ],
        REGISTERED,
    )


def test_a_device_is_the_users_from_their_registration_to_the_next_one(spark):
    held = holdings(registrations(spark), 1, "device_id")
    assert sorted(map(tuple, held.collect())) == [(7, at(8), at(10)), (7, at(14), None)]
    assert holdings(registrations(spark), 3, "device_id").collect() == []


def records(spark):
    rows = [
        ("profile", "user_info", json.dumps({"user_id": 1, "update_type": "new"})),
        ("profile-of-2", "user_info", json.dumps({"user_id": 2, "update_type": "new"})),
        ("workout", "workout", json.dumps({"user_id": "1", "action": "start"})),
        ("reading-theirs", "bpm", json.dumps({"device_id": 7, "time": epoch(9)})),
        ("reading-in-ms", "bpm", json.dumps({"device_id": 7, "time": epoch(15) * 1000})),
        ("reading-of-2", "bpm", json.dumps({"device_id": 7, "time": epoch(11)})),
        ("reading-before", "bpm", json.dumps({"device_id": 7, "time": epoch(7)})),
        ("reading-other-device", "bpm", json.dumps({"device_id": 8, "time": epoch(9)})),
        (
            "visit-theirs",
            "gym_login",
            json.dumps({"mac_address": "AA:00:00:00:00:07 ", "login": epoch(8)}),
        ),
        (
            "visit-of-2",
            "gym_login",
            json.dumps({"mac_address": "aa:00:00:00:00:07", "login": epoch(12)}),
        ),
        ("not-json", "bpm", "{oops"),
        ("no-value", "user_info", None),
    ]
    return spark.createDataFrame(rows, RECORDS)


THEIRS = ["profile", "reading-in-ms", "reading-theirs", "visit-theirs", "workout"]


def test_the_users_records_are_theirs_and_nobody_elses(spark):
    registered = registrations(spark)
    condition = kafka_records_of(
        load_settings(),
        1,
        holdings(registered, 1, "device_id"),
        holdings(registered, 1, "mac_address"),
    )
    chosen = records(spark).where(condition)
    assert sorted(r.record_id for r in chosen.collect()) == THEIRS


def test_suppression_keeps_the_same_records_out_and_lets_the_rest_in(spark):
    registered = registrations(spark)
    held = [
        (subject_of(r["device_id"], "device"), "device", r["held_from"], r["held_to"], at(20))
        for r in holdings(registered, 1, "device_id").collect()
    ] + [
        (subject_of(r["mac_address"], "mac"), "mac", r["held_from"], r["held_to"], at(20))
        for r in holdings(registered, 1, "mac_address").collect()
    ]
    subjects = spark.createDataFrame(
        [(subject_of(1), "user", None, None, at(20)), *held], SUPPRESSED_SCHEMA
    )
    kept = without_suppressed_records(records(spark), subjects)
    every = {r.record_id for r in records(spark).collect()}
    assert sorted(r.record_id for r in kept.collect()) == sorted(every - set(THEIRS))
    assert kept.columns == records(spark).columns


def test_landing_files_that_still_hold_the_user_are_listed(tmp_path):
    settings = load_settings(home=tmp_path, landing_dir=tmp_path / "landing")
    kafka = settings.landing / "kafka"
    exports = settings.landing / "registrations"
    kafka.mkdir(parents=True)
    exports.mkdir(parents=True)
    line = {"topic": "workout", "partition": 0, "offset": 1}
    (kafka / "a.jsonl").write_text(json.dumps({**line, "value": json.dumps({"user_id": 1})}))
    (kafka / "b.jsonl").write_text(json.dumps({**line, "value": json.dumps({"user_id": 11})}))
    with gzip.open(kafka / "c.jsonl.gz", "wt") as handle:
        handle.write("not json\n" + json.dumps({**line, "value": {"user_id": 1}}) + "\n")
    (exports / "d.csv").write_text("device_id,user_id\n7,1\n")
    (exports / "e.csv").write_text("user_id,device_id\n2,7\n")
    assert landing_files_holding(settings, 1) == [
        str(kafka / "a.jsonl"),
        str(kafka / "c.jsonl.gz"),
        str(exports / "d.csv"),
    ]
