"""Settings of one test scenario."""

from __future__ import annotations

import json
from pathlib import Path

from lakehouse.project import LocalSettings as Settings
from lakehouse.project import load_settings


def scenario_settings(home: Path, **overrides) -> Settings:
    """Settings of the `test` environment rooted at ``home`` (one folder per scenario)."""
    return load_settings(
        env="test", home=home, shuffle_partitions=2, driver_memory="2g", **overrides
    )


def envelope(topic: str, offset: int, key: str, value: dict, kafka_time: int) -> str:
    """A landing-zone line: one Kafka record of partition 0, as an exporter writes it."""
    return json.dumps(
        {
            "topic": topic,
            "partition": 0,
            "offset": offset,
            "key": key,
            "value": json.dumps(value),
            "timestamp": kafka_time,
        }
    )
