"""Real servers for integration tests: PostgreSQL (Debian's binaries) and a Kafka broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def free_port(pairs: bool = False) -> int:
    """A loopback port that is free (and, for ``pairs``, the next one too: a KRaft controller)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not pairs:
            return port
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue


@dataclass
class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback (run as ``postgres`` when tests run as root)."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="lakehouse-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def _bin(self) -> Path:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            pytest.fail("PostgreSQL server binaries are missing: run `make system-deps`")
        return bins[-1]

    def _run(self, tool: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        command = [*as_postgres, str(self._bin / tool), *args]
        subprocess.run(command, check=True, capture_output=True)

    def init(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        data = str(self.root / "data")
        self._run("initdb", "-D", data, "-A", "trust", "-U", "lakehouse", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "log")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://lakehouse@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'create database "{name}"'))
        engine.dispose()
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
