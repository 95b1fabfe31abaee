"""Whose rows erasure removes and which records suppression keeps out, on hand-written rows."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import shutil
import stat
from datetime import UTC, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from ingestion.erasure import (
    ERASED,
    HELD,
    HELD_BACK,
    KEY_FILE,
    RECEIPTS,
    SUPPRESSED,
    SUPPRESSED_SCHEMA,
    UNDER_WAY,
    Suppression,
    erased_so_far,
    erasure_key,
    finish,
    finish_purged,
    judged,
    landing_files_holding,
    rewrite_without,
    save_progress,
    settle,
    subject_column,
    subject_of,
    suppression_reader,
    under_way,
    where,
)
from ingestion.errors import LakehouseError
from ingestion.settings import load_settings
from ingestion.transform import KAFKA_RECORDS_SCHEMA

RECORDS = "record_id string, topic string, value string"
KEY = b"a key of the environment"


def test_spark_hashes_identifiers_as_hmac_sha256_under_the_key(spark):
    """The ingester's Spark columns and erasure's Python hash each kind of identifier alike,
    for short and long keys (RFC 2104: a key longer than a block is hashed first); another key
    gives another hash."""
    values = [
        ("user", "7"),
        ("device", "876543210"),
        ("mac", "de:ad:be:ef:00:01"),
        ("record", "bpm/0/9/ab"),
    ]
    frame = spark.createDataFrame(values, "kind string, value string")
    for key in (KEY, b"k" * 100):
        hashed = frame.select(
            "kind",
            "value",
            F.coalesce(
                *[
                    F.when(F.col("kind") == kind, subject_column(F.col("value"), key, kind))
                    for kind, _ in values
                ]
            ).alias("subject"),
        ).collect()
        expected = {
            (kind, value): hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            for kind, value in values
        }
        assert {(r.kind, r.value): r.subject for r in hashed} == expected
        assert {subject_of(value, key, kind) for kind, value in values} == set(expected.values())
    assert subject_of(7, KEY) != subject_of(7, b"another key")


def test_the_local_key_is_made_once_readable_by_its_owner_only(tmp_path):
    settings = load_settings(env="test", home=tmp_path)
    key = erasure_key(settings)
    path = settings.governance_dir / KEY_FILE
    assert len(key) == 64 and int(key, 16) >= 0, "256 random bits, in hex"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert erasure_key(settings) == key, "the same key on every use"
    assert sorted(p.name for p in path.parent.iterdir()) == [KEY_FILE], "no draft left"


def test_a_reading_command_finds_no_one_erased_and_creates_neither_list_nor_key(
    spark, tmp_path, monkeypatch
):
    settings = load_settings(env="test", home=tmp_path)
    nobody = erased_so_far(spark, settings)
    assert nobody.subjects.collect() == []
    assert not settings.governance_dir.exists(), "a read-only command wrote"

    # the ingester's reader creates both; it reads the key once, and the list at every call
    reader = suppression_reader(spark, settings)
    key = (settings.governance_dir / KEY_FILE).read_bytes().strip()
    monkeypatch.setattr(
        "ingestion.erasure.erasure_key", lambda _: pytest.fail("the key read again")
    )
    subject = subject_of(7, key)
    erased_at = datetime(2026, 1, 2)
    row = spark.createDataFrame([(subject, "user", None, erased_at)], SUPPRESSED_SCHEMA)
    row.write.format("delta").mode("append").save(str(settings.governance_dir / SUPPRESSED))
    now = reader()
    assert (now.key, [r.subject for r in now.subjects.collect()]) == (key, [subject])


def test_databricks_without_a_key_stops_with_where_to_put_one(tmp_path):
    settings = load_settings(env="test", home=tmp_path, catalog="smartwatch_test")
    with pytest.raises(LakehouseError, match="erasure-key"):
        erasure_key(settings)
    given = load_settings(env="test", home=tmp_path, catalog="c", erasure_key="s3cr3t-key")
    assert erasure_key(given) == b"s3cr3t-key" and "s3cr3t-key" in given.secret_values()


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


#: User 1 registered device 7 (and MAC ...:07) at 08:00 and again at 14:00; user 2 at 10:00.
USER_1 = [("device", 7, at(8)), ("device", 7, at(14))]
USER_1 += [("mac", "aa:00:00:00:00:07", since) for _, _, since in USER_1]
REGISTERED = "device_id bigint, mac_address string, registered_at timestamp"


def registered(spark, *hours: int):
    """silver.users as the erasure left it: other users' registrations of device 7 (and its
    MAC address) at ``hours``."""
    rows = [(7, "aa:00:00:00:00:07", at(hour)) for hour in hours]
    return spark.createDataFrame(rows, REGISTERED)


def suppression(spark, registrations, *listed_records: str) -> Suppression:
    erased_at = at(20)
    rows = [(subject_of(1, KEY), "user", None, erased_at)]
    rows += [
        (subject_of(value, KEY, kind), kind, since, erased_at) for kind, value, since in USER_1
    ]
    rows += [(subject_of(r, KEY, "record"), "record", None, erased_at) for r in listed_records]
    return Suppression(spark.createDataFrame(rows, SUPPRESSED_SCHEMA), KEY, registrations)


def verdicts(spark, suppressed: Suppression, extra=()) -> dict[str, str | None]:
    """Each record's verdict (none of them held back before)."""
    frame = records(spark).withColumn("held_at", F.lit(None).cast("timestamp"))
    if extra:
        frame = frame.unionByName(spark.createDataFrame(list(extra), frame.schema))
    return {r.record_id: r.verdict for r in judged(frame, suppressed, at(0)).collect()}


