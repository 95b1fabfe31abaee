"""End to end: simulate waves of data, ingest, dbt build, and compare every silver and gold table
row for row with the independent oracle's result from the simulator's ground truth."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from ingestion.bronze import BRONZE_TABLES
from ingestion.errors import LakehouseError
from ingestion.ingest import ingest_once
from lakehouse import docs
from lakehouse.dbt import run_dbt
from lakehouse.report import spark_rows, write_report
from simulator import SimulationConfig, generate
from simulator.write import write_wave
from tests.python.support.browser import (
    ARTIFACTS,
    chart_marks,
    rendered_dom,
    screenshot,
    section,
    visible_texts,
)
from tests.python.support.dashboard import dashboard_queries
from tests.python.support.oracle import EPOCH, expected_tables, utc_date
from tests.python.support.tables import COLUMNS, GOLD, SILVER, assert_tables_equal, read_all
from tests.python.support.truth import Truth

AS_OF = date(2023, 3, 10)
#: The heart-rate charts' series (the dashboard's display names of its fields).
MEAN, HIGHEST = "Mean of the workouts' mean (bpm)", "Highest reading (bpm)"
CONFIG = SimulationConfig(
    seed=5,
    users=8,
    days=3,
    waves=3,
    anomalies=True,
    workout_minutes=(4, 9),
    resting_interval_s=1800,
)
BUILD = ["build", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})]
#: Each wave's build: the first runs every unit test (their inputs are fixed: once is enough);
#: the second builds the models and the snapshot (its tables are held to the oracle's); the third
#: runs every data test, on the tables the incremental runs built.
BUILDS = {
    1: [*BUILD, "--exclude", "test_type:data"],
    2: [*BUILD, "--exclude", "test_type:unit", "test_type:data"],
    3: [*BUILD, "--exclude", "test_type:unit"],
}


def assert_catalogue_complete(settings) -> None:
    """dbt docs show every model with all its columns, each described, and the site renders them
    in a browser."""
    page = docs.generate(settings)
    target = settings.root / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {
        k: v for k, v in manifest["nodes"].items() if v["resource_type"] in ("model", "snapshot")
    }
    assert {m["name"] for m in models.values()} >= set(COLUMNS)
    for key, model in models.items():
        assert model["description"].strip(), f"{model['name']} has no description"
        built = {c.lower() for c in catalog["nodes"][key]["columns"]}
        documented = {c.lower(): v["description"] for c, v in model["columns"].items()}
        if model["resource_type"] == "snapshot":
            built = {c for c in built if not c.startswith("dbt_")}
        assert built == set(documented), f"{model['name']}: columns and docs differ"
        assert all(documented.values()), f"{model['name']}: a column has no description"
    assert_site_renders(page, manifest)


def assert_site_renders(page: Path, manifest: dict) -> None:
    """Each gold model's page in headless Chromium shows its columns and what it depends on, and
    its links to the contract's rules lead to the rule on the site's contract page; the lineage
    graph is kept as a screenshot."""
    contract = (page.parent / "docs" / "contract.html").read_text()
    rule_links = []
    nodes = manifest["nodes"]
    gold = [k for k, v in nodes.items() if v["resource_type"] == "model" and v["schema"] == "gold"]
    assert {nodes[k]["name"] for k in gold} == set(GOLD)
    for key in gold:
        model = nodes[key]
        dom = rendered_dom(f"{page.as_uri()}#!/model/{key}")
        texts = visible_texts(dom)
        rule_links += re.findall(r'href="docs/contract\.html#(rule-\d+)"', dom)
        assert ("span", model["name"]) in texts, f"{model['name']}: its page did not render"
        shown = section(texts, "Columns", "Referenced By")
        assert set(model["columns"]) <= set(shown), f"{model['name']}: columns not shown"
        parents = {nodes[p]["name"] for p in model["depends_on"]["nodes"] if p in nodes}
        assert parents and parents <= set(section(texts, "Depends On", "Code"))
        lineage = f"{page.as_uri()}#!/model/{key}?g_v=1"
        assert screenshot(lineage, ARTIFACTS / f"docs-lineage-{model['name']}.png").stat().st_size
    assert rule_links, "no gold page links to a rule of the contract"
    assert all(f'id="{anchor}"' in contract for anchor in rule_links)


def assert_report_draws_the_dashboard(spark, settings, expected: dict[str, list[dict]]) -> None:
    """`lakehouse report`'s page, rendered in headless Chromium, draws each chart of the
    dashboard with the values the oracle's gold tables give, aggregated here as each widget
    states it (not by the dashboard's SQL). The page is kept as a screenshot."""
    page = write_report(spark_rows(spark), settings)
    site = page.parents[1] / "static_index.html"
    assert 'href="report/index.html"' in rendered_dom(site.as_uri()), "the site links to it"
    marks = chart_marks(rendered_dom(page.as_uri()))
    assert screenshot(page.as_uri(), ARTIFACTS / "report.png", height=2000).stat().st_size

    charts = charts_of(expected)
    assert set(marks) >= set(charts), "a chart of the dashboard is not drawn"
    for widget, (value, oracle) in charts.items():
        assert oracle, f"{widget}: the scenario must give it rows"
        drawn = {}
        for mark in marks[widget]:
            key = tuple(v for title, v in mark.items() if title != value)
            assert key not in drawn, f"{widget}: two marks for {key}"
            drawn[key] = float(mark[value])
        assert set(drawn) == set(oracle), widget
        for key, number in oracle.items():
            assert drawn[key] == pytest.approx(float(number), abs=0.005), (widget, key)


def charts_of(expected: dict[str, list[dict]]) -> dict[str, tuple[str, dict[tuple, float]]]:
    """Each chart of the dashboard, from the oracle's gold tables as its widget aggregates them:
    the title of the value its marks draw, and that value by the rest of each mark's label (the
    x value, then the y or colour value, as the chart writes them)."""

    def day(micros: int) -> str:
        return utc_date(micros).isoformat()

    def text(value) -> str:
        return "null" if value is None else str(value)

    zones = [r for r in expected["workout_hr_zones"] if r["max_hr"] is not None]
    load: Counter = Counter()
    for r in zones:
        load[(day(r["start_time"]), str(r["user_id"]))] += r["trimp"]
    minutes_in_zones: Counter = Counter()
    for r in zones:
        start = (EPOCH + timedelta(microseconds=r["start_time"])).strftime("%Y-%m-%d %H:%M")
        workout = f"{start} user {r['user_id']} workout {r['workout_id']} session {r['session_id']}"
        for k in range(6):
            minutes_in_zones[(workout, f"zone {k}")] += r[f"seconds_zone_{k}"] / 60
    summaries = expected["workout_bpm_summary"]
    by_day, by_bin = defaultdict(list), defaultdict(list)
    for r in summaries:
        by_day[day(r["start_time"])].append(r)
        by_bin[(text(r["age"]),)].append(r["avg_bpm"])
    heart_rate = {}
    for date_, rows in by_day.items():
        heart_rate[(date_, MEAN)] = sum(r["avg_bpm"] for r in rows) / len(rows)
        heart_rate[(date_, HIGHEST)] = max(r["max_bpm"] for r in rows)
    days = expected["gym_daily_utilization"]
    visits: Counter = Counter()
    for r in days:
        visits[(r["date"].isoformat(), str(r["gym"]))] += r["visits"]
    peaks = defaultdict(int)
    for r in days:
        key = (r["date"].isoformat(), str(r["gym"]))
        peaks[key] = max(peaks[key], r["peak_occupancy"])
    arrivals = Counter(
        (str((EPOCH + timedelta(microseconds=login)).hour), str(gym))
        for gym, _, login in {
            (r["gym"], r["mac_address"], r["login"]) for r in expected["gym_summary"]
        }
    )
    return {
        "trimp_per_user": ("Training load (TRIMP)", load),
        "zone_minutes_per_workout": ("Minutes", minutes_in_zones),
        "heart_rate_per_day": (f"{MEAN}, {HIGHEST}", heart_rate),
        "heart_rate_per_age_bin": (
            MEAN,
            {bin_: sum(bpms) / len(bpms) for bin_, bpms in by_bin.items()},
        ),
        "visits_per_day": ("Visits", visits),
        "peak_occupancy_per_day": ("Members inside at once", peaks),
        "arrivals_by_hour": ("Visits", arrivals),
    }


def assert_dashboard_reads_gold(spark) -> None:
    """Every dataset of the Databricks dashboard runs on the local gold tables and has rows."""
    for name, query in dashboard_queries().items():
        assert spark.sql(query).count(), f"dashboard dataset {name} has no rows"


def table_contents(spark) -> dict[str, list]:
    """Every column of every silver and gold table (bookkeeping columns included)."""
    layers = {"silver": SILVER, "gold": GOLD}
    return {
        name: sorted(map(tuple, spark.table(f"{layer}.{name}").collect()), key=repr)
        for layer, names in layers.items()
        for name in names
    }


def bronze_ingested_at(spark, settings) -> dict[str, list[datetime]]:
    """Each bronze table's `ingested_at` values, sorted."""
    return {
        name: sorted(
            r.ingested_at
            for r in settings.bronze_table(name).read(spark).select("ingested_at").collect()
        )
        for name in BRONZE_TABLES
    }


@pytest.mark.integration
def test_waves_of_late_bad_and_replayed_data_give_the_oracle_tables(catalog, settings, monkeypatch):
    """Three waves, each ingested and built, equal the oracle's tables. The third lands as a
    micro-batch replayed after a crash would ([rule 12](docs/contract.md#rule-12)): it keeps its
    first attempt's batch time, so its rows reach bronze with an `ingested_at` older than everything
    the previous builds consumed, and the next build still reads them (the boundary is the commit
    version)."""
    spark = catalog
    dataset = generate(CONFIG)
    # the data exercises what the test claims: events arriving waves after their time
    start = datetime(2023, 3, 1, tzinfo=UTC).timestamp()
    assert CONFIG.start == date(2023, 3, 1) and CONFIG.days == CONFIG.waves
    assert any(
        r.wave > int((r.event_time - start) // 86_400) + 1
        for r in dataset.records
        if r.event_time >= start
    )
    # a later wave gives a user another date of birth: the zones of workouts already built change
    assert dob_changes_in_a_later_wave(dataset)
    # the first attempt of the batch that will be replayed: before anything below is ingested
    first_attempt = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    for wave in (1, 2, 3):
        write_wave(dataset, wave, **settings.simulation_targets())
        if wave < 3:
            ingest_once(spark, settings)
        else:
            consumed = bronze_ingested_at(spark, settings)
            with monkeypatch.context() as patch:
                patch.setattr(F, "current_timestamp", lambda: F.lit(first_attempt))
                ingest_once(spark, settings)
            replayed = bronze_ingested_at(spark, settings)
            landed = {n: Counter(t) - Counter(consumed[n]) for n, t in replayed.items()}
            assert set(landed) == set(BRONZE_TABLES) and all(landed.values()), "wave 3 fills all"
            for name, times in landed.items():
                assert set(times) == {first_attempt}, name
                assert min(consumed[name]) > first_attempt, name
        run_dbt(settings, BUILDS[wave])
        expected = expected_tables(Truth.load(settings.truth_dir), AS_OF)
        assert_tables_equal(read_all(spark), expected)

    # each model reading kafka_records recorded the version it read up to: the current one
    current = spark.sql("describe history bronze.kafka_records limit 1").first().version
    for name in ("heart_rate", "workouts", "gym_logs", "user_profile_history", "rejected_events"):
        properties = {
            r.key: r.value for r in spark.sql(f"show tblproperties silver.{name}").collect()
        }
        assert properties["lakehouse.consumed_version.bronze.kafka_records"] == str(current), name

    # no new input: nothing changes, and no incremental table gets a new commit
    before = table_contents(spark)
    versions = table_versions(spark, settings)
    run_dbt(settings, ["run", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})])
    assert table_contents(spark) == before
    assert table_versions(spark, settings) == versions

    # the quality gates and the catalogue hold on the result
    run_dbt(settings, ["source", "freshness"])
    assert_catalogue_complete(settings)
    assert_report_draws_the_dashboard(spark, settings, expected)
    assert_dashboard_reads_gold(spark)

    # a full refresh gives the tables the incremental runs built
    run_dbt(
        settings, ["run", "--full-refresh", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})]
    )
    assert_tables_equal(read_all(spark), expected)

    assert_an_earlier_zones_table_is_replaced(spark, settings, expected)
    assert_hourly_tests_read_recent_rows(spark, settings)


