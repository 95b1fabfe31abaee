"""End to end: simulate waves of data, ingest, dbt build, and compare every silver and gold table
row for row with the independent oracle's result from the simulator's ground truth."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingestion import docs
from ingestion.dbt import run_dbt
from ingestion.ingest import ingest_once
from ingestion.simulator import SimulationConfig, generate
from ingestion.simulator.write import write_wave
from tests.python.browser import ARTIFACTS, rendered_dom, screenshot, section, visible_texts
from tests.python.oracle import expected_tables
from tests.python.tables import COLUMNS, GOLD, SILVER, read_all
from tests.python.truth import Truth

AS_OF = date(2023, 3, 10)
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


@pytest.fixture
def catalog(spark):
    """A metastore with no lakehouse schemas: each scenario registers its own bronze."""
    for schema in ("gold", "silver", "bronze"):
        spark.sql(f"drop schema if exists {schema} cascade")
    return spark


def assert_tables_equal(actual: dict, expected: dict) -> None:
    for name in COLUMNS:
        got, want = actual[name], expected[name]
        assert len(got) == len(want), f"{name}: {len(got)} rows, the oracle expects {len(want)}"
        for got_row, want_row in zip(got, want, strict=True):
            if name == "workout_bpm_summary":
                assert math.isclose(got_row.pop("avg_bpm"), want_row["avg_bpm"], rel_tol=1e-12)
                want_row = {k: v for k, v in want_row.items() if k != "avg_bpm"}
            assert got_row == want_row, f"{name}: row differs"


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
    """Each gold model's page in headless Chromium shows its columns and what it depends on; the
    lineage graph is kept as a screenshot."""
    nodes = manifest["nodes"]
    gold = [k for k, v in nodes.items() if v["resource_type"] == "model" and v["schema"] == "gold"]
    assert {nodes[k]["name"] for k in gold} == set(GOLD)
    for key in gold:
        model = nodes[key]
        texts = visible_texts(rendered_dom(f"{page.as_uri()}#!/model/{key}"))
        assert ("span", model["name"]) in texts, f"{model['name']}: its page did not render"
        shown = section(texts, "Columns", "Referenced By")
        assert set(model["columns"]) <= set(shown), f"{model['name']}: columns not shown"
        parents = {nodes[p]["name"] for p in model["depends_on"]["nodes"] if p in nodes}
        assert parents and parents <= set(section(texts, "Depends On", "Code"))
        lineage = f"{page.as_uri()}#!/model/{key}?g_v=1"
        assert screenshot(lineage, ARTIFACTS / f"docs-lineage-{model['name']}.png").stat().st_size


def table_contents(spark) -> dict[str, list]:
    """Every column of every silver and gold table (bookkeeping columns included)."""
    layers = {"silver": SILVER, "gold": GOLD}
    return {
        name: sorted(map(tuple, spark.table(f"{layer}.{name}").collect()), key=repr)
        for layer, names in layers.items()
        for name in names
    }


@pytest.mark.integration
def test_waves_of_late_and_bad_data_give_the_oracle_tables(catalog, settings):
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
    for wave in (1, 2, 3):
        write_wave(dataset, wave, **settings.simulation_targets())
        ingest_once(spark, settings)
        run_dbt(settings, BUILD if wave == 1 else [*BUILD, "--exclude", "test_type:unit"])
        expected = expected_tables(Truth.load(settings.truth_dir), AS_OF)
        assert_tables_equal(read_all(spark), expected)

    # no new input: nothing changes
    before = table_contents(spark)
    run_dbt(settings, ["run", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})])
    assert table_contents(spark) == before

    # the quality gates and the catalogue hold on the result
    run_dbt(settings, ["source", "freshness"])
    assert_catalogue_complete(settings)

    # a full refresh gives the tables the incremental runs built
    run_dbt(
        settings, ["run", "--full-refresh", "--vars", json.dumps({"as_of_date": AS_OF.isoformat()})]
    )
    assert_tables_equal(read_all(spark), expected)
