"""Write a simulated data set: landing-zone files, the registration table, and its ground truth."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from ingestion.files import write_atomically
from simulator.generate import Dataset, KafkaRecord, Registration

log = logging.getLogger(__name__)

REGISTRATION_HEADER = ["user_id", "device_id", "mac_address", "registration_timestamp"]


def registration_table(metadata: sa.MetaData, name: str) -> sa.Table:
    """The registration table of contract 1.1."""
    return sa.Table(
        name,
        metadata,
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("device_id", sa.BigInteger, nullable=False),
        sa.Column("mac_address", sa.String(17), nullable=False),
        sa.Column("registration_timestamp", sa.DateTime(), nullable=False),
    )


def epoch_text(registration: Registration) -> str:
    """Epoch seconds as exported: integral when whole, else with microseconds."""
    stamp = registration.registered_at
    seconds = int(stamp.timestamp())
    return str(seconds) if stamp.microsecond == 0 else f"{seconds}.{stamp.microsecond:06d}"


#: How long before now a file moved in with its old modification time (``cp -p``) was written.
OLD_FILE_AGE_S = 30 * 86_400


def write_landing_file(folder: Path, name: str, lines: list[str], *, awkward: bool) -> str:
    """Write one landing file; returns its name. ``awkward`` files arrive as real exporters
    write them: the first with a byte-order mark and CRLF line ends, re-exports gzip-compressed
    and moved in with a month-old modification time."""
    text = "\n".join(lines) + "\n"
    if awkward and name.endswith("-part-0000.jsonl"):
        write_atomically(folder / name, ("\ufeff" + text.replace("\n", "\r\n")).encode())
    elif awkward and name.endswith("-reexport.jsonl"):
        name += ".gz"
        write_atomically(folder / name, gzip.compress(text.encode(), mtime=0))
        old = time.time() - OLD_FILE_AGE_S
        os.utime(folder / name, (old, old))
    else:
        write_atomically(folder / name, text)
    return name


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def landing_files(dataset: Dataset, wave: int, records_per_file: int) -> dict[str, list[str]]:
    """Landing file name -> lines, for one wave (records mixed across topics, in arrival order)."""
    records = sorted(
        dataset.records, key=lambda r: (r.kafka_timestamp, r.topic, r.partition, r.offset)
    )
    files: dict[str, list[str]] = {}
    for n, chunk in enumerate(_chunks(records, records_per_file) or [[]]):
        files[f"wave-{wave:02d}-part-{n:04d}.jsonl"] = [json.dumps(r.envelope()) for r in chunk]
    first = next(iter(files), f"wave-{wave:02d}-part-0000.jsonl")
    files.setdefault(first, []).extend(line for _, line in dataset.bad_lines)
    again = [json.dumps(r.envelope()) for r in records if r.copies > 1]
    if again:
        files[f"wave-{wave:02d}-reexport.jsonl"] = again
    return files


def export_csv(registrations: list[Registration]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REGISTRATION_HEADER)
    for r in registrations:
        writer.writerow([r.user_id, r.device_id, r.mac_address, epoch_text(r)])
    return buffer.getvalue() + "\n\n"


def insert_registrations(url: str, table_name: str, rows: list[Registration]) -> None:
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        table = registration_table(metadata, table_name)
        metadata.create_all(engine, checkfirst=True)
        if rows:
            with engine.begin() as conn:
                conn.execute(
                    table.insert(),
                    [
                        {
                            "user_id": r.user_id,
                            "device_id": r.device_id,
                            "mac_address": r.mac_address,
                            "registration_timestamp": r.registered_at.replace(tzinfo=None),
                        }
                        for r in rows
                    ],
                )
    finally:
        engine.dispose()


def _truth_record(r: KafkaRecord, files: list[str]) -> dict:
    return {
        **r.envelope(),
        "kafka_timestamp": r.kafka_timestamp,
        "wave": r.wave,
        "anomaly": r.anomaly,
        "files": files,
    }


def write_registration_sources(
    part: Dataset, wave: int, *, landing: Path, db_url: str, table_name: str
) -> list[Registration]:
    """A wave's registrations: CSV exports into the landing zone, the rest into the database.
    Returns the exported ones."""
    exports = [r for r in part.registrations if r.channel == "export"]
    if exports:
        write_atomically(
            landing / "registrations" / f"wave-{wave:02d}-export.csv", export_csv(exports)
        )
    insert_registrations(
        db_url, table_name, [r for r in part.registrations if r.channel == "database"]
    )
    return exports


def write_registrations_truth(folder: Path, registrations: list[Registration]) -> None:
    write_atomically(
        folder / "registrations.jsonl",
        "\n".join(
            json.dumps(
                {
                    "user_id": r.user_id,
                    "device_id": r.device_id,
                    "mac_address": r.mac_address,
                    "registration_timestamp": epoch_text(r),
                    "channel": r.channel,
                    "anomaly": r.anomaly,
                }
            )
            for r in registrations
        )
        + "\n",
    )


def write_wave(
    dataset: Dataset,
    wave: int,
    *,
    landing: Path,
    db_url: str,
    table_name: str,
    truth: Path,
    records_per_file: int = 50_000,
) -> dict[str, int]:
    """Write one arrival wave; returns counts of what was written."""
    part = dataset.for_wave(wave)
    files = landing_files(part, wave, records_per_file)
    where: dict[tuple[str, int, int], list[str]] = {}
    awkward = dataset.config.anomalies
    for written, lines in files.items():
        name = write_landing_file(landing / "kafka", written, lines, awkward=awkward)
        for line in lines:
            try:
                envelope = json.loads(line)
                where.setdefault(
                    (envelope["topic"], envelope["partition"], envelope["offset"]), []
                ).append(name)
            except (ValueError, KeyError, TypeError):
                continue
    exports = write_registration_sources(
        part, wave, landing=landing, db_url=db_url, table_name=table_name
    )
    truth_lines = [
        json.dumps(_truth_record(r, sorted(set(where[(r.topic, r.partition, r.offset)]))))
        for r in part.records
    ]
    write_atomically(truth / f"wave-{wave:02d}" / "records.jsonl", "\n".join(truth_lines) + "\n")
    write_registrations_truth(truth / f"wave-{wave:02d}", part.registrations)
    if awkward:
        write_atomically(landing / "kafka" / f"wave-{wave:02d}-notes.txt", "not a landing file\n")
    bad = [{"file": next(iter(files)), "line": line} for _, line in part.bad_lines]
    write_atomically(
        truth / f"wave-{wave:02d}" / "bad_lines.jsonl", "\n".join(json.dumps(b) for b in bad) + "\n"
    )
    counts = {
        "records": len(part.records),
        "bad_lines": len(part.bad_lines),
        "files": len(files),
        "exported_registrations": len(exports),
        "database_registrations": len(part.registrations) - len(exports),
    }
    log.info("Wave %d written: %s", wave, counts)
    return counts
