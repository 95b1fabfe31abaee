"""Erasure with proof: after ``forget``, no file of the environment's storage (read directly: the
Parquet data and checkpoints with pyarrow, every other file as bytes) holds the user's
identifiers; every other user's rows are as they were; records the sources still hold are not
ingested again, and a rebuild does not bring the user back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.parquet as pq
import pytest

from ingestion.erasure import (
    RECEIPTS,
    SUPPRESSED,
    UNDER_WAY,
    erasure_key,
    governance_table,
    held_back_so_far,
    remove_from,
    rewrite_without,
    subject_of,
    suppression_list,
    user_intervals,
)
from ingestion.ingest import ingest_once
from lakehouse.audit import audit
from lakehouse.dbt import run_dbt
from lakehouse.erasure import built_tables, forget
from lakehouse.report import spark_rows, write_report
from tests.python.support.scenario import envelope, scenario_settings

T0 = 1_678_450_000  # 2023-03-10 12:06:40 UTC
GONE, KEPT = 987_654_321, 123_456_789
DEVICE = 876_543_210  # registered to GONE, then to KEPT at T0 + 3600
GONE_MAC, KEPT_MAC = "de:ad:be:ef:00:01", "c0:ff:ee:00:00:02"
NEW, NEW_DEVICE = 555_000_111, 555_000_222  # registers GONE's MAC address after the erasure
NEW_MAC_VISIT = {
    "mac_address": GONE_MAC,
    "gym": 4,
    "login": T0 + 2 * 86_400,
    "logout": T0 + 2 * 86_400 + 900,
}
#: The snapshot's folder: history dbt cannot rebuild, erased in place.
SNAPSHOT = "user_profile_snapshots"
#: What identifies the erased user, as it may be written anywhere.
IDENTIFIERS = [str(GONE), "Zelda", "Quokkastrand", "1 Erasure Lane", GONE_MAC, "05/17/1990"]
#: Folders of the environment that stand in for the source systems (their retention decides).
SOURCES = {"landing", "truth", "kafka", "registrations.db"}


def profile(user: int, first: str, last: str, street: str, dob: str) -> dict:
    return {
        "user_id": user,
        "update_type": "new",
        "timestamp": T0 - 7200,
        "first_name": first,
        "last_name": last,
        "dob": dob,
        "sex": "F",
        "gender": "F",
        "address": {"street_address": street, "city": "Duluth", "state": "MN", "zip": "55802"},
    }


def workout(user: int, action: str, at: int) -> dict:
    return {"user_id": user, "workout_id": 1, "session_id": 1, "action": action, "timestamp": at}


def visit(mac: str, login: int, logout: int) -> dict:
    return {"mac_address": mac, "gym": 4, "login": login, "logout": logout}


#: (topic, offset, key, value): whose it is, by hand.
GONE_RECORDS = [
    (
        "user_info",
        1,
        str(GONE),
        profile(GONE, "Zelda", "Quokkastrand", "1 Erasure Lane", "05/17/1990"),
    ),
    ("workout", 1, str(GONE), workout(GONE, "start", T0 + 60)),
    ("workout", 2, str(GONE), workout(GONE, "stop", T0 + 1260)),
    ("bpm", 1, str(DEVICE), {"device_id": DEVICE, "time": T0 + 600, "heartrate": 120}),
    # before the device's first registration: its first registrant's
    # ([rule 5](docs/contract.md#rule-5))
    ("bpm", 3, str(DEVICE), {"device_id": DEVICE, "time": T0 - 2 * 86_400, "heartrate": 60}),
    # after a registration of the device to KEPT that silver rejects (no MAC address): still
    # GONE's, as silver has it
    ("bpm", 4, str(DEVICE), {"device_id": DEVICE, "time": T0 - 1800, "heartrate": 70}),
    (
        "gym_login",
        1,
        GONE_MAC,
        {"mac_address": GONE_MAC, "gym": 4, "login": T0, "logout": T0 + 1800},
    ),
]
KEPT_RECORDS = [
    (
        "user_info",
        2,
        str(KEPT),
        profile(KEPT, "Ada", "Lovelace", "2 Kept Road", "12/10/1985"),
    ),
    ("workout", 3, str(KEPT), workout(KEPT, "start", T0 + 4000)),
    ("workout", 4, str(KEPT), workout(KEPT, "stop", T0 + 5000)),
    # the device is KEPT's from T0 + 3600: this reading is theirs
    ("bpm", 2, str(DEVICE), {"device_id": DEVICE, "time": T0 + 4500, "heartrate": 95}),
    (
        "gym_login",
        2,
        KEPT_MAC,
        {"mac_address": KEPT_MAC, "gym": 4, "login": T0 + 3900, "logout": T0 + 5400},
    ),
]
REGISTRATIONS = [  # user_id, device_id, mac_address, registration_timestamp
    (GONE, DEVICE, GONE_MAC, T0 - 86_400),
    (KEPT, DEVICE, "", T0 - 3600),  # rejected: no MAC address
    (KEPT, DEVICE, KEPT_MAC, T0 + 3600),
]
#: The record id's end of GONE's exported registration: the export's second line.
GONE_EXPORTED = "export.csv#2"
#: A profile update of GONE's cut short: not JSON, rejected by silver, and theirs by its text.
TRUNCATED = (f'{{"user_id": {GONE}, "update_type": "update", ', 3)


def land(landing: Path, name: str) -> None:
    kafka = landing / "kafka"
    kafka.mkdir(parents=True, exist_ok=True)
    lines = [envelope(*record, kafka_time=T0) for record in GONE_RECORDS + KEPT_RECORDS]
    value, offset = TRUNCATED
    cut_short = {"topic": "user_info", "partition": 0, "offset": offset, "key": str(GONE)}
    lines.append(json.dumps({**cut_short, "value": value, "timestamp": T0}))
    (kafka / name).write_text("\n".join(lines) + "\n")
    exports = landing / "registrations"
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "export.csv").write_text(
        "user_id,device_id,mac_address,registration_timestamp\n"
        + "".join(",".join(map(str, row)) + "\n" for row in REGISTRATIONS)
    )


def holders(*roots: Path) -> dict[str, list[str]]:
    """Every file under ``roots`` (the source stand-ins aside) that holds an identifier of the
    erased user, with the identifiers it holds: Parquet read with pyarrow, the rest as bytes."""
    found = {}
    files = [(root, p) for root in roots for p in sorted(root.rglob("*")) if p.is_file()]
    for root, path in files:
        if path.relative_to(root).parts[0] in SOURCES:
            continue
        if path.suffix == ".parquet":
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
        held = [i for i in IDENTIFIERS if i in text]
        if held:
            found[str(path)] = held
    return found


#: Columns that tie a row to a user. A table with none (a count per day, the calendar of the
#: data's dates) has no row of one user: it counts the erased user's rows too.
WHOSE = ("user_id", "device_id", "mac_address", "record_id")


def rows_of_others(spark, marks: list[str]) -> dict[str, list]:
    """The rows, sorted, of every silver and gold table of users' rows that hold none of
    ``marks``, the erased user's identifiers and record ids."""
    tables = built_tables(spark)
    frames = {name: spark.read.format("delta").load(str(path)) for name, path in tables.items()}
    return {
        name: sorted(
            (tuple(r) for r in frame.collect() if not any(m in repr(r) for m in marks)), key=repr
        )
        for name, frame in frames.items()
        if any(column in frame.columns for column in WHOSE)
    }


