"""One local SparkSession (Delta, metastore, UTC) for the whole test run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["TZ"] = "UTC"
time.tzset()

from ingestion.settings import Settings, load_settings  # noqa: E402
from ingestion.spark import build_spark  # noqa: E402


def scenario_settings(home: Path, **overrides) -> Settings:
    """Settings of the `test` environment rooted at ``home`` (one folder per scenario)."""
    return load_settings(
        env="test", home=home, shuffle_partitions=2, driver_memory="2g", **overrides
    )


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lakehouse")


@pytest.fixture(scope="session")
def spark(session_home: Path) -> Iterator:
    session = build_spark(
        scenario_settings(session_home), app_name="lakehouse-tests", with_metastore=True
    )
    yield session
    session.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return scenario_settings(home)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback (Debian's binaries, run as `postgres` if root)."""
    import shutil
    import socket
    import subprocess
    import tempfile

    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.fail("PostgreSQL server binaries are missing: run `make system-deps`")
    bin_dir = bins[-1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="lakehouse-pg-"))
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = root / "data"

    def pg(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True)

    pg(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "lakehouse", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg(
        str(bin_dir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    yield f"postgresql+psycopg://lakehouse@127.0.0.1:{port}/postgres"
    pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    shutil.rmtree(root, ignore_errors=True)
