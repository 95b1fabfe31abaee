"""A corpus of bad and awkward input, as real exporters and brokers deliver it: each record with
where the contract says it ends, the landing files that carry them, and the documented commands
that run them through the pipeline."""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tests.python.support.cli import run_cli
from tests.python.support.oracle import expected_tables, record_id
from tests.python.support.tables import assert_tables_equal, reason_class
from tests.python.support.truth import Truth

AS_OF = date(2023, 3, 20)
T0 = 1_678_450_000  # 2023-03-10 12:06:40 UTC
MONTH_S = 30 * 86_400


@dataclass
class Case:
    """One kind of input: the records it sends and where each must end up (by its index in
    ``records``: a disposition, and for a rejection the reason class)."""

    name: str
    records: list[dict]
    expect: list[tuple[str, str | None]]
    file: str = "main.jsonl"


@dataclass
class Corpus:
    cases: list[Case] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    def record(self, topic: str, key: str | None, value, *, offset: int | None = None, **env):
        """An envelope; ``value`` a dict (dumped), a str (as is) or None. A fresh offset per
        (topic, partition) unless one is given."""
        partition = env.pop("partition", 0)
        if offset is None:
            offset = self.offsets.get((topic, partition), 100)
            self.offsets[(topic, partition)] = offset + 1
        text = json.dumps(value) if isinstance(value, dict) else value
        return {
            "key": key,
            "value": text,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "timestamp": env.pop("timestamp", T0),
            **env,
        }

    def add(self, name: str, records: list[dict], *expect: tuple[str, str | None], **kw) -> None:
        self.cases.append(Case(name, records, list(expect), **kw))


def reading(device: int, at: float, bpm) -> dict:
    return {"device_id": device, "time": at, "heartrate": bpm}


def workout(user: int, action: str, at: float, session: int = 1) -> dict:
    return {
        "user_id": user,
        "workout_id": 1,
        "session_id": session,
        "action": action,
        "timestamp": at,
    }


ACCEPTED = ("accepted", None)