def assert_an_earlier_zones_table_is_replaced(spark, settings, expected) -> None:
    """A workout_hr_zones built by an earlier version of the model (the contract's columns only)
    is replaced by the next run, which gives the oracle's rows."""
    as_of = ["--vars", json.dumps({"as_of_date": AS_OF.isoformat()})]
    columns = ", ".join(COLUMNS["workout_hr_zones"])
    earlier = spark.createDataFrame(
        spark.sql(f"select {columns} from gold.workout_hr_zones").collect(),
        spark.table("gold.workout_hr_zones").select(*COLUMNS["workout_hr_zones"]).schema,
    )
    earlier.write.format("delta").mode("overwrite").option("overwriteSchema", "true").saveAsTable(
        "gold.workout_hr_zones"
    )
    assert "ingested_at" not in spark.table("gold.workout_hr_zones").columns
    run_dbt(settings, ["run", "--select", "workout_hr_zones", *as_of])
    assert "ingested_at" in spark.table("gold.workout_hr_zones").columns
    assert_tables_equal(read_all(spark), expected)


def dob_changes_in_a_later_wave(dataset) -> bool:
    """Some user's profile event in a later wave carries another date of birth than their first
    one."""
    first: dict = {}
    for record in sorted(dataset.records, key=lambda r: (r.wave, r.event_time)):
        if record.topic != "user_info" or record.anomaly is not None or record.value is None:
            continue
        try:
            value = json.loads(record.value)
        except ValueError:
            continue
        if not isinstance(value, dict) or "dob" not in value:
            continue
        wave, dob = first.setdefault(value.get("user_id"), (record.wave, value["dob"]))
        if wave < record.wave and dob != value["dob"]:
            return True
    return False


