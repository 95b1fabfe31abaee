"""The standalone ingester streaming from a real broker while dbt builds, through real faults.

One scenario, three waves produced while the ingester runs; after each, bronze equals what was
produced (by topic, partition and offset):

1. wave 1 is streamed in;
2. wave 2 is produced over minutes: while dbt builds the models from waves 1 and what of 2 has
   landed, then while the ingester is killed (-9) at random points and restarted, and the broker
   is stopped and started again;
3. the ingester stops gracefully on SIGTERM, ``lakehouse status`` shows the lag of wave 3 per
   topic, and the ingester restarts while the registration database is down; after a
   ``dbt build``, which reads the commits made while dbt ran, the kills and wave 3, silver and
   gold equal the oracle's tables.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from delta.tables import DeltaTable

from ingestion import status
from ingestion.ingest import STREAM_NAMES
from ingestion.registrations import from_utc_micros
from ingestion.settings import Settings
from lakehouse import broker
from lakehouse.dbt import run_dbt
from simulator import SimulationConfig, generate
from simulator.produce import publish
from tests.python.support.landed import (
    assert_bronze_matches,
    expected_records,
    expected_registrations,
    landed_records,
    landed_registrations,
)
from tests.python.support.oracle import expected_tables
from tests.python.support.scenario import scenario_settings
from tests.python.support.servers import free_port
from tests.python.support.tables import assert_tables_equal, read_all
from tests.python.support.truth import Truth

#: The reference date of ages in the simulated waves (dbt var and oracle alike).
AS_OF = date(2023, 3, 10)
CONFIG = SimulationConfig(
    seed=17,
    users=6,
    days=3,
    waves=3,
    anomalies=True,
    workout_minutes=(3, 6),
    resting_interval_s=1800,
)
VARS = ["--vars", json.dumps({"as_of_date": AS_OF.isoformat()})]
# the data tests run in the end-to-end test; here the tables are compared with the oracle
BUILD = ["build", "--exclude", "test_type:unit", "test_type:data", *VARS]
RUN = ["run", *VARS]
KILLS = 3
STREAMING = "Started stream kafka"

pytestmark = pytest.mark.integration


class Ingester:
    """``lakehouse-ingest --mode stream --kafka`` in its own process group, as on a job cluster."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.env = {
            **os.environ,
            **settings.dbt_env(),
            "LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
            "LAKEHOUSE_REGISTRATIONS_URL": settings.registrations_db_url,
            "LAKEHOUSE_MAX_OFFSETS_PER_TRIGGER": "1000",
            "LAKEHOUSE_SHUFFLE_PARTITIONS": "2",
            "LAKEHOUSE_DRIVER_MEMORY": "1g",
            "LAKEHOUSE_REGISTRATIONS_POLL_SECONDS": "10",
            "LAKEHOUSE_REGISTRATIONS_RETRY_ATTEMPTS": "2",
            "LAKEHOUSE_REGISTRATIONS_RETRY_BACKOFF_SECONDS": "1",
            "LAKEHOUSE_STREAM_RESTART_BACKOFF_SECONDS": "2",
        }
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ingestion.job", "--mode", "stream", "--kafka"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9 the ingester and its JVM at once."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def terminate(self, timeout: float = 120) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(condition: Callable[[], bool], what: str, ingester: Ingester, timeout=240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert ingester.alive(), f"the ingester exited: {ingester.logged()[-2000:]}"
        # a condition may read bronze: polled every few seconds, not to slow down the ingester
        time.sleep(5)
    raise AssertionError(f"timed out waiting for {what}; ingester log: {ingester.logged()[-2000:]}")


def in_background(target: Callable[[], object]) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the joiner
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors
    thread.start()
    return thread


def joined(thread: threading.Thread) -> None:
    thread.join(300)
    assert not thread.is_alive(), "the producer did not finish"
    if thread.errors:
        raise thread.errors[0]


def kill_and_restart_broker(ingester: Ingester, local: broker.Broker, rng: random.Random) -> None:
    """kill -9 the ingester at a random moment of its streaming, several times; then stop and
    start the broker."""
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.5, 6))
        ingester.kill()
        restarts = ingester.logged().count(STREAMING)
        ingester.start()
        deadline = time.monotonic() + 180
        while ingester.logged().count(STREAMING) == restarts and time.monotonic() < deadline:
            time.sleep(0.5)
    broker.stop(local)
    time.sleep(5)
    broker.start(local)


def commits_between(spark, path: Path, since: datetime, until: datetime) -> int:
    history = DeltaTable.forPath(spark, str(path)).history().collect()
    return sum(1 for h in history if since <= h["timestamp"] <= until and h["operation"] == "WRITE")


