"""Beyond one machine: the ingester and the dbt project on a Spark cluster of two executor JVMs
(``local-cluster``: a master and two workers started from the pip-installed Spark) give exactly
the tables they give on ``local[2]``.

The same adversarial corpus as ``test_corpus`` runs through the same documented commands in a
separate process whose Spark master is the cluster; both runs are held to the independent oracle,
so the cluster's tables equal local[2]'s row for row. Tasks run in executor processes that share
no memory with the driver: a transformation that relied on driver state (a closure over a
driver object, a broadcast missed, a Python function executors cannot import) fails here. The
executors share this machine's disk, so paths still resolve on them; on Databricks every path the
ingester and dbt use is a Unity Catalog volume or table, visible to every node."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyspark
import pytest

from tests.python.support.cli import in_own_process
from tests.python.support.corpus import assert_contract_outcome, build_corpus, run_corpus
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
def test_a_cluster_of_executors_gives_the_tables_of_one_process(spark, tmp_path):
    home = tmp_path / "home"
    corpus = build_corpus()
    cli = cluster_cli(home, spark_home(tmp_path / "spark"))
    # the models and snapshot: the dbt tests hold on local[2]'s equal tables (test_corpus)
    run_corpus(corpus, home / "landing-in", cli, "--exclude", "test_type:unit", "test_type:data")
    assert list((tmp_path / "spark" / "work").iterdir()), "no executor ran on a worker"

    warehouse = home / "test" / "warehouse"
    ledger = {r.record_id: r for r in load(spark, "record_ledger", warehouse).collect()}
    assert_contract_outcome(corpus, ledger, read_all(spark, warehouse))
