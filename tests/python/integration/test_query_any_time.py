"""`lakehouse sql` and the docs site's catalogue answer while another process holds the
environment's embedded metastore (as a build does from start to end): they read the tables by
their folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.project import REPO_ROOT
from tests.python.support.tables import load

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"
#: Holds the metastore of the environment at argv[1] until its standard input closes, as a
#: `lakehouse build` does while it runs.
HOLD = """
import sys
from ingestion.settings import load_settings
from ingestion.spark import build_spark
settings = load_settings(env="test", home=sys.argv[1], driver_memory="1g", shuffle_partitions=2)
spark = build_spark(settings, app_name="holder", with_metastore=True)
spark.sql("show tables in gold").collect()
print("holding", flush=True)
sys.stdin.read()
"""
#: Opens the same metastore: fails while another process holds it.
OPEN = HOLD.replace('print("holding", flush=True)\nsys.stdin.read()\n', "")


def cli(home: Path, *args: str) -> str:
    done = subprocess.run(
        [str(LAKEHOUSE), "--home", str(home), *args],
        env={**os.environ, "LAKEHOUSE_DRIVER_MEMORY": "1g", "LAKEHOUSE_SHUFFLE_PARTITIONS": "2"},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, f"lakehouse {args[0]} failed:\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.mark.integration
def test_sql_and_the_catalogue_answer_while_another_process_holds_the_metastore(spark, tmp_path):
    home = tmp_path / "home"
    cli(home, "simulate", "--env", "test", "--users", "3", "--days", "1", "--clean")
    cli(home, "run", "--env", "test")
    warehouse = home / "test" / "warehouse"
    expected = load(spark, "workout_bpm_summary", warehouse).count()
    assert expected > 0

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        blocked = subprocess.run(
            [sys.executable, "-c", OPEN, str(home)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert blocked.returncode != 0, "the metastore should admit one process at a time"

        query = "select count(*) as n from gold.workout_bpm_summary"
        answer = cli(home, "sql", "--env", "test", "--format", "json", query)
        assert json.loads(answer) == [{"n": expected}]
        records = spark.read.format("delta").load(str(home / "test" / "bronze" / "kafka_records"))
        query = "select count(*) as n from bronze.kafka_records"
        answer = cli(home, "sql", "--env", "test", "--format", "json", query)
        assert json.loads(answer) == [{"n": records.count()}]

        cli(home, "docs", "--env", "test", "--no-serve")
        target = home / "test" / "dbt" / "target"
        catalog = json.loads((target / "catalog.json").read_text())
        documented = {node["metadata"]["name"] for node in catalog["nodes"].values()}
        assert "workout_bpm_summary" in documented and "heart_rate" in documented
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)