def registrations_in_bronze(spark, settings) -> Counter:
    return landed_registrations(spark, settings, "registrations")


def test_stream_waves_through_kills_broker_restart_and_database_outage(
    catalog, home, postgres, tmp_path
):
    spark = catalog
    settings = scenario_settings(
        home,
        kafka_bootstrap_servers=f"127.0.0.1:{free_port(pairs=True)}",
        registrations_url=postgres.create_database(f"stream_{os.getpid()}_{time.time_ns()}"),
    )
    local = broker.serve(settings)
    dataset = generate(CONFIG)
    targets = settings.simulation_targets()
    topics = settings.topics.names()
    ingester = Ingester(settings, tmp_path / "ingester.log")
    rng = random.Random(CONFIG.seed)

    def produce(wave: int, rate: float | None = None) -> int:
        return publish(dataset, wave, bootstrap=local.bootstrap, rate=rate, **targets)

    def landed(waves: list[int]) -> Callable[[], bool]:
        truth = Truth.load(settings.truth_dir, waves)
        return lambda: (
            landed_records(spark, settings) == expected_records(truth, topics)
            and registrations_in_bronze(spark, settings)
            == expected_registrations(truth, "database")
        )

    def assert_landed(waves: list[int]) -> Truth:
        truth = Truth.load(settings.truth_dir, waves)
        wait_for(landed(waves), f"waves {waves} in bronze", ingester)
        assert_bronze_matches(spark, settings, truth, topics)
        return truth

    def assert_wave_complete(waves: list[int]) -> None:
        truth = assert_landed(waves)
        run_dbt(settings, BUILD)
        # records of topics the ingester does not subscribe to are not its input
        subscribed = replace(truth, records=[r for r in truth.records if r["topic"] in topics])
        assert_tables_equal(read_all(spark), expected_tables(subscribed, AS_OF))

    try:
        ingester.start()
        wait_for(
            lambda: (status.status_dir(settings) / "registrations_db.json").exists(),
            "the ingester's first poll",
            ingester,
        )

        # 1. a wave streamed in
        produce(1, rate=len(dataset.for_wave(1).records) / 20)
        assert_landed([1])

        # 2. wave 2 streams in for minutes: first while dbt runs, then while the ingester is
        #    killed at random moments and restarted, and the broker restarts
        producer = in_background(lambda: produce(2, rate=len(dataset.for_wave(2).records) / 240))
        since = datetime.now(UTC).replace(tzinfo=None)
        run_dbt(settings, RUN)
        until = datetime.now(UTC).replace(tzinfo=None)
        kafka_records = settings.bronze_table_path("kafka_records")
        assert commits_between(spark, kafka_records, since, until) > 0, "no overlap was tested"
        kill_and_restart_broker(ingester, local, rng)
        joined(producer)
        assert_landed([1, 2])

        # 3. graceful stop, lag in the status, and the registration database down on restart
        assert ingester.terminate() == 0
        assert "Ingester stopped" in ingester.logged()
        produce(3)
        wave3 = Truth.load(settings.truth_dir, [3]).records
        report = status.report(settings, stream_names=STREAM_NAMES)
        assert report["kafka"]["lag"] == dict.fromkeys(topics, 0) | Counter(
            r["topic"] for r in wave3 if r["topic"] in topics
        )
        assert report["streams"]["kafka"]["batch_id"] is not None
        before = registrations_in_bronze(spark, settings)
        postgres.stop()
        try:
            ingester.start()
            wait_for(
                lambda: (
                    "Registration database unavailable" in ingester.logged()
                    and "the watermark was not advanced" in ingester.logged()
                ),
                "the outage to be logged",
                ingester,
            )
            first_two = Truth.load(settings.truth_dir, [1, 2])
            assert registrations_in_bronze(spark, settings) == before
            assert before == expected_registrations(first_two, "database")
            polled = status.report(settings, stream_names=STREAM_NAMES)["registrations"]
            assert polled["error"] and "unavailable" in polled["error"]
            latest = max(micros for *_, micros in before)
            assert polled["watermark"] == from_utc_micros(latest).isoformat()
        finally:
            postgres.start()
        assert_wave_complete([1, 2, 3])
        lag = status.report(settings, stream_names=STREAM_NAMES)["kafka"]["lag"]
        assert lag == dict.fromkeys(topics, 0)
        assert ingester.terminate() == 0
    finally:
        if ingester.alive():
            ingester.kill()
        broker.stop(local)