#: By hand, with user 2's registration at 10:00 as the only other one: device 7 was user 1's
#: from before 08:00 (the first registration: [rule 5](docs/contract.md#rule-5) gives earlier
#: times to it, until a registration dated earlier arrives) to 10:00, then from 14:00 on (until
#: the next registration: none yet).
ERASED_NOW = {
    "profile": ERASED,
    "workout": ERASED,
    "reading-theirs": ERASED,  # 09:00
    "visit-theirs": ERASED,  # 08:00, the MAC address written in capitals with a space
    # a reading with no readable time naming their device: theirs, as silver.record_owners says
    "reading-in-ms": ERASED,
    "time-not-a-number": ERASED,
    "time-out-of-range": ERASED,
    "reading-before": HELD,  # 07:00, before the first registration
    "reading-again": HELD,  # 15:00, after their last registration
}


def test_an_erased_users_records_are_erased_held_or_landed_by_the_registrations_silver_holds(
    spark,
):
    every = {r.record_id for r in records(spark).collect()}
    assert verdicts(spark, suppression(spark, registered(spark, 10))) == {
        **dict.fromkeys(every),
        **ERASED_NOW,
    }
    # the device resold after the erasure (16:00), and registered late to user 4 with a time
    # before user 1's first registration (06:00): the 07:00 reading is user 4's, the 15:00 one
    # user 1's (from 14:00 to 16:00), a reading at 17:00 the new owner's
    later = ("reading-later", "bpm", json.dumps({"device_id": 7, "time": epoch(17)}), None)
    decided = verdicts(spark, suppression(spark, registered(spark, 6, 10, 16)), extra=[later])
    assert decided == {
        **dict.fromkeys(every | {"reading-later"}),
        **ERASED_NOW,
        "reading-before": None,
        "reading-again": ERASED,
    }
    # a record erased before is left out by its id, whatever it holds
    assert verdicts(spark, suppression(spark, registered(spark, 10), "not-json"))["not-json"] == (
        ERASED
    )


