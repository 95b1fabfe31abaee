"""Publish a simulated wave to Kafka: the contract's topics and keys, an idempotent producer."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from simulator.generate import Dataset, KafkaRecord
from simulator.write import (
    write_atomically,
    write_registration_sources,
    write_registrations_truth,
)

log = logging.getLogger(__name__)


#: How long a record may take to be delivered (retries across a broker restart included).
DELIVERY_TIMEOUT_S = 180


def producer_config(bootstrap: str) -> dict:
    """Idempotent, fully acknowledged: a retried send is never written twice."""
    return {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
    }


class Message(NamedTuple):
    topic: str
    key: str | None
    value: bytes | str | None
    on_delivery: Callable | None = None


def send_all(producer, messages: Iterable[Message], *, rate: float | None = None) -> int:
    """Send ``messages`` in order (at ``rate`` records/s if given), waiting while the producer's
    queue is full; the caller flushes. Returns the number sent."""
    started = time.monotonic()
    sent = 0
    for message in messages:
        while True:
            try:
                producer.produce(
                    message.topic,
                    key=message.key,
                    value=message.value,
                    on_delivery=message.on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.1)
        sent += 1
        producer.poll(0)
        if rate and (ahead := sent / rate - (time.monotonic() - started)) > 0:
            time.sleep(ahead)
    return sent


def publish(
    dataset: Dataset,
    wave: int,
    *,
    bootstrap: str,
    landing: Path,
    db_url: str,
    table_name: str,
    truth: Path,
    rate: float | None = None,
) -> int:
    """Send one wave's Kafka records in arrival order (at ``rate`` records/s if given), write its
    registrations (CSV export, database), and record where each record landed (topic, partition,
    offset) as the wave's ground truth. Returns the records sent."""
    from confluent_kafka import KafkaException, Producer

    part = dataset.for_wave(wave)
    records = sorted(
        part.records, key=lambda r: (r.kafka_timestamp, r.topic, r.partition, r.offset)
    )
    producer = Producer(producer_config(bootstrap))
    landed: list[dict] = []
    failures: list[str] = []

    def delivered(record: KafkaRecord):
        def report(err, msg) -> None:
            if err is not None:
                failures.append(str(err))
                return
            landed.append(
                {
                    "key": record.key,
                    "value": record.value,
                    "topic": msg.topic(),
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "timestamp": int(record.kafka_timestamp),
                    "kafka_timestamp": record.kafka_timestamp,
                    "wave": wave,
                    "anomaly": record.anomaly,
                    "files": [],
                }
            )

        return report

    send_all(
        producer,
        (
            Message(
                record.topic,
                record.key,
                None if record.value is None else record.value.encode(),
                delivered(record),
            )
            for record in records
        ),
        rate=rate,
    )
    # wait as long as a record may still be delivered: after that librdkafka has failed it
    remaining = producer.flush(DELIVERY_TIMEOUT_S + 10)
    if failures or remaining:
        raise KafkaException(f"{len(failures) + remaining} record(s) not delivered: {failures[:3]}")
    write_registration_sources(part, wave, landing=landing, db_url=db_url, table_name=table_name)
    folder = truth / f"wave-{wave:02d}"
    write_atomically(folder / "records.jsonl", "\n".join(json.dumps(r) for r in landed) + "\n")
    write_registrations_truth(folder, part.registrations)
    write_atomically(folder / "bad_lines.jsonl", "\n")
    log.info("Wave %d published: %d record(s) to %s", wave, len(landed), bootstrap)
    return len(landed)
