"""One local SparkSession (Delta, metastore, UTC) per test process, and the two lanes in which
pytest-xdist's two processes share the suite."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["TZ"] = "UTC"
time.tzset()

from ingestion.settings import Settings  # noqa: E402
from ingestion.spark import build_spark  # noqa: E402
from tests.python.support.cli import LAKEHOUSE  # noqa: E402
from tests.python.support.scenario import scenario_settings  # noqa: E402
from tests.python.support.servers import PostgresServer  # noqa: E402

#: The tests that build whole worlds (minutes each; measured in docs/testing.md), in two lanes of
#: about equal length, by module under tests/python/, each in the order it runs. pytest-xdist
#: (``-n 2 --dist loadgroup``) runs each lane in one process, a test after another; the rest of
#: the suite fills in around them. The streaming test, mostly waiting on its waves, runs last.
LANES = {
    "world-lane-1": [
        "integration/test_corpus.py",
        "integration/test_kafka.py",
        "integration/test_streaming.py",
        "integration/test_warehouse.py",
    ],
    "world-lane-2": [
        "integration/test_erasure.py",
        "integration/test_pipeline.py",
        "integration/test_query_any_time.py",
    ],
}
#: Each lane's module, with its lane and its place in it.
LANE_OF = {
    module: (lane, place) for lane, modules in LANES.items() for place, module in enumerate(modules)
}


def pytest_configure(config: pytest.Config) -> None:
    """Before the workers start (in the controlling process), resolve Spark's jars and, when
    integration tests run, the broker's, so that two workers never write one cache at once on a
    fresh machine."""
    if hasattr(config, "workerinput") or config.getoption("collectonly"):
        return
    from ingestion.errors import LakehouseError
    from ingestion.spark import cached_jars
    from lakehouse import broker

    if not cached_jars():
        with tempfile.TemporaryDirectory() as home:
            first_start = [str(LAKEHOUSE), "--home", home, "sql", "--env", "test", "select 1"]
            done = subprocess.run(first_start, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise pytest.UsageError(
                "could not resolve the Delta and Kafka jars for Spark: "
                f"{done.stderr.strip()[-600:]}\ncheck that Maven Central is reachable"
            )
    if config.option.markexpr != "not integration":
        try:
            broker.fetch_jars()
        except LakehouseError as exc:
            raise pytest.UsageError(str(exc)) from exc


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test of a lane carries its lane as its xdist group; the lanes' tests come first, in
    their lanes' order, the rest as collected."""
    root = Path(__file__).parent

    def place(item: pytest.Item) -> tuple:
        lane = LANE_OF.get(item.path.relative_to(root).as_posix())
        return (0, lane[1]) if lane else (1, 0)

    for item in items:
        lane = LANE_OF.get(item.path.relative_to(root).as_posix())
        if lane:
            item.add_marker(pytest.mark.xdist_group(lane[0]))
    items[:] = sorted(items, key=place)  # stable: a module's tests keep their order


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
def catalog(spark) -> Iterator:
    """The shared session's metastore with no lakehouse schemas: each scenario registers its own
    bronze and builds its own silver and gold. Afterwards, the session without the temporary
    views dbt's incremental models leave in it (other tests' ``show tables`` would list them)."""
    for schema in ("gold", "silver", "bronze"):
        spark.sql(f"drop schema if exists {schema} cascade")
    yield spark
    for table in spark.catalog.listTables():
        if table.isTemporary:
            spark.catalog.dropTempView(table.name)