def assert_hourly_tests_read_recent_rows(spark, settings) -> None:
    """With ``test_window_hours`` (the hourly build) a data test reads the rows ingested within
    the window; without it (the scheduled full tests) every row. A duplicate ingested two days
    ago fails only the full tests; one ingested now fails both."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for table, ingested_at in (("heart_rate", now - timedelta(days=2)), ("workouts", now)):
        copy = spark.table(f"silver.{table}").limit(1)
        copy.withColumn("ingested_at", F.lit(ingested_at)).write.format("delta").mode(
            "append"
        ).saveAsTable(f"silver.{table}")
    select = [
        "--select",
        "heart_rate,test_name:unique_combination",
        "workouts,test_name:unique_combination",
    ]

    def failed_tests(*extra: str) -> set[str]:
        with pytest.raises(LakehouseError) as failure:
            run_dbt(settings, ["test", *select, *extra])
        return {table for table in ("heart_rate", "workouts") if f"_{table}_" in str(failure.value)}

    assert failed_tests("--vars", json.dumps({"test_window_hours": 3})) == {"workouts"}
    assert failed_tests() == {"heart_rate", "workouts"}


def table_versions(spark, settings) -> dict[str, int]:
    """The current Delta version of every incremental table: the models dbt's manifest (written
    by the last build) says are incremental."""
    manifest = json.loads((settings.root / "dbt" / "target" / "manifest.json").read_text())
    incremental = [
        f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    ]
    assert incremental, "the manifest lists no incremental model"
    return {
        name: spark.sql(f"describe history {name} limit 1").first().version for name in incremental
    }
