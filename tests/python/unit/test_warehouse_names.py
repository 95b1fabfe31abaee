"""How the SQL warehouse names the tables other processes build while it runs: once their
creation has settled, never a table still being created, never one its own clients named, and
a table that cannot be named is logged and tried again, without stopping the server."""

from __future__ import annotations

import logging
import os
import shutil
import time

import pytest

from ingestion.bronze import BRONZE_TABLES
from lakehouse.catalog import name_tables, table_folders
from lakehouse.project import load_settings
from lakehouse.warehouse import REFRESH_SECONDS, name_changed

NAMES = ("old", "fresh", "creating", "broken", "client")


@pytest.fixture
def silver(spark, tmp_path):
    """An environment's silver folder, and the session's ``silver`` tables of this test
    dropped afterwards (their files stay: the tables are external)."""
    settings = load_settings(env="test", home=tmp_path)
    spark.sql("create schema if not exists silver")
    yield settings
    for name in NAMES:
        spark.sql(f"drop table if exists silver.{name}")


def write(spark, settings, name: str, *, age: float) -> None:
    """A one-row Delta table ``name`` in silver, its first commit ``age`` seconds old."""
    folder = settings.layer_dir("silver") / name
    spark.createDataFrame([(name,)], "n string").write.format("delta").save(str(folder))
    first = folder / "_delta_log" / f"{0:020d}.json"
    os.utime(first, (time.time() - age, time.time() - age))


def test_tables_are_named_once_settled_and_forgotten_once_gone(spark, silver, caplog):
    settings = silver
    old = 2 * REFRESH_SECONDS
    write(spark, settings, "old", age=old)
    write(spark, settings, "fresh", age=0)
    (settings.layer_dir("silver") / "creating" / "_delta_log").mkdir(parents=True)
    broken = settings.layer_dir("silver") / "broken" / "_delta_log" / f"{0:020d}.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a commit\n")
    os.utime(broken, (time.time() - old, time.time() - old))
    write(spark, settings, "client", age=old)
    client = settings.layer_dir("silver") / "client"
    spark.sql(f"create table silver.client using delta location '{client}'")

    # a table being created has no commit yet, and a hidden folder is an erasure's table set
    # aside: neither is a table to name
    write(spark, settings, ".workouts.erased", age=old)
    assert set(table_folders(settings)) == {f"silver.{name}" for name in NAMES} - {
        "silver.creating"
    }

    with caplog.at_level(logging.WARNING, logger="lakehouse.catalog"):
        named = name_changed(spark, settings, {})
    assert named == {"silver.old": settings.layer_dir("silver") / "old"}
    assert [r.n for r in spark.table("silver.old").collect()] == ["old"]
    assert not spark.catalog.tableExists("silver.fresh")
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "Table silver.broken not named, for now"
    ]

    # the fresh table settles; the broken one is tried again (and still fails, logged)
    fresh = settings.layer_dir("silver") / "fresh" / "_delta_log" / f"{0:020d}.json"
    os.utime(fresh, (time.time() - old, time.time() - old))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lakehouse.catalog"):
        named = name_changed(spark, settings, named)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "Table silver.broken not named, for now"
    ]
    assert set(named) == {"silver.old", "silver.fresh"}
    assert [r.n for r in spark.table("silver.fresh").collect()] == ["fresh"]

    # a folder removed: the loop forgets the table it named
    shutil.rmtree(settings.layer_dir("silver") / "old")
    named = name_changed(spark, settings, named)
    assert set(named) == {"silver.fresh"}
    assert not spark.catalog.tableExists("silver.old")
    # all along, the table a client named is the client's
    assert [r.n for r in spark.table("silver.client").collect()] == ["client"]


def test_at_start_every_committed_table_is_named_but_a_damaged_one_logged(spark, silver, caplog):
    """The start names each table with a commit, settled or not (no client builds yet), and
    returns them for the loop; a damaged one is logged and left to the loop to try again."""
    settings = silver
    write(spark, settings, "old", age=2 * REFRESH_SECONDS)
    write(spark, settings, "fresh", age=0)
    broken = settings.layer_dir("silver") / "broken" / "_delta_log" / f"{0:020d}.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("not a commit\n")
    bronze = [f"bronze.{name}" for name in BRONZE_TABLES]
    theirs = {name for name in bronze if spark.catalog.tableExists(name)}  # other tests'
    try:
        with caplog.at_level(logging.WARNING, logger="lakehouse.catalog"):
            named = name_tables(spark, settings)
    finally:
        for name in set(bronze) - theirs:
            spark.sql(f"drop table if exists {name}")
    assert named == {f"silver.{n}": settings.layer_dir("silver") / n for n in ("fresh", "old")}
    assert [r.n for r in spark.table("silver.fresh").collect()] == ["fresh"]
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "Table silver.broken not named, for now"
    ]
