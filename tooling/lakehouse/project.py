"""The repository the tooling works on, and the settings of a local environment."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import Field

from ingestion.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO_ROOT
PROFILES_DIR = REPO_ROOT / "profiles"
#: The `lakehouse` console script of the running environment.
LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


class LocalSettings(Settings):
    """The ingester's settings, plus what only local runs need: the dbt target, and a home in
    the clone (``.lakehouse/``) rather than in the working directory."""

    home: Path = Field(
        default=REPO_ROOT / ".lakehouse", description="Root of every environment's local state."
    )
    dbt_target: str = "local"
    warehouse_port: int = Field(
        default=10000, ge=1, le=65535, description="Port of the local SQL warehouse (127.0.0.1)."
    )

    def dbt_env(self) -> dict[str, str]:
        """Environment variables through which profiles/profiles.yml finds this environment."""
        return {
            "LAKEHOUSE_HOME": str(self.home),
            "LAKEHOUSE_ENV": self.env.value,
            "LAKEHOUSE_SHUFFLE_PARTITIONS": str(self.shuffle_partitions),
            "LAKEHOUSE_WAREHOUSE_PORT": str(self.warehouse_port),
        }


def load_settings(**overrides: Any) -> LocalSettings:
    """Local settings from keyword overrides (CLI flags), environment and optional TOML file."""
    return LocalSettings(**{key: value for key, value in overrides.items() if value is not None})
