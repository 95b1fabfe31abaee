"""A corpus of bad and awkward input, as real exporters and brokers deliver it, fed through the
documented commands (``lakehouse ingest --once --landing DIR``, then ``lakehouse run``) on a Spark
cluster of two executor JVMs: every record ends where the contract says, nothing is lost, and the
build and every data test stay green.

The commands run in a separate process whose Spark master is ``local-cluster`` (a master and two
workers started from the pip-installed Spark). Tasks run in executor processes that share no
memory with the driver: a transformation that relied on driver state (a closure over a driver
object, a broadcast missed, a Python function executors cannot import) fails here, and the
tables are held to the same independent oracle as every ``local[2]`` test's. The executors share
this machine's disk, so paths still resolve on them; on Databricks every path the ingester and
dbt use is a Unity Catalog volume or table, visible to every node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyspark
import pytest

from tests.python.support.cli import in_own_process
from tests.python.support.corpus import (
    BAD_LINES,
    INVALID_UTF8,
    assert_contract_outcome,
    build_corpus,
    lakehouse,
    normalized,
    run_corpus,
)
from tests.python.support.oracle import record_id
from tests.python.support.tables import load, read_all

#: Two workers of one core and 1 GiB each (the machine has two cores).
MASTER = "local-cluster[2,1,1024]"


def spark_home(folder: Path) -> Path:
    """A Spark home that is the pip-installed one, except that the workers' folders (``work/``:
    executor logs and fetched jars) go under ``folder``, not into site-packages."""
    installed = Path(pyspark.__file__).parent
    folder.mkdir(parents=True)
    for entry in installed.iterdir():
        if entry.name != "work":
            (folder / entry.name).symlink_to(entry)
    return folder


def cluster_cli(home: Path, spark_home: Path) -> Callable[..., str]:
    """Runs ``lakehouse --home HOME ARGS`` in its own process on the cluster; returns stdout."""
    lakehouse = in_own_process(
        home,
        {
            "SPARK_HOME": str(spark_home),
            "LAKEHOUSE_SPARK_MASTER": MASTER,
            "LAKEHOUSE_DRIVER_MEMORY": "2g",
        },
    )

    def run(*args: str) -> str:
        out = lakehouse(*args)
        assert f"Starting Spark ({MASTER}" in lakehouse.stderr, (
            "the command did not use the cluster"
        )
        return out

    return run


@pytest.mark.integration
def test_every_kind_of_input_ends_where_the_contract_says(
    spark, home, tmp_path, monkeypatch, capsys
):
    corpus = build_corpus()
    landing = home / "landing-in"
    folder = landing / "kafka"
    cluster = cluster_cli(home, spark_home(tmp_path / "spark"))

    # the data tests hold on this input; the unit tests (fixed inputs) run in the waves' build
    files = run_corpus(corpus, landing, cluster, "--exclude", "test_type:unit")
    assert list((tmp_path / "spark" / "work").iterdir()), "no executor ran on a worker"
    warehouse = home / "test" / "warehouse"
    ledger = {r.record_id: r for r in load(spark, "record_ledger", warehouse).collect()}
    assert_contract_outcome(corpus, ledger, read_all(spark, warehouse))

    # the file no stream loads is reported
    status = json.loads(
        lakehouse(monkeypatch, capsys, home, "status", "--env", "test", "--format", "json")
    )
    assert status["unmatched_files"] == [str(folder / "README.txt")]

    # the audit reconciles the landing files with bronze, and bronze with the ledger
    report = json.loads(
        cluster("audit", "--env", "test", "--landing", str(landing), "--format", "json")
    )
    identities = {record_id(normalized(r)) for case in corpus.cases for r in case.records}
    offered = len(identities) + len(BAD_LINES) + len(INVALID_UTF8)
    lines = sum(len(case.records) for case in corpus.cases) + len(BAD_LINES) + len(INVALID_UTF8)
    assert report["landing"] == {
        "files": len(files),
        "lines": lines,
        "records": offered,
        "in_bronze": offered,
        "erased": 0,
        "held": 0,
        "missing": 0,
    }
    kafka_rows = [row for row in report["ledger"] if row["source"] in ("landing", "kafka")]
    assert sum(row["records"] for row in kafka_rows) == offered
    assert [row["unaccounted"] for row in report["ledger"]] == [0] * len(report["ledger"])
    exports = [row for row in report["ledger"] if row["source"] == "export"]
    assert [(row["records"], row["accepted"]) for row in exports] == [(1, 1)]