def build_corpus() -> Corpus:
    c = Corpus()
    ok = c.record("bpm", "1", reading(1, T0 + 10, 70))
    c.add("a valid reading", [ok], ACCEPTED)
    start = c.record("workout", "7", workout(7, "start", T0), offset=500)
    stop = c.record("workout", "7", workout(7, "stop", T0 + 600), offset=500)
    c.add(
        "an exporter reusing an offset: a start and its stop at one offset",
        [start, stop],
        ACCEPTED,
        ACCEPTED,
    )
    first = c.record("bpm", "1", reading(1, T0 + 20, 71))
    c.add(
        "the same record twice in one file and again in a gzip re-export",
        [first, first],
        ACCEPTED,
        ("same", None),
    )
    c.add("...and in a gzip re-export", [first], ("same", None), file="again.jsonl.gz")
    resent = c.record("bpm", "1", reading(1, T0 + 30, 72))
    resent_again = {**resent, "offset": resent["offset"] + 50}
    # a duplicate ([rule 2](docs/contract.md#rule-2))
    c.add(
        "the same key and value re-sent at another offset",
        [resent, resent_again],
        ("duplicate", None),
        ACCEPTED,
    )
    older = c.record("bpm", "1", reading(1, T0 + 40, 73))
    newer = c.record("bpm", "1", reading(1, T0 + 40, 74))
    # the later offset wins ([rule 4](docs/contract.md#rule-4))
    c.add("two heartrates for one reading", [older, newer], ("superseded", None), ACCEPTED)
    c.add("a tombstone", [c.record("bpm", "1", None)], ("rejected", "missing_value"))
    c.add(
        "a truncated value",
        [c.record("bpm", "1", '{"device_id": 1, "time": ')],
        ("rejected", "malformed_json"),
    )
    c.add("a JSON array", [c.record("bpm", "1", "[72.0]")], ("rejected", "not_object"))
    c.add(
        "a missing required field",
        [c.record("bpm", "1", {"device_id": 1, "heartrate": 70})],
        ("rejected", "missing_field"),
    )
    c.add(
        "a numeric string",
        [c.record("bpm", "1", reading(1, str(T0 + 50), 70))],
        ("rejected", "wrong_type"),
    )
    c.add(
        "an unknown action",
        [c.record("workout", "7", workout(7, "pause", T0 + 60))],
        ("rejected", "unknown_enum"),
    )
    c.add(
        "a date of birth that is no date",
        [
            c.record(
                "user_info",
                "7",
                {"user_id": 7, "update_type": "new", "timestamp": T0, "dob": "02/29/2001"},
            )
        ],
        ("rejected", "bad_date"),
    )
    c.add(
        "an id that overflows bigint",
        [c.record("bpm", "1", reading(2**63, T0 + 70, 70))],
        ("rejected", "overflow"),
    )
    c.add(
        "a time after 9999-12-31",
        [c.record("bpm", "1", reading(1, 253_402_300_800, 70))],
        ("rejected", "out_of_range"),
    )
    c.add(
        "a time in milliseconds where seconds are due (year 55000)",
        [c.record("bpm", "1", reading(1, (T0 + 80) * 1000, 70))],
        ("rejected", "out_of_range"),
    )
    c.add(
        "a heartrate beyond double",
        [c.record("bpm", "1", f'{{"device_id": 1, "time": {T0 + 90}, "heartrate": 1e400}}')],
        ("rejected", "overflow"),
    )
    c.add(
        "NaN",
        [c.record("bpm", "1", f'{{"device_id": 1, "time": {T0 + 100}, "heartrate": NaN}}')],
        ("rejected", "nan"),
    )
    c.add(
        "a duplicate JSON key",
        [c.record("bpm", "1", f'{{"device_id": 1, "time": {T0}, "time": {T0 + 110}}}')],
        ("rejected", "duplicate_key"),
    )
    deep = "[" * 1000 + "]" * 1000
    c.add(
        "nesting deeper than 1000 levels",
        [c.record("bpm", "1", f'{{"device_id": 1, "time": {T0 + 120}, "x": {deep}}}')],
        ("rejected", "too_deep"),
    )
    c.add(
        "a 1 MiB value",
        [c.record("bpm", "1", {**reading(1, T0 + 130, 75), "note": "x" * 2**20})],
        ACCEPTED,
    )
    c.add(
        "an unknown topic",
        [c.record("gps", "1", {"lat": 1.0})],
        ("rejected", "unknown_topic"),
    )
    c.add(
        "partition and offset written as strings",
        [c.record("bpm", "1", reading(1, T0 + 140, 76), partition="0", offset="900")],
        ACCEPTED,
    )
    c.add(
        "an envelope time beyond the timestamp range",
        [c.record("bpm", "1", reading(1, T0 + 150, 77), timestamp=1e30)],
        ACCEPTED,
    )
    c.add(
        "an envelope time in milliseconds",
        [c.record("bpm", "1", reading(1, T0 + 160, 78), timestamp=(T0 + 160) * 1000)],
        ACCEPTED,
    )
    c.add(
        "a value written as a JSON object, not a string",
        [{**c.record("bpm", "1", None), "value": reading(1, T0 + 170, 79)}],
        ACCEPTED,
    )
    c.add(
        "a fractional time, exact to the microsecond",
        [c.record("bpm", "1", reading(1, T0 + 180.123456, 80))],
        ACCEPTED,
    )
    c.add(
        "a time before 1970",
        [c.record("bpm", "1", reading(1, -315_619_200, 81))],
        ACCEPTED,
    )
    c.add(
        "a stop with no start",
        [c.record("workout", "8", workout(8, "stop", T0 + 200))],
        ACCEPTED,
    )
    c.add(
        "an update for a user never seen",
        [c.record("user_info", "9", {"user_id": 9, "update_type": "update", "timestamp": T0})],
        ACCEPTED,
    )
    login = {"mac_address": "AA:BB:CC:DD:EE:01", "gym": 3, "login": T0 - 60}
    c.add(
        "a gym visit: the login, then the same visit re-sent with its logout",
        [
            c.record("gym_login", "aa:bb:cc:dd:ee:01", login),
            c.record("gym_login", "aa:bb:cc:dd:ee:01", {**login, "logout": T0 + 3600}),
        ],
        ACCEPTED,
        ACCEPTED,
    )
    c.add(
        "the first line of a file behind a byte-order mark, CRLF line ends",
        [c.record("bpm", "1", reading(1, T0 + 190, 82))],
        ACCEPTED,
        file="bom-crlf.jsonl",
    )
    c.add(
        "a file moved in with a month-old modification time",
        [c.record("bpm", "1", reading(1, T0 + 200, 83))],
        ACCEPTED,
        file="old.json",
    )
    return c


#: Landing lines that are not Kafka records: each is rejected once per occurrence.
BAD_LINES = [
    "not JSON at all",
    "not JSON at all",
    '{"key": "1", "topic": "bpm"}',
    '{"key": "1", "value": "{}", "topic": "bpm", "partition": 99999999999, "offset": 1}',
]
#: Records whose bytes are not UTF-8: rejected, never accepted with replacement characters.
INVALID_UTF8 = [
    b'{"key": "1", "value": "{\\"device_id\\": 1, \\"time\\": 1678450300, \\"note\\": \\"'
    + b"\xff\xfe"
    + b'\\"}", "topic": "bpm", "partition": 0, "offset": 700, "timestamp": 1678450300}',
    b"\xc3\x28 not even JSON",
]