def test_a_record_held_back_lands_once_a_registration_decides_it_or_is_erased_in_time(
    spark, tmp_path
):
    settings = load_settings(env="test", home=tmp_path, erasure_hold_days=14)
    spark.createDataFrame([], SUPPRESSED_SCHEMA).write.format("delta").save(
        str(settings.governance_dir / SUPPRESSED)
    )
    landed: list[str] = []

    def land(frame) -> None:
        landed.extend(r.record_id for r in frame.collect())

    def held() -> list[str]:
        table = spark.read.format("delta").load(str(settings.governance_dir / HELD_BACK))
        return sorted(r.record_id for r in table.collect())

    def listed() -> set[str]:
        table = spark.read.format("delta").load(str(settings.governance_dir / SUPPRESSED))
        return {r.subject for r in table.where(F.col("kind") == "record").collect()}

    def as_landed(frame):
        """Records as the ingester has them, every column of bronze's."""
        frame = frame.withColumn("source", F.lit("landing")).withColumn(
            "ingested_at", F.lit(at(21))
        )
        present = set(frame.columns)
        return frame.select(
            *(
                F.col(f.name) if f.name in present else F.lit(None).cast(f.dataType).alias(f.name)
                for f in KAFKA_RECORDS_SCHEMA.fields
            )
        )

    every = {r.record_id for r in records(spark).collect()}
    batch = as_landed(records(spark))
    settle(spark, settings, batch, suppression(spark, registered(spark, 10)), land)
    undecided = sorted(r for r, v in ERASED_NOW.items() if v == HELD)
    assert sorted(landed) == sorted(every - set(ERASED_NOW))
    assert held() == undecided
    # the ones erased now are listed, so a source delivering them again is left out and the
    # audit counts them as erased, not lost
    assert listed() == {subject_of(r, KEY, "record") for r, v in ERASED_NOW.items() if v == ERASED}

    # delivered again while held: held once, landed not at all
    again = batch.where(F.col("record_id") == "reading-again")
    settle(spark, settings, again, suppression(spark, registered(spark, 10)), land)
    assert held() == undecided
    assert sorted(landed) == sorted(every - set(ERASED_NOW))

    # a registration built since decides them: the device resold at 16:00, and registered late
    # to user 4 at 06:00: the 07:00 reading lands, the 15:00 one is erased
    landed.clear()
    empty = batch.limit(0)
    settle(spark, settings, empty, suppression(spark, registered(spark, 6, 10, 16)), land)
    assert (landed, held()) == (["reading-before"], [])
    assert subject_of("reading-again", KEY, "record") in listed()

    # a record no registration decided within erasure_hold_days is erased as theirs
    later = as_landed(
        spark.createDataFrame(
            [("reading-later", "bpm", json.dumps({"device_id": 7, "time": epoch(17)}))], RECORDS
        )
    )
    still_theirs = suppression(spark, registered(spark, 10))
    settle(spark, settings, later, still_theirs, land)
    assert held() == ["reading-later"]
    aged = load_settings(env="test", home=tmp_path, erasure_hold_days=1e-9)
    settle(spark, aged, empty, still_theirs, land)
    assert held() == [] and subject_of("reading-later", KEY, "record") in listed()
    assert landed == ["reading-before"], "nothing else landed"


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


def receipts_of(spark, settings) -> list:
    path = settings.governance_dir / RECEIPTS
    if not path.exists():
        return []
    return spark.read.format("delta").load(str(path)).orderBy("receipt_id").collect()


def under_way_ids(spark, settings) -> list[str]:
    rows = spark.read.format("delta").load(str(settings.governance_dir / UNDER_WAY)).collect()
    return sorted(r.receipt_id for r in rows)


def test_a_rerun_continues_the_erasure_under_way_and_its_receipt_is_written_once(spark, tmp_path):
    settings = load_settings(env="test", home=tmp_path)
    first = under_way(spark, settings, 7)
    first.add_removed("bronze.kafka_records", 3)
    save_progress(spark, settings, first)  # then the run failed

    again = under_way(spark, settings, 7)
    assert (again.receipt_id, again.erased_at, again.rows_removed) == (
        first.receipt_id,
        first.erased_at,
        {"bronze.kafka_records": 3},
    )
    again.add_removed("bronze.kafka_records", 0)  # nothing of theirs left to find
    again.add_removed("silver.user_profile_snapshots", 2)
    done = datetime(2026, 1, 2, tzinfo=UTC)
    again.removed_at = done
    finish(spark, settings, again, done)
    finish(spark, settings, again, done)  # a rerun after the receipt, before the close

    [receipt] = receipts_of(spark, settings)
    assert receipt.receipt_id == first.receipt_id
    assert receipt.subject == subject_of(7, erasure_key(settings))
    assert receipt.rows_removed == {"bronze.kafka_records": 3, "silver.user_profile_snapshots": 2}
    assert receipt.removed_at == receipt.files_gone_at == datetime(2026, 1, 2)
    assert under_way_ids(spark, settings) == []
    assert under_way(spark, settings, 7).receipt_id != first.receipt_id, "a new request"