def ledger_records(spark) -> int:
    """The records the daily ledger counts (it has no user: it counts theirs too)."""
    [path] = [p for n, p in built_tables(spark).items() if n == "gold.record_ledger_daily"]
    return spark.read.format("delta").load(str(path)).groupBy().sum("records").first()[0]


def failing_for(real, name: str):
    """``real`` (``remove_from`` a bronze table, or ``rewrite_without`` a folder) as a crash
    leaves it: failed for the table ``name``, done for the others."""

    def call(spark, table, doomed):
        if table.name == name:
            raise RuntimeError(f"the erasure of {name} failed")
        return real(spark, table, doomed)

    return call


def failing(step: str, real):
    """A call as a crash in the erasure's ``step`` leaves it: dbt's owners' run goes through
    (with ``real``), a build, or any call without ``real``, fails."""

    def fail(*args, **kwargs):
        if real is not None and args[1][0] != "build":
            return real(*args, **kwargs)
        raise RuntimeError(f"the {step} failed")

    return fail


def naive(epoch: int) -> datetime:
    """An epoch time as the session's UTC timestamps hold it."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def read(spark, settings, name: str) -> list:
    """The rows of a governance table (none when it was never written)."""
    path = settings.governance_dir / name
    return spark.read.format("delta").load(str(path)).collect() if path.exists() else []


@pytest.mark.integration
def test_forget_leaves_no_file_holding_the_user_and_the_rest_intact(catalog, tmp_path, monkeypatch):
    spark = catalog
    settings = scenario_settings(tmp_path / "home")
    land(settings.landing, "wave-1.jsonl")
    ingest_once(spark, settings)
    run_dbt(settings, ["build", "--exclude", "test_type:unit", "test_type:data"])  # and snapshot
    # the environment's storage: its folder, and the warehouse the session's metastore keeps
    roots = (settings.root, Path(urlparse(spark.conf.get("spark.sql.warehouse.dir")).path))
    assert holders(*roots), "the scenario must put the user's identifiers into the lakehouse"
    landed = settings.bronze_table("kafka_records").read(spark).collect()
    record_ids = {(r.topic, r.offset): r.record_id for r in landed}
    gone_ids = [record_ids[(topic, offset)] for topic, offset, *_ in GONE_RECORDS]
    gone_ids.append(record_ids[("user_info", TRUNCATED[1])])
    # every other user's rows of silver and gold: those holding none of the user's identifiers
    # or record ids
    marks = [str(GONE), GONE_MAC, *gone_ids, GONE_EXPORTED]
    everyones = rows_of_others(spark, marks=[])
    kept_before = rows_of_others(spark, marks)
    for layer in ("silver.", "gold."):
        holding = [n for n in everyones if n.startswith(layer) and kept_before[n] != everyones[n]]
        assert holding, f"{layer.strip('.')} must hold the user"
    counted = ledger_records(spark)
    report = write_report(spark_rows(spark), settings)
    assert str(GONE) in report.read_text(), "the report must name the user"

    # the erasure fails at each step in turn, and the same command continues it: after bronze
    # lost the user's Kafka records, before their registrations; in the snapshot; in the rebuild,
    # after silver and gold were dropped; in the report, after the rebuild. No receipt until the
    # last run, which completes it
    bronze_counts = {
        "bronze.kafka_records": len(gone_ids),
        "bronze.registrations": 0,  # the scenario's registrations are exported ones
    }
    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="registration"):
        crash = failing_for(remove_from, "registration_exports")
        patched.setattr("ingestion.erasure.remove_from", crash)
        forget(spark, settings, GONE)
    [under_way] = read(spark, settings, UNDER_WAY)
    assert under_way.rows_removed == bronze_counts
    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="snapshot"):
        crash = failing_for(rewrite_without, SNAPSHOT)
        patched.setattr("ingestion.erasure.rewrite_without", crash)
        # its Kafka records are done: no run of dbt reads whose records are theirs again
        patched.setattr("lakehouse.erasure.run_dbt", failing("owners' run", None))
        forget(spark, settings, GONE)
    bronze_counts["bronze.registration_exports"] = 1
    [under_way] = read(spark, settings, UNDER_WAY)
    assert under_way.rows_removed == bronze_counts
    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="rebuild"):
        patched.setattr("lakehouse.erasure.run_dbt", failing("rebuild", run_dbt))
        forget(spark, settings, GONE)
    [under_way] = read(spark, settings, UNDER_WAY)
    assert under_way.rows_removed == bronze_counts | {f"silver.{SNAPSHOT}": 1}
    assert under_way.removed_at is None
    with monkeypatch.context() as patched, pytest.raises(RuntimeError, match="report"):
        patched.setattr("lakehouse.erasure.report.write_report", failing("report", None))
        forget(spark, settings, GONE)
    assert read(spark, settings, RECEIPTS) == [], "a receipt before the report was written"
    [under_way] = read(spark, settings, UNDER_WAY)
    assert under_way.subject == subject_of(GONE, erasure_key(settings))
    assert under_way.removed_at is not None, "in no table after the rebuild"
    assert list(holders(*roots)) == [str(report)], "the report written before holds the user"
    with monkeypatch.context() as patched:  # the tables are done: no rebuild, no dbt
        patched.setattr("lakehouse.erasure.run_dbt", failing("rebuild", None))
        receipt = forget(spark, settings, GONE)
    assert read(spark, settings, UNDER_WAY) == []
    assert receipt.erased_at == under_way.erased_at.replace(tzinfo=UTC), "the first attempt's"

    # bronze lost exactly the user's records, by hand: their Kafka records and the truncated
    # one, 1 exported registration
    assert receipt.rows_removed["bronze.kafka_records"] == len(gone_ids)
    assert receipt.rows_removed["bronze.registration_exports"] == 1
    assert receipt.rows_removed["bronze.registrations"] == 0
    assert receipt.landing_files == [
        str(settings.landing / "kafka" / "wave-1.jsonl"),
        str(settings.landing / "registrations" / "export.csv"),
    ]
    assert holders(*roots) == {}
    assert rows_of_others(spark, marks=[]) == kept_before
    assert ledger_records(spark) == counted - len(gone_ids) - 1
    bronze = settings.bronze_table("kafka_records").read(spark).collect()
    assert sorted(r.offset for r in bronze if r.topic == "bpm") == [2]

    # the receipt: counts and time, no identifier; the ids kept hashed only: the user, and their
    # registration of the device and its MAC address
    [row] = read(spark, settings, RECEIPTS)
    key = erasure_key(settings)
    assert row.subject == subject_of(GONE, key) and row.rows_removed == receipt.rows_removed
    assert row.erased_at < row.removed_at < row.files_gone_at  # the report, written last
    suppressed = spark.sql(f"select * from {governance_table(settings, SUPPRESSED)}").collect()
    registered = naive(T0 - 86_400)
    assert sorted(
        (r.subject, r.kind, r.held_from) for r in suppressed if r.kind not in ("record", "offset")
    ) == sorted(
        [
            (subject_of(GONE, key), "user", None),
            (subject_of(DEVICE, key, "device"), "device", registered),
            (subject_of(GONE_MAC, key, "mac"), "mac", registered),
        ]
    )
    # the interval each was theirs, as the ingester decides it from silver.users: the device
    # from before their first registration ([rule 5](docs/contract.md#rule-5): KEPT's at
    # T0 - 3600 is rejected) until KEPT registered it; the MAC address still theirs
    intervals = user_intervals(suppression_list(spark, settings)).collect()
    assert sorted((r.kind, r.starts, r.ends) for r in intervals) == [
        ("device", None, naive(T0 + 3600)),
        ("mac", None, None),
    ]
    # and each record erased, by its id: a source delivering it again delivers the same id
    assert sorted(r.subject for r in suppressed if r.kind == "record") == sorted(
        subject_of(record_id, key, "record") for record_id in gone_ids
    )
    # with its coordinates, for the audit to tell an erased offset at the broker from a lost one
    erased_offsets = [(topic, offset) for topic, offset, *_ in GONE_RECORDS]
    erased_offsets.append(("user_info", TRUNCATED[1]))
    assert sorted(r.subject for r in suppressed if r.kind == "offset") == sorted(
        subject_of(f"{topic}/0/{offset}", key, "offset") for topic, offset in erased_offsets
    )

    # the sources replay the user's records: they are not ingested again (so no rebuild of
    # silver and gold, which derive from bronze, can bring the user back)
    land(settings.landing, "replayed.jsonl")
    ingest_once(spark, settings)
    assert holders(*roots) == {}
    # KEPT's records are there already (the same identity), GONE's are left out
    assert settings.bronze_table("kafka_records").read(spark).count() == len(bronze)
    # the audit counts the user's records the landing files still hold as erased, not lost
    landing = audit(spark, settings, kafka=False)["landing"]
    assert (landing["erased"], landing["missing"]) == (len(gone_ids), 0)

    # the MAC address passes to NEW, whose registration arrives after their first visit: the
    # visit is held back (a registration to come may give it to someone else), counted as held
    (settings.landing / "kafka" / "wave-2.jsonl").write_text(
        envelope("gym_login", 5, NEW_MAC_VISIT["mac_address"], NEW_MAC_VISIT, T0) + "\n"
    )
    ingest_once(spark, settings)
    assert [r.offset for r in held_back_so_far(spark, settings).collect()] == [5]
    landing = audit(spark, settings, kafka=False)["landing"]
    assert (landing["held"], landing["missing"]) == (1, 0)
    # NEW's registration lands, silver.users is built with it, and the next run of the ingester
    # lands the visit: nothing of NEW's is lost
    (settings.landing / "registrations" / "export-2.csv").write_text(
        "user_id,device_id,mac_address,registration_timestamp\n"
        f"{NEW},{NEW_DEVICE},{GONE_MAC},{T0 + 86_400}\n"
    )
    ingest_once(spark, settings)
    run_dbt(settings, ["run", "--select", "users"])
    ingest_once(spark, settings)
    assert held_back_so_far(spark, settings).collect() == []
    bronze = settings.bronze_table("kafka_records").read(spark)
    assert [r.offset for r in bronze.where("topic = 'gym_login' and offset = 5").collect()] == [5]
