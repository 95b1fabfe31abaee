"""The fitness dashboard, checked offline: the bundle deploys it to every target against that
target's catalog and SQL warehouse, its file is a Lakeview dashboard whose widgets chart columns
their datasets select, and its datasets read only gold models and the columns those declare."""

from __future__ import annotations

import copy
import itertools

import pytest
from databricks.bundles.dashboards import Dashboard

from lakehouse.project import REPO_ROOT as REPO
from tests.python.support.bundle import (
    GROUPS,
    SUPPLIED,
    TARGETS,
    permissions,
    relative,
    resolve,
    unresolved,
)
from tests.python.support.dashboard import (
    DASHBOARD,
    columns_read,
    dashboard_queries,
    encoded_fields,
    field_columns,
    gold_models,
    gold_tables_read,
    load_dashboard,
    selected_columns,
    tables_read,
    widgets,
)

#: The Lakeview widget types the dashboard uses, with the spec version each is written in.
WIDGET_VERSIONS = {"line": 3, "bar": 3, "heatmap": 3, "table": 2}
#: Columns of the layout grid.
GRID = 6


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_deploys_the_dashboard_on_its_own_catalog(target):
    resolved = resolve(target)
    [key] = resolved.dashboards
    dashboard = resolved.dashboards[key]
    assert not unresolved(dashboard), f"{target}/{key}: unresolved {unresolved(dashboard)}"
    assert dashboard["dataset_catalog"] == f"smartwatch_{target}"
    assert "dataset_schema" not in dashboard, "the queries name their schema (gold.<table>)"
    assert dashboard["warehouse_id"] == SUPPLIED["warehouse_id"]
    assert dashboard["display_name"]
    # viewers query as themselves, within their own grants on gold
    assert dashboard.get("embed_credentials", False) is False
    path = REPO / relative(resolved.sources[key], dashboard["file_path"])
    assert path == DASHBOARD and path.is_file()
    settings = copy.deepcopy(dashboard)
    settings["permissions"] = permissions(resolved, "dashboards", dashboard)
    Dashboard.from_dict(settings)


def test_a_dashboard_with_an_unknown_field_is_rejected():
    dashboard = copy.deepcopy(resolve("test").dashboards["fitness"])
    dashboard["dataset_catalogue"] = dashboard.pop("dataset_catalog")
    with pytest.raises(ValueError, match="dataset_catalogue"):
        Dashboard.from_dict(dashboard)


def test_prod_grants_the_dashboard_to_the_groups_it_grants_the_jobs():
    """Engineers manage it (the target's grant) and analysts read it (its own); elsewhere only
    the deploying identity has it, as it has the jobs."""
    prod = resolve("prod")
    dashboard = prod.dashboards["fitness"]
    grants = {p["group_name"]: p["level"] for p in permissions(prod, "dashboards", dashboard)}
    assert grants == {GROUPS["engineers"]: "CAN_MANAGE", GROUPS["analysts"]: "CAN_READ"}
    for target in ("dev", "test"):
        resolved = resolve(target)
        assert permissions(resolved, "dashboards", resolved.dashboards["fitness"]) == []


def test_the_file_is_a_lakeview_dashboard():
    dashboard = load_dashboard()
    datasets = dashboard["datasets"]
    assert datasets and dashboard["pages"]
    assert len({d["name"] for d in datasets}) == len(datasets)
    for dataset in datasets:
        assert dataset["displayName"], dataset["name"]
        assert dataset["queryLines"] and all(isinstance(s, str) for s in dataset["queryLines"])
        # no catalog of its own: the environment's (dataset_catalog) applies
        assert not {"catalog", "schema"} & set(dataset), dataset["name"]
    names = [widget["name"] for _, widget, _ in widgets(dashboard)]
    assert len(set(names)) == len(names)
    for page in dashboard["pages"]:
        assert page["name"] and page["displayName"] and page["layout"]
        cells = {}
        for item in page["layout"]:
            box = item["position"]
            assert box["x"] >= 0 and box["y"] >= 0 and box["width"] >= 1 and box["height"] >= 1
            assert box["x"] + box["width"] <= GRID, item["widget"]["name"]
            for cell in itertools.product(
                range(box["x"], box["x"] + box["width"]), range(box["y"], box["y"] + box["height"])
            ):
                assert cell not in cells, f"{item['widget']['name']} overlaps {cells[cell]}"
                cells[cell] = item["widget"]["name"]


