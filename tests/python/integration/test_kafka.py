"""Ingestion from a real Kafka broker (KRaft, loopback): once per (topic, partition, offset)."""

from __future__ import annotations

import pytest

from ingestion.errors import LakehouseError
from ingestion.ingest import ingest_once
from lakehouse import broker
from simulator import SimulationConfig, generate
from simulator.produce import publish
from tests.python.support.landed import crash_after_second_batch, expected_records, landed_records
from tests.python.support.scenario import scenario_settings
from tests.python.support.servers import free_port
from tests.python.support.truth import Truth

CONFIG = SimulationConfig(
    seed=21,
    users=3,
    days=2,
    waves=2,
    anomalies=True,
    workout_minutes=(2, 4),
    resting_interval_s=3600,
)
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kafka_broker(tmp_path_factory):
    settings = scenario_settings(
        tmp_path_factory.mktemp("broker"),
        kafka_bootstrap_servers=f"127.0.0.1:{free_port(pairs=True)}",
    )
    local = broker.serve(settings)
    yield local
    broker.stop(local)


def test_broker_records_land_once_across_a_crash_and_reruns(spark, home, kafka_broker, monkeypatch):
    settings = scenario_settings(
        home, kafka_bootstrap_servers=kafka_broker.bootstrap, max_offsets_per_trigger=100
    )
    dataset = generate(CONFIG)
    targets = settings.simulation_targets()
    publish(dataset, 1, bootstrap=kafka_broker.bootstrap, **targets)
    truth = Truth.load(settings.truth_dir)
    assert len(truth.records) > 3 * settings.max_offsets_per_trigger, "the crash needs batches"

    with monkeypatch.context() as patch:
        crash_after_second_batch(patch)
        with pytest.raises(LakehouseError, match="stream kafka: .*Crash: killed after the batch"):
            ingest_once(spark, settings, kafka=True)
    ingest_once(spark, settings, kafka=True)
    topics = settings.topics.names()
    assert {r["topic"] for r in truth.records} - set(topics), "an unknown topic was published"
    assert landed_records(spark, settings) == expected_records(truth, topics)

    publish(dataset, 2, bootstrap=kafka_broker.bootstrap, **targets)
    ingest_once(spark, settings, kafka=True)
    ingest_once(spark, settings, kafka=True)
    assert landed_records(spark, settings) == expected_records(
        Truth.load(settings.truth_dir), topics
    )
