"""The local SQL warehouse: one long-running Spark with Delta over an environment's tables,
answering the HiveServer2 protocol (JDBC, ODBC, beeline, PyHive) on 127.0.0.1, as a Databricks
SQL warehouse answers for a workspace.

It is Spark's own Thrift server (``HiveThriftServer2``, shipped in pyspark's jars), started on
the session this project builds everywhere else (``ingestion.spark``). That session has no
metastore: it names the tables by their folders, as ``lakehouse sql`` does in process, so the
ingester and ``dbt build`` (which owns the embedded metastore) run beside it. Tables built after
it started are named within twice ``REFRESH_SECONDS``; dbt's warehouse target builds through
it.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.errors import LakehouseError
from ingestion.spark import build_spark, cached_jars
from lakehouse import process
from lakehouse.project import LocalSettings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: How often the server looks for tables built (or dropped) since it named the last ones.
REFRESH_SECONDS = 5.0


@dataclass(frozen=True)
class Warehouse:
    """Where one environment's warehouse keeps its pid and log, and where it listens."""

    root: Path
    port: int

    @classmethod
    def of(cls, settings: LocalSettings) -> Warehouse:
        return cls(settings.root / "sql-warehouse", settings.warehouse_port)

    @property
    def pid_file(self) -> Path:
        return self.root / "warehouse.pid"

    @property
    def log_file(self) -> Path:
        return self.root / "warehouse.log"

    @property
    def url(self) -> str:
        """The JDBC URL BI tools and beeline connect with."""
        return f"jdbc:hive2://{HOST}:{self.port}/default"


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def running(settings: LocalSettings) -> Warehouse | None:
    """The environment's warehouse, if it runs and answers."""
    server = Warehouse.of(settings)
    if process.running_pid(server.pid_file) and listening(server.port):
        return server
    return None


def start(settings: LocalSettings, *, timeout: float = 300.0) -> Warehouse:
    """Start the environment's warehouse in the background and wait until it answers."""
    server = Warehouse.of(settings)
    if process.running_pid(server.pid_file):
        log.info("SQL warehouse already running on %s", server.url)
        return server
    if listening(server.port):
        raise LakehouseError(
            f"port {server.port} of {HOST} is taken by another program: stop it, or choose "
            "another port with LAKEHOUSE_WAREHOUSE_PORT"
        )
    if not cached_jars():  # the server needs them before its JVM starts: resolved here once
        build_spark(settings, app_name="lakehouse-jars", with_metastore=False).stop()
    config = ["--config", str(settings.config_file)] if settings.config_file else []
    command = [sys.executable, "-m", "lakehouse.cli", *config, "warehouse", "serve"]
    started = process.spawn(
        command, server.pid_file, server.log_file, env=os.environ | settings.dbt_env()
    )
    log.info("Starting the SQL warehouse (pid %d, log %s)", started.pid, server.log_file)
    process.wait_ready(
        "SQL warehouse",
        server.pid_file,
        server.log_file,
        lambda: listening(server.port),
        timeout,
    )
    log.info("SQL warehouse running on %s", server.url)
    return server


def stop(settings: LocalSettings) -> None:
    if process.stop(Warehouse.of(settings).pid_file):
        log.info("SQL warehouse stopped")
    else:
        log.info("SQL warehouse is not running")


def run(server: Warehouse, statement: str) -> tuple[list[str], list[tuple]]:
    """Run ``statement`` on the warehouse: its column names and rows. A statement the server
    rejects raises ``QueryFailed`` with the server's first line."""
    from pyhive import hive
    from pyhive.exc import OperationalError
    from thrift.transport.TTransport import TTransportException

    try:
        connection = hive.connect(
            host=HOST, port=server.port, username=getpass.getuser(), auth="NONE"
        )
    except TTransportException as exc:
        raise LakehouseError(
            f"the SQL warehouse on {server.url} did not answer ({exc}): see {server.log_file}; "
            "restart it with `lakehouse warehouse stop` and `start`"
        ) from exc
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(statement)
        except OperationalError as exc:
            status = getattr(exc.args[0], "status", None) if exc.args else None
            reason = getattr(status, "errorMessage", None) or str(exc)
            raise QueryFailed(server_message(reason)) from exc
        description = cursor.description or []
        dates = [i for i, d in enumerate(description) if d[1] == "DATE_TYPE"]
        rows = cursor.fetchall() if description else []
        return [d[0] for d in description], [typed(row, dates) for row in rows]
    finally:
        connection.close()


