"""`lakehouse sql` and the docs site's catalogue answer while another process holds the
environment's embedded metastore (as a build does from start to end): they read the tables by
their folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ingestion.bronze import ensure_table
from lakehouse.project import REPO_ROOT
from tests.python.support.cli import in_own_process
from tests.python.support.scenario import scenario_settings

#: Holds the metastore of the environment at argv[1] until its standard input closes, as a
#: `lakehouse build` does while it runs.
HOLD = """
import sys
from ingestion.settings import load_settings
from ingestion.spark import build_spark
settings = load_settings(env="test", home=sys.argv[1], driver_memory="1g", shuffle_partitions=2)
spark = build_spark(settings, app_name="holder", with_metastore=True)
spark.sql("show databases").collect()
print("holding", flush=True)
sys.stdin.read()
"""
#: Opens the same metastore: fails while another process holds it.
OPEN = HOLD.replace('print("holding", flush=True)\nsys.stdin.read()\n', "")


@pytest.mark.integration
def test_sql_and_the_catalogue_answer_while_another_process_holds_the_metastore(spark, tmp_path):
    home = tmp_path / "home"
    settings = scenario_settings(home)
    lakehouse = in_own_process(
        home, {"LAKEHOUSE_DRIVER_MEMORY": "1g", "LAKEHOUSE_SHUFFLE_PARTITIONS": "2"}
    )
    # tables where the ingester and dbt leave them: bronze by path, gold under the warehouse
    ensure_table(spark, settings.bronze_table("kafka_records"))
    gold = settings.warehouse_dir / "gold.db" / "workout_bpm_summary"
    rows = [(1, 10, 1, 70.0), (2, 11, 1, 80.5), (2, 12, 2, 91.0)]
    spark.createDataFrame(
        rows, "user_id int, workout_id int, session_id int, avg_bpm double"
    ).write.format("delta").save(str(gold))

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

        # gold by its folder under the warehouse, bronze by its path, in one query
        query = (
            "select user_id, count(*) as n, (select count(*) from bronze.kafka_records) as bronze"
            " from gold.workout_bpm_summary group by 1 order by 1"
        )
        answer = lakehouse("sql", "--env", "test", "--format", "json", query)
        assert json.loads(answer) == [
            {"user_id": 1, "n": 1, "bronze": 0},
            {"user_id": 2, "n": 2, "bronze": 0},
        ]

        lakehouse("docs", "--env", "test", "--no-serve")
        catalog = json.loads((settings.root / "dbt" / "target" / "catalog.json").read_text())
        described = {n["metadata"]["name"]: n["columns"] for n in catalog["nodes"].values()}
        assert set(described["workout_bpm_summary"]) == {
            "user_id",
            "workout_id",
            "session_id",
            "avg_bpm",
        }
    finally:
        holder.stdin.close()
        holder.wait(timeout=120)
