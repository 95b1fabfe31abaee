"""Whose rows erasure removes and which records suppression keeps out, on hand-written rows."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

from ingestion.erasure import (
    SUPPRESSED_SCHEMA,
    landing_files_holding,
    subject_of,
    without_suppressed_records,
)
from ingestion.settings import load_settings

RECORDS = "record_id string, topic string, value string"


def at(hour: int) -> datetime:
    return datetime(2023, 3, 10, hour)


def epoch(hour: int) -> int:
    return int((at(hour) - datetime(1970, 1, 1)).total_seconds())


def records(spark):
    rows = [
        ("profile", "user_info", json.dumps({"user_id": 1, "update_type": "new"})),
        ("profile-of-2", "user_info", json.dumps({"user_id": 2, "update_type": "new"})),
        ("workout", "workout", json.dumps({"user_id": "1", "action": "start"})),
        ("reading-theirs", "bpm", json.dumps({"device_id": 7, "time": epoch(9)})),
        ("reading-before", "bpm", json.dumps({"device_id": 7, "time": epoch(7)})),
        ("reading-again", "bpm", json.dumps({"device_id": 7, "time": epoch(15)})),
        ("reading-of-2", "bpm", json.dumps({"device_id": 7, "time": epoch(11)})),
        # milliseconds are not an event time (epoch seconds, contract 1.2): far beyond the range
        ("reading-in-ms", "bpm", json.dumps({"device_id": 7, "time": epoch(15) * 1000})),
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
        # values no rule reads: kept, and no error (the stream must not stop on them)
        ("user-not-a-number", "workout", json.dumps({"user_id": "x1", "action": "start"})),
        ("device-not-a-number", "bpm", json.dumps({"device_id": "7a", "time": epoch(9)})),
        ("time-not-a-number", "bpm", json.dumps({"device_id": 7, "time": "9 o'clock"})),
        ("time-out-of-range", "bpm", json.dumps({"device_id": 7, "time": 1e300})),
        ("not-json", "bpm", "{oops"),
        ("no-value", "user_info", None),
    ]
    return spark.createDataFrame(rows, RECORDS)


#: User 1's, by hand: device 7 (and MAC ...:07) was theirs until 10:00 (and before their first
#: registration at 08:00: [rule 5](docs/contract.md#rule-5) gives earlier times to the first
#: registrant), then user 2's until 14:00, then theirs again.
THEIRS = [
    "profile",
    "reading-again",
    "reading-before",
    "reading-theirs",
    "visit-theirs",
    "workout",
]


def test_suppression_keeps_the_users_records_out_and_lets_the_rest_in(spark):
    held = [
        ("device", 7, None, at(10)),
        ("device", 7, at(14), None),
        ("mac", "aa:00:00:00:00:07", None, at(10)),
        ("mac", "aa:00:00:00:00:07", at(14), None),
    ]
    subjects = spark.createDataFrame(
        [
            (subject_of(1), "user", None, None, at(20)),
            *(
                (subject_of(value, kind), kind, start, end, at(20))
                for kind, value, start, end in held
            ),
        ],
        SUPPRESSED_SCHEMA,
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
