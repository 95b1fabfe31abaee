"""Progress of an environment's ingester: per stream, per Kafka topic, and for registrations.

The ingester writes a small JSON file per stream under ``<env>/status/`` after each batch it
observes; Kafka lag compares the offsets committed in the stream's checkpoint with the broker's
end offsets. Reading the status needs neither Spark nor a running ingester.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.files import write_atomically
from ingestion.settings import Settings

log = logging.getLogger(__name__)

KAFKA_STREAM = "kafka"
REGISTRATIONS = "registrations_db"
UNMATCHED = "unmatched_files"


def status_dir(settings: Settings) -> Path:
    return settings.root / "status"


def progress_summary(progress: dict[str, Any]) -> dict[str, Any]:
    """The fields of a StreamingQueryProgress that the status shows."""
    return {
        "batch_id": progress.get("batchId"),
        "at": progress.get("timestamp"),
        "rows": int(progress.get("numInputRows") or 0),
        "input_rows_per_second": float(progress.get("inputRowsPerSecond") or 0.0),
        "processed_rows_per_second": float(progress.get("processedRowsPerSecond") or 0.0),
        "duration_ms": int((progress.get("durationMs") or {}).get("triggerExecution") or 0),
    }


def record_progress(settings: Settings, stream: str, progress: dict[str, Any] | None) -> None:
    """Keep the last batch of ``stream`` (a ``query.lastProgress``), if it had one."""
    if progress:
        _write(settings, stream, progress_summary(progress))


def record_registrations(
    settings: Settings, *, rows: int, watermark: datetime | None, error: str | None = None
) -> None:
    """Keep the last poll of the registration database: new rows, watermark, failure if any."""
    _write(
        settings,
        REGISTRATIONS,
        {
            "at": datetime.now(UTC).isoformat(),
            "rows": rows,
            "watermark": watermark.isoformat() if watermark else None,
            "error": error,
        },
    )


def record_unmatched_files(settings: Settings, files: list[str]) -> None:
    """Keep the landing files that match no pattern, as found at the last start or run."""
    _write(settings, UNMATCHED, {"at": datetime.now(UTC).isoformat(), "files": files})


def _write(settings: Settings, name: str, value: dict) -> None:
    write_atomically(status_dir(settings) / f"{name}.json", json.dumps(value) + "\n")


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# Kafka lag ---------------------------------------------------------------------------------------
def parse_offset_entry(text: str) -> dict[str, dict[int, int]]:
    """The Kafka source offsets of one offset-log entry (``v1``, metadata, one line per source)."""
    lines = text.splitlines()
    for line in lines[2:]:
        if line.startswith("{"):
            return {
                topic: {int(p): int(o) for p, o in partitions.items()}
                for topic, partitions in json.loads(line).items()
            }
    return {}


def _latest_batch(folder: Path) -> int | None:
    ids = [int(p.name) for p in folder.glob("*") if p.name.isdigit()]
    return max(ids) if ids else None


def committed_offsets(checkpoint: Path) -> dict[str, dict[int, int]]:
    """Next offset to read per topic and partition, as of the last committed batch."""
    batch = _latest_batch(checkpoint / "commits")
    if batch is None:
        return {}
    return parse_offset_entry((checkpoint / "offsets" / str(batch)).read_text())


def watermark_offsets(
    client: dict[str, str], topics: list[str], timeout: float = 5.0
) -> dict[str, dict[int, tuple[int, int]]]:
    """The retained (low, high) offsets of every partition of ``topics`` on the broker that
    ``client`` (a confluent-kafka configuration: servers and security) reaches."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**client, "group.id": "lakehouse-status", "log_level": 0})
    try:
        metadata = consumer.list_topics(timeout=timeout)
        offsets: dict[str, dict[int, tuple[int, int]]] = {}
        for topic in topics:
            found = metadata.topics.get(topic)
            if found is None or found.error is not None:
                continue
            offsets[topic] = {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
                for p in found.partitions
            }
        return offsets
    finally:
        consumer.close()


def end_offsets(client: dict[str, str], topics: list[str], timeout: float = 5.0) -> dict[str, dict]:
    """The broker's end offset of every partition of ``topics``."""
    return {
        topic: {p: high for p, (_, high) in partitions.items()}
        for topic, partitions in watermark_offsets(client, topics, timeout).items()
    }


def lag(committed: dict[str, dict[int, int]], ends: dict[str, dict[int, int]]) -> dict[str, int]:
    """Records per topic that the broker holds and the ingester has not committed yet."""
    return {
        topic: sum(end - committed.get(topic, {}).get(p, 0) for p, end in partitions.items())
        for topic, partitions in ends.items()
    }


# Report ------------------------------------------------------------------------------------------
def report(settings: Settings, *, stream_names: list[str]) -> dict[str, Any]:
    """Everything ``lakehouse status`` shows, as data."""
    folder = status_dir(settings)
    kafka: dict[str, Any] = {"bootstrap": settings.kafka_bootstrap_servers}
    try:
        ends = end_offsets(settings.kafka_client_config(), settings.topics.names())
        kafka["lag"] = lag(committed_offsets(settings.checkpoint_dir / KAFKA_STREAM), ends)
    except Exception as exc:  # noqa: BLE001 - status stays useful without a broker
        kafka["lag"] = None
        kafka["error"] = f"broker unreachable: {exc}"
    return {
        "env": settings.env.value,
        "streams": {name: _read(folder / f"{name}.json") for name in stream_names},
        "kafka": kafka,
        "registrations": _read(folder / f"{REGISTRATIONS}.json"),
        "unmatched_files": (_read(folder / f"{UNMATCHED}.json") or {}).get("files", []),
    }
