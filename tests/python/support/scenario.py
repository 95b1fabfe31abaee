"""Settings of one test scenario."""

from __future__ import annotations

from pathlib import Path

from lakehouse.project import LocalSettings as Settings
from lakehouse.project import load_settings


def scenario_settings(home: Path, **overrides) -> Settings:
    """Settings of the `test` environment rooted at ``home`` (one folder per scenario)."""
    return load_settings(
        env="test", home=home, shuffle_partitions=2, driver_memory="2g", **overrides
    )
