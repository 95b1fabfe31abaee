"""A local single-node Apache Kafka broker (KRaft), for development, the demo and the tests.

Its jars come from Maven Central once (``mvn dependency:copy-dependencies``) and are cached; its
state (data, configuration, log, pid) lives under ``<env>/kafka``. Listeners bind 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from ingestion.errors import LakehouseError
from ingestion.settings import Settings
from lakehouse import process

log = logging.getLogger(__name__)

POM = Path(__file__).parent / "conf" / "kafka-broker-pom.xml"
JARS_DIR = Path(
    os.environ.get(
        "LAKEHOUSE_KAFKA_JARS", Path.home() / ".cache" / "smartwatch-lakehouse" / "kafka"
    )
)
PARTITIONS = 3


@dataclass(frozen=True)
class Broker:
    """Where a broker of one environment keeps its state, and where it listens."""

    root: Path
    host: str
    port: int

    @classmethod
    def of(cls, settings: Settings) -> Broker:
        host, _, port = settings.kafka_bootstrap_servers.split(",")[0].rpartition(":")
        if host not in ("127.0.0.1", "localhost"):
            raise LakehouseError(
                f"the local broker listens on 127.0.0.1 only, not {host!r}: set "
                "LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>"
            )
        return cls(settings.root / "kafka", "127.0.0.1", int(port))

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "broker.log"

    @property
    def config_file(self) -> Path:
        return self.root / "server.properties"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"


def server_properties(broker: Broker) -> str:
    """KRaft configuration: one process is broker and controller, both on loopback."""
    controller = broker.port + 1
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={broker.host}:{controller}",
            f"listeners=PLAINTEXT://{broker.host}:{broker.port},CONTROLLER://{broker.host}:{controller}",
            f"advertised.listeners=PLAINTEXT://{broker.host}:{broker.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={broker.data_dir}",
            f"num.partitions={PARTITIONS}",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            # a development broker keeps everything: records replayed with old event times would
            # otherwise fall to time-based retention at once
            "log.retention.ms=-1",
            "",
        ]
    )


def fetch_jars() -> Path:
    """The broker's jars, resolved from Maven Central on first use."""
    marker = JARS_DIR / ".complete"
    if marker.exists():
        return JARS_DIR
    log.info(
        "Resolving the Kafka broker jars from Maven Central into %s (first start only)", JARS_DIR
    )
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={JARS_DIR}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise LakehouseError(
            "could not resolve the Kafka broker jars with Maven: "
            f"{(result.stdout + result.stderr).strip()[-300:]}; check that mvn is installed and "
            "Maven Central is reachable"
        )
    marker.touch()
    return JARS_DIR


def _java(jars: Path, main: str, *args: str) -> list[str]:
    return ["java", "-Xmx512m", "-cp", f"{jars}/*", main, *args]


def running_pid(broker: Broker) -> int | None:
    """The broker's pid if its process is alive."""
    return process.running_pid(broker.pid_file)


def start(broker: Broker, *, timeout: float = 60.0) -> None:
    """Start the broker (formatting its storage the first time) and wait until it answers."""
    if running_pid(broker):
        log.info("Kafka broker already running on %s", broker.bootstrap)
        return
    jars = fetch_jars()
    broker.root.mkdir(parents=True, exist_ok=True)
    broker.config_file.write_text(server_properties(broker))
    if not (broker.data_dir / "meta.properties").exists():
        subprocess.run(
            _java(
                jars,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                str(uuid.uuid4()),
                "-c",
                str(broker.config_file),
            ),
            check=True,
            capture_output=True,
        )
    started = process.spawn(
        _java(jars, "kafka.Kafka", str(broker.config_file)), broker.pid_file, broker.log_file
    )
    wait_ready(broker, timeout)
    log.info(
        "Kafka broker running on %s (pid %d, log %s)",
        broker.bootstrap,
        started.pid,
        broker.log_file,
    )


def wait_ready(broker: Broker, timeout: float) -> None:
    from confluent_kafka.admin import AdminClient

    # log_level 0: "connection refused" while the broker boots is expected, not worth a line
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "log_level": 0})

    def answers() -> bool:
        try:
            admin.list_topics(timeout=2)
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return True

    process.wait_ready("Kafka broker", broker.pid_file, broker.log_file, answers, timeout)


def stop(broker: Broker, *, timeout: float = 30.0) -> None:
    """Stop the broker gracefully (SIGTERM), forcefully after ``timeout``."""
    if process.stop(broker.pid_file, timeout=timeout):
        log.info("Kafka broker stopped")
    else:
        log.info("Kafka broker is not running")


def create_topics(bootstrap: str, topics: list[str], partitions: int = PARTITIONS) -> None:
    """Create ``topics`` if they do not exist yet."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(t, num_partitions=partitions, replication_factor=1)
        for t in topics
        if t not in existing
    ]
    for future in admin.create_topics(wanted).values() if wanted else []:
        try:
            future.result()
        except KafkaException as exc:  # created meanwhile (auto-creation by a producer)
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def serve(settings: Settings) -> Broker:
    """The local broker of ``settings``' environment, running, with the ingester's topics."""
    local = Broker.of(settings)
    start(local)
    create_topics(local.bootstrap, settings.topics.names())
    return local