#: The registration export that gives the corpus's user 7 device 1 and its MAC address.
REGISTRATION = {
    "user_id": 7,
    "device_id": 1,
    "mac_address": "aa:bb:cc:dd:ee:01",
    "registration_timestamp": str(T0 - 86_400),
    "channel": "export",
}
LATE_FILE = "old.json"


def landing_files(corpus: Corpus) -> dict[str, bytes]:
    """File name -> bytes, as the exporters wrote them."""
    files: dict[str, list[bytes]] = {}
    for case in corpus.cases:
        files.setdefault(case.file, []).extend(json.dumps(r).encode() for r in case.records)
    files["main.jsonl"] += [line.encode() for line in BAD_LINES] + INVALID_UTF8
    written = {}
    for name, lines in files.items():
        if name == "bom-crlf.jsonl":
            data = b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"
        else:
            data = b"\n".join(lines) + b"\n\n"
        written[name] = gzip.compress(data) if name.endswith(".gz") else data
    return written


def normalized(record: dict) -> dict:
    """A record as the contract reads it: a value written as an object is that object's JSON
    text, coordinates written as strings are integers."""
    value = record["value"]
    if isinstance(value, dict):
        value = json.dumps(value, separators=(",", ":"))
    return {
        **record,
        "value": value,
        "partition": int(record["partition"]),
        "offset": int(record["offset"]),
    }


def truth_of(corpus: Corpus) -> Truth:
    records = [normalized(r) for case in corpus.cases for r in case.records]
    return Truth(records, [REGISTRATION], [{"line": line} for line in BAD_LINES])


def lakehouse(monkeypatch, capsys, home: Path, *args: str) -> str:
    code, out, err = run_cli(monkeypatch, capsys, "--home", str(home), *args)
    assert code == 0, err
    return out


def run_corpus(
    corpus: Corpus, landing: Path, lakehouse: Callable[..., str], *build: str
) -> dict[str, bytes]:
    """Land the corpus under ``landing`` and run the documented commands through ``lakehouse``
    (a function of the CLI's arguments): ingest, a late file with an old modification time, then
    run (ingest again and build, with dbt's arguments ``build``). Returns the landing files by
    name."""
    (landing / "registrations").mkdir(parents=True)
    (landing / "registrations" / "export.csv").write_text(
        "user_id,device_id,mac_address,registration_timestamp\n"
        + ",".join(str(REGISTRATION[c]) for c in list(REGISTRATION)[:4])
        + "\n"
    )
    files = landing_files(corpus)
    folder = landing / "kafka"
    folder.mkdir()
    for name, data in files.items():
        if name != LATE_FILE:
            (folder / name).write_bytes(data)
    (folder / "README.txt").write_text("exported by the gym scanners\n")
    lakehouse("ingest", "--env", "test", "--once", "--landing", str(landing))
    # a file moved in later with an old modification time (cp -p, rsync -t) is still loaded
    (folder / LATE_FILE).write_bytes(files[LATE_FILE])
    old = time.time() - MONTH_S
    os.utime(folder / LATE_FILE, (old, old))
    as_of = json.dumps({"as_of_date": AS_OF.isoformat()})
    lakehouse("run", "--env", "test", "--landing", str(landing), *build, "--vars", as_of)
    return files


def assert_contract_outcome(corpus: Corpus, ledger: dict, actual: dict) -> None:
    """Each record where its case says, and every silver and gold table (``actual``, from
    ``read_all``) exactly as the oracle computes them from the same records. ``ledger``:
    the record ledger's rows by record id."""
    for case in corpus.cases:
        for record, (disposition, reason) in zip(case.records, case.expect, strict=True):
            row = ledger.get(record_id(normalized(record)))
            assert row is not None, f"{case.name}: the record is not in the ledger"
            if disposition == "same":
                continue
            assert row.disposition == disposition, f"{case.name}: {row.disposition}"
            if reason is not None:
                assert reason_class(row.reason) == reason, f"{case.name}: {row.reason}"

    # bytes that are not UTF-8 are rejected, the line's coordinates kept where it has them
    utf8 = [r for r in ledger.values() if r.reason == "not valid UTF-8"]
    assert sorted((r.topic or "", r.offset or 0) for r in utf8) == [("", 0), ("bpm", 700)]

    expected = expected_tables(truth_of(corpus), AS_OF)
    actual = {
        **actual,
        "rejected_events": [
            r for r in actual["rejected_events"] if r["reason_class"] != "not_utf8"
        ],
        "record_ledger": [
            r for r in actual["record_ledger"] if r["record_id"] not in {u.record_id for u in utf8}
        ],
    }
    assert expected["workout_bpm_summary"] and expected["gym_summary"]
    assert_tables_equal(actual, expected)
