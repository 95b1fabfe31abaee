"""One local SparkSession (Delta, metastore, UTC) for the whole test run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["TZ"] = "UTC"
time.tzset()

from ingestion.settings import Settings  # noqa: E402
from ingestion.spark import build_spark  # noqa: E402
from tests.python.support.scenario import scenario_settings  # noqa: E402
from tests.python.support.servers import PostgresServer  # noqa: E402


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
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole run (a test that stops it starts it again)."""
    server = PostgresServer()
    server.init()
    server.start()
    yield server
    server.stop()
    server.remove()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> str:
    return postgres.url()


@pytest.fixture
def catalog(spark):
    """The shared session's metastore with no lakehouse schemas: each scenario registers its own
    bronze and builds its own silver and gold."""
    for schema in ("gold", "silver", "bronze"):
        spark.sql(f"drop schema if exists {schema} cascade")
    return spark