def typed(row: tuple, dates: list[int]) -> tuple:
    """A row with its dates as dates (the client gives their text; timestamps and decimals it
    converts itself)."""
    if not dates:
        return row
    return tuple(
        date.fromisoformat(v) if i in dates and v is not None else v for i, v in enumerate(row)
    )


def warehouse_rows(server: Warehouse) -> Callable[[str], list]:
    """A query's rows from the warehouse, by position and by column name (as Spark's)."""
    from pyspark.sql import Row

    def rows(sql: str) -> list:
        columns, values = run(server, sql)
        make = Row(*columns)
        return [make(*row) for row in values]

    return rows


def server_message(text: str) -> str:
    """The first line of the server's error, as Spark words it in process: without the
    server's ``Error running query:`` and the exception's class name."""
    text = text.strip().removeprefix("Error running query: ")
    text = re.sub(r"^(\[[A-Z_.]+\] )?[\w.$]+(Exception|Error): ", "", text).strip()
    return text.splitlines()[0] if text else "the server gave no reason"


class QueryFailed(Exception):
    """The warehouse rejected a statement."""


def server_session(settings: LocalSettings) -> SparkSession:
    """The server's Spark session: the environment's, without the metastore, with the Delta
    and Kafka jars on the driver's class path (the Thrift server loads classes there)."""
    if not cached_jars():
        raise LakehouseError(
            "the Delta and Kafka jars are not resolved yet: start the warehouse with "
            "`lakehouse warehouse start`, which resolves them from Maven Central first"
        )
    return build_spark(
        settings, app_name="lakehouse-sql-warehouse", with_metastore=False, jars_on_classpath=True
    )


def serve(spark: SparkSession, settings: LocalSettings) -> None:
    """Answer SQL on ``settings.warehouse_port`` until SIGTERM (or Ctrl-C)."""
    from lakehouse.catalog import name_tables

    named = name_tables(spark, settings)  # one it could not name is tried again by the loop
    for key, value in thrift_conf(settings).items():
        spark.conf.set(key, value)
    thrift = spark._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    server = thrift.startWithContext(spark._jsparkSession.sqlContext())
    log.info("SQL warehouse listening on %s", Warehouse.of(settings).url)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(REFRESH_SECONDS)
            try:
                named = name_changed(spark, settings, named)
            except Exception:  # logged: the server keeps answering
                log.exception("Naming the tables built since the last look failed")
    finally:
        server.stop()
        spark.stop()
        log.info("SQL warehouse stopped")


def thrift_conf(settings: LocalSettings) -> dict[str, str]:
    """HiveServer2 on the loopback address only, over plain TCP, without authentication."""
    return {
        "hive.server2.thrift.bind.host": HOST,
        "hive.server2.thrift.port": str(settings.warehouse_port),
        "hive.server2.transport.mode": "binary",
        "hive.server2.authentication": "NONE",
    }


def name_changed(spark: SparkSession, settings: LocalSettings, named: dict[str, Path]):
    """Name the tables other processes built since the loop named ``named``, and forget those of
    ``named`` they removed; returns the tables the loop names now. A table built through the
    warehouse (dbt's warehouse target) is named by its own statement: the loop leaves it alone.
    A new table is named once its first commit is ``REFRESH_SECONDS`` old, so never between a
    creation's commit and its own naming. A statement that fails is logged and, for a table to
    name, tried again next time: no table stops the server from answering."""
    from lakehouse.catalog import attempt, name_table, table_folders

    now = table_folders(settings)
    kept = {name: folder for name, folder in named.items() if name in now}
    for name in named.keys() - now.keys():  # the loop's own, external: dropping keeps files
        if not attempt(lambda n=name: spark.sql(f"drop table if exists {n}"), f"{name} kept"):
            kept[name] = named[name]  # forgotten next time
    for name in sorted(now.keys() - named.keys()):
        if not settled(now[name]) or spark.catalog.tableExists(name):
            continue
        if attempt(lambda n=name: name_table(spark, n, now[n]), f"{name} not named, for now"):
            kept[name] = now[name]
    if kept != named:
        log.info(
            "Tables named: %d (%d new, %d gone)",
            len(kept),
            len(kept.keys() - named.keys()),
            len(named.keys() - kept.keys()),
        )
    return kept


def settled(folder: Path) -> bool:
    """Whether the Delta table in ``folder`` was created ``REFRESH_SECONDS`` ago or more (its
    first commit; a table whose first commits were cleaned up is old)."""
    try:
        first = (folder / "_delta_log" / f"{0:020d}.json").stat().st_mtime
    except FileNotFoundError:
        return True
    return time.time() - first >= REFRESH_SECONDS