def test_a_vacuum_completes_the_erasures_removed_at_least_a_retention_before_it(spark, tmp_path):
    settings = load_settings(env="test", home=tmp_path)
    vacuumed = datetime(2026, 1, 10, 12, tzinfo=UTC)
    retention = timedelta(hours=settings.erasure_file_retention_hours)
    removed = {
        1: vacuumed - retention,  # its files unreferenced for exactly the retention: deleted
        2: vacuumed - retention + timedelta(seconds=1),  # one second short: kept
        3: None,  # silver and gold not rebuilt yet
    }
    receipt_ids = {}
    for user, at_ in removed.items():
        receipt = under_way(spark, settings, user)
        receipt.removed_at = at_
        save_progress(spark, settings, receipt)
        receipt_ids[user] = receipt.receipt_id

    assert finish_purged(spark, settings, vacuumed) == 1

    [receipt] = receipts_of(spark, settings)
    assert (receipt.receipt_id, receipt.files_gone_at) == (
        receipt_ids[1],
        datetime(2026, 1, 10, 12),
    )
    assert under_way_ids(spark, settings) == sorted([receipt_ids[2], receipt_ids[3]])


def test_the_ingester_reads_silvers_registrations_when_a_device_is_listed(spark, tmp_path):
    """Only a listed device needs the registrations; the ingester's session (no metastore)
    finds silver.users at its folder under the environment's warehouse."""
    settings = load_settings(env="test", home=tmp_path)
    reader = suppression_reader(spark, settings)
    nobody = reader()
    assert (nobody.registrations, nobody.anyone) == (None, False), "no one listed"
    users = spark.createDataFrame(
        [(1, 7, "aa:00:00:00:00:07", at(8), at(9))],
        "user_id bigint, device_id bigint, mac_address string, registered_at timestamp, "
        "ingested_at timestamp",
    )
    users.write.format("delta").save(str(settings.warehouse_dir / "silver.db" / "users"))
    key = (settings.governance_dir / KEY_FILE).read_bytes().strip()
    device = spark.createDataFrame(
        [(subject_of(7, key, "device"), "device", at(8), at(20))], SUPPRESSED_SCHEMA
    )
    device.write.format("delta").mode("append").save(str(settings.governance_dir / SUPPRESSED))
    listed = reader()
    assert listed.anyone
    assert [tuple(r) for r in listed.registrations.collect()] == [(7, "aa:00:00:00:00:07", at(8))]


@pytest.mark.parametrize("cut", ["between the renames", "after them"])
def test_a_rewrite_cut_short_is_taken_up_again_and_loses_no_row(spark, tmp_path, cut):
    """A crash in ``rewrite_without`` after the old folder was moved aside, before or after the
    new one took its place: the next run finds the table whole and removes the rows."""
    path = tmp_path / "snapshots"
    rows = [(1, "kept"), (2, "gone"), (3, "kept")]
    spark.createDataFrame(rows, "user_id long, value string").write.format("delta").save(str(path))
    retired = tmp_path / ".snapshots.erased"
    if cut == "between the renames":
        path.rename(retired)
    else:
        shutil.copytree(path, retired)

    removed = rewrite_without(spark, path, where(F.col("user_id") == 2))

    assert removed == 1
    left = spark.read.format("delta").load(str(path)).collect()
    assert sorted(tuple(r) for r in left) == [(1, "kept"), (3, "kept")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snapshots"]