def test_every_widget_queries_a_dataset_and_encodes_its_own_fields():
    dashboard = load_dashboard()
    datasets = {d["name"] for d in dashboard["datasets"]}
    charted = set()
    for page, widget, _ in widgets(dashboard):
        if "queries" not in widget:
            assert "multilineTextboxSpec" in widget, f"{page}/{widget['name']}"
            continue
        spec = widget["spec"]
        assert WIDGET_VERSIONS[spec["widgetType"]] == spec["version"], widget["name"]
        assert spec["frame"]["title"], widget["name"]
        fields = set()
        for query in widget["queries"]:
            assert query["query"]["datasetName"] in datasets, widget["name"]
            charted.add(query["query"]["datasetName"])
            fields |= {f["name"] for f in query["query"]["fields"]}
        encoded = encoded_fields(spec["encodings"])
        assert encoded and encoded <= fields, f"{widget['name']}: {encoded - fields}"
    assert charted == datasets, f"datasets no widget charts: {datasets - charted}"


def test_every_field_a_widget_encodes_is_a_column_its_dataset_selects():
    dashboard = load_dashboard()
    selected = {d: selected_columns(sql) for d, sql in dashboard_queries().items()}
    for _, widget, _ in widgets(dashboard):
        for query in widget.get("queries", []):
            columns = set(selected[query["query"]["datasetName"]])
            for field in query["query"]["fields"]:
                read = field_columns(field["expression"])
                assert read, f"{widget['name']}: {field['expression']} reads no column"
                assert read <= columns, f"{widget['name']}: {read - columns} not selected"


@pytest.mark.parametrize("dataset", sorted(dashboard_queries()))
def test_every_dataset_reads_gold_models_and_the_columns_they_declare(dataset):
    """Gold only (all the analysts may read), each table a model of models/gold/ named by its
    schema (the catalog is the environment's), each column one its YAML declares."""
    sql = dashboard_queries()[dataset]
    tables = tables_read(sql)
    assert tables, dataset
    models = gold_models()
    declared = set()
    for table in tables:
        schema, name = table.split(".")
        assert schema == "gold", f"{dataset} reads {table}"
        assert name in models, f"{dataset} reads {table}, no model of models/gold/"
        declared |= models[name]
    undeclared = columns_read(sql) - declared
    assert not undeclared, f"{dataset} reads columns {tables} does not declare: {undeclared}"
    assert len(set(selected_columns(sql))) == len(selected_columns(sql)), dataset


def test_the_dashboard_charts_training_load_zones_heart_rate_and_gyms():
    assert gold_tables_read() == {
        "workout_hr_zones",
        "workout_bpm_summary",
        "gym_daily_utilization",
        "gym_summary",
    }
    read = set().union(*(columns_read(sql) for sql in dashboard_queries().values()))
    zones = {f"seconds_zone_{k}" for k in range(6)}
    assert {"trimp", "avg_bpm", "visits", "peak_occupancy"} | zones <= read
    kinds = {
        widget["spec"]["widgetType"]
        for _, widget, _ in widgets(load_dashboard())
        if "spec" in widget
    }
    assert kinds == set(WIDGET_VERSIONS)


def test_the_sql_reader_sees_what_a_query_selects_and_reads():
    sql = """
        with visits as (
            select distinct gym, login from gold.gym_summary -- a comment naming nothing
        )
        select
            v.gym,
            cast(hour(login) as decimal(4, 0)) as login_hour,
            stack(2, 'a', `gym`, 'b', 1) as (label, value),
            count(*) as visits
        from visits v
        group by v.gym, hour(login)
    """
    assert selected_columns(sql) == ["gym", "login_hour", "label", "value", "visits"]
    assert tables_read(sql) == {"gold.gym_summary"}
    assert columns_read(sql) == {"gym", "login"}
    with pytest.raises(ValueError, match="no name"):
        selected_columns("select gym, hour(login) from gold.gym_summary")
    with pytest.raises(ValueError, match="no name"):
        selected_columns("select * from gold.gym_summary")
    with pytest.raises(ValueError, match="schema"):
        tables_read("select gym from gym_summary")
