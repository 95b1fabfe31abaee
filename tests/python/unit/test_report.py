"""``lakehouse report``: the dashboard file's widgets, their queries on hand-written rows, and the
page that draws them (each chart mark's values read back from its label)."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from ingestion.errors import LakehouseError
from lakehouse import report
from lakehouse.project import load_settings
from lakehouse.report import (
    Dashboard,
    Page,
    ReportData,
    Widget,
    default_path,
    load_dashboard,
    read_report,
    render,
    widget_sql,
)
from tests.python.support.browser import chart_marks

DAY_1 = 1_677_628_800_000  # 2023-03-01T00:00:00Z, in milliseconds
DAY_2 = DAY_1 + 86_400_000
#: A dataset's SQL, ending as a file may: in a comment.
DATASET = "select user_id, day, trimp\nfrom report_test_workouts\n-- the hand-written rows"


def encoding(field: str, scale: str, title: str) -> dict:
    return {"fieldName": field, "scale": {"type": scale}, "displayName": title}


LOAD = Widget(
    name="load",
    kind="line",
    title="Training load per user per day",
    description="Sum of TRIMP.",
    dataset="workouts",
    fields=(
        ("daily(day)", 'DATE_TRUNC("DAY", `day`)'),
        ("sum(trimp)", "SUM(`trimp`)"),
        ("user_id", "`user_id`"),
    ),
    encodings={
        "x": encoding("daily(day)", "temporal", "Date (UTC)"),
        "y": encoding("sum(trimp)", "quantitative", "Load"),
        "color": encoding("user_id", "categorical", "User"),
    },
)
TABLE = Widget(
    name="workouts",
    kind="table",
    title="Workouts",
    dataset="workouts",
    fields=(("day", "`day`"), ("user_id", "`user_id`"), ("trimp", "`trimp`")),
    disaggregated=True,
    encodings={
        "columns": [
            {"fieldName": "day", "displayName": "Day"},
            {"fieldName": "user_id", "displayName": "User"},
            {"fieldName": "trimp", "displayName": "TRIMP"},
        ]
    },
)
DASHBOARD = Dashboard({"workouts": DATASET}, (Page("Training", (LOAD, TABLE)),))


def page_of(*widgets_and_rows, env: str = "test") -> str:
    return render(
        ReportData(
            env=env,
            generated_at=datetime(2023, 3, 4, 12, 0, 5, tzinfo=UTC),
            row_counts={"gold.workout_hr_zones": 3},
            pages=((Page("Training", ()), tuple(widgets_and_rows)),),
        )
    )


# --- the dashboard file -------------------------------------------------------------------------


def test_the_dashboard_file_reads_as_pages_of_widgets_in_reading_order(tmp_path):
    chart = {
        "name": "visits",
        "queries": [
            {
                "name": "main_query",
                "query": {
                    "datasetName": "days",
                    "fields": [{"name": "gym", "expression": "`gym`"}],
                    "disaggregated": False,
                },
            }
        ],
        "spec": {
            "widgetType": "bar",
            "encodings": {"x": encoding("gym", "categorical", "Gym")},
            "frame": {"title": "Visits", "description": "Per gym."},
        },
    }
    text = {"name": "title", "multilineTextboxSpec": {"lines": ["## Gyms\n", "Closed visits."]}}
    serialized = {
        "datasets": [{"name": "days", "queryLines": ["select gym\n", "from gold.gym_days"]}],
        "pages": [
            {
                "name": "gyms",
                "displayName": "Gyms",
                "layout": [
                    {"widget": chart, "position": {"x": 3, "y": 2, "width": 3, "height": 6}},
                    {"widget": text, "position": {"x": 0, "y": 0, "width": 6, "height": 2}},
                ],
            }
        ],
    }
    path = tmp_path / "dashboard.lvdash.json"
    path.write_text(json.dumps(serialized))

    dashboard = load_dashboard(path)

    assert dashboard.datasets == {"days": "select gym\nfrom gold.gym_days"}
    assert dashboard.tables == ("gold.gym_days",)
    assert dashboard.pages == (
        Page(
            "Gyms",
            (
                Widget("title", "text", text="## Gyms\nClosed visits."),
                Widget(
                    "visits",
                    "bar",
                    title="Visits",
                    description="Per gym.",
                    dataset="days",
                    fields=(("gym", "`gym`"),),
                    encodings={"x": encoding("gym", "categorical", "Gym")},
                ),
            ),
        ),
    )


def test_the_deployed_dashboard_reads_gold_only():
    dashboard = load_dashboard()
    assert dashboard.tables and all(t.startswith("gold.") for t in dashboard.tables)
    assert {w.kind for page in dashboard.pages for w in page.widgets} <= {
        "line",
        "bar",
        "heatmap",
        "table",
        "text",
    }


# --- a widget's query ---------------------------------------------------------------------------


@pytest.fixture
def workouts(spark):
    rows = [
        (1, date(2023, 3, 1), Decimal("10.50")),
        (1, date(2023, 3, 1), Decimal("5.00")),
        (2, date(2023, 3, 1), None),
        (1, date(2023, 3, 2), Decimal("2.25")),
        (3, date(2023, 3, 2), Decimal("7.00")),
    ]
    frame = spark.createDataFrame(rows, "user_id int, day date, trimp decimal(10,2)")
    frame.createOrReplaceTempView("report_test_workouts")
    yield spark
    spark.catalog.dropTempView("report_test_workouts")


def test_a_chart_query_aggregates_by_its_other_fields_with_days_in_epoch_milliseconds(workouts):
    rows = [tuple(r) for r in workouts.sql(widget_sql(LOAD, DASHBOARD)).collect()]
    assert rows == [  # in the order of the fields, nulls first
        (DAY_1, None, 2),
        (DAY_1, Decimal("15.50"), 1),
        (DAY_2, Decimal("2.25"), 1),
        (DAY_2, Decimal("7.00"), 3),
    ]


def test_a_table_query_gives_text_the_latest_first_and_one_row_past_the_limit(
    workouts, monkeypatch
):
    monkeypatch.setattr(report, "TABLE_ROWS", 3)
    rows = [tuple(r) for r in workouts.sql(widget_sql(TABLE, DASHBOARD)).collect()]
    assert rows == [
        ("2023-03-02", "1", "2.25"),
        ("2023-03-02", "3", "7.00"),
        ("2023-03-01", "1", "5.00"),
        ("2023-03-01", "1", "10.50"),
    ]


# --- the page -----------------------------------------------------------------------------------


def test_each_chart_mark_names_its_values_and_a_missing_value_draws_nothing():
    rows = [(DAY_1, Decimal("15.50"), 1), (DAY_1, None, 2), (DAY_2, Decimal("2.25"), 1)]
    marks = chart_marks(page_of((LOAD, rows)))
    assert marks == {
        "load": [
            {"Date (UTC)": "2023-03-01", "Load": "15.5", "User": "1"},
            {"Date (UTC)": "2023-03-02", "Load": "2.25", "User": "1"},
        ]
    }


def test_an_axis_of_several_fields_draws_each_as_a_series():
    widget = Widget(
        name="bpm",
        kind="line",
        title="Heart rate per day",
        fields=(("day", "`day`"), ("avg(bpm)", "AVG(`bpm`)"), ("max(bpm)", "MAX(`bpm`)")),
        encodings={
            "x": encoding("day", "temporal", "Date"),
            "y": {
                "scale": {"type": "quantitative"},
                "fields": [
                    {"fieldName": "avg(bpm)", "displayName": "Mean"},
                    {"fieldName": "max(bpm)", "displayName": "Highest"},
                ],
            },
        },
    )
    marks = chart_marks(page_of((widget, [(DAY_1, 95.333333, 150)])))
    assert sorted(marks["bpm"], key=lambda m: m["Series"]) == [
        {"Date": "2023-03-01", "Mean, Highest": "150", "Series": "Highest"},
        {"Date": "2023-03-01", "Mean, Highest": "95.33", "Series": "Mean"},
    ]


def test_a_heatmap_draws_a_cell_per_row_and_bars_a_bar_per_row():
    def chart(name: str, kind: str, channels: dict[str, tuple]) -> Widget:
        """A chart of one field per channel: (name, expression, scale, title) each."""
        return Widget(
            name=name,
            kind=kind,
            fields=tuple((field, expression) for field, expression, *_ in channels.values()),
            encodings={c: encoding(f, *rest) for c, (f, _, *rest) in channels.items()},
        )

    hour, gym = ("hour", "`hour`", "categorical", "Hour"), ("gym", "`gym`", "categorical", "Gym")
    visits = ("sum(visits)", "SUM(`visits`)", "quantitative", "Visits")
    cells = chart("arrivals", "heatmap", {"x": hour, "y": gym, "color": visits})
    workout = ("workout", "`workout`", "categorical", "Workout")
    minutes = ("sum(m)", "SUM(`m`)", "quantitative", "Minutes")
    zone = ("zone", "`zone`", "categorical", "Zone")
    bars = chart("zones", "bar", {"x": workout, "y": minutes, "color": zone})
    marks = chart_marks(
        page_of(
            (cells, [(7, "a", 3), (18, "b", 5)]),
            (bars, [("w1", Decimal("1.5"), "zone 0"), ("w1", Decimal("2"), "zone 1")]),
        )
    )
    assert marks == {
        "arrivals": [
            {"Hour": "7", "Gym": "a", "Visits": "3"},
            {"Hour": "18", "Gym": "b", "Visits": "5"},
        ],
        "zones": [
            {"Workout": "w1", "Minutes": "1.5", "Zone": "zone 0"},
            {"Workout": "w1", "Minutes": "2", "Zone": "zone 1"},
        ],
    }


def test_a_table_shows_its_first_rows_and_says_when_there_are_more(monkeypatch):
    monkeypatch.setattr(report, "TABLE_ROWS", 2)
    rows = [("2023-03-02", "1", "2.25"), ("2023-03-01", "1", "5.00"), ("2023-03-01", "1", "10.50")]
    page = page_of((TABLE, rows))
    assert "<th>Day</th><th>User</th><th>TRIMP</th>" in page
    assert "<td>2023-03-01</td><td>1</td><td>5.00</td>" in page
    assert "10.50" not in page
    assert "The first 2 rows; the dashboard shows them all." in page
    assert "dashboard shows them all" not in page_of((TABLE, rows[:2]))


def test_header_names_the_environment_the_time_and_the_tables_read():
    page = page_of()
    assert "2023-03-04 12:00:05 UTC" in page
    assert "<tr><td>gold.workout_hr_zones</td><td>3</td></tr>" in page
    assert 'data-env="test"' in page


def test_values_from_the_data_and_the_text_are_escaped():
    hostile = "<script>alert('x')</script>"
    text = Widget("title", "text", text=f"## Training\n{hostile}")
    page = page_of(
        (text, []),
        (LOAD, [(DAY_1, Decimal(1), hostile)]),
        (TABLE, [(hostile, "1", "1")]),
        env=hostile,
    )
    assert "<script" not in page
    assert "<h3>Training</h3>" in page  # a heading below the page's
    assert chart_marks(page)["load"] == [{"Date (UTC)": "2023-03-01", "Load": "1", "User": hostile}]


def test_a_widget_without_rows_says_so_and_draws_nothing():
    page = page_of((LOAD, []), (TABLE, []))
    assert page.count("No rows yet in test.") == 2
    assert "<svg" not in page and "<table><thead>" not in page


def test_the_page_loads_nothing_from_a_network():
    page = page_of((LOAD, [(DAY_1, Decimal(1), 1)]), (TABLE, [("2023-03-01", "1", "1")]))
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) <= namespaces
    assert not re.search(r"\b(src|href)\s*=", page)
    assert not re.search(r"url\((?!#)", page) and "@import" not in page
    assert "<script" not in page and "<link" not in page


# --- at the edge --------------------------------------------------------------------------------


def test_a_missing_table_asks_for_a_build():
    """Gold has a schema and one of the tables the dashboard reads."""
    answers = {
        "show schemas": [("default",), ("gold",)],
        "show tables in gold": [SimpleNamespace(tableName="gym_summary")],
    }
    settings = SimpleNamespace(env=SimpleNamespace(value="test"))
    dashboard = Dashboard({"a": "select * from gold.gym_summary join gold.workout_hr_zones"}, ())
    with pytest.raises(LakehouseError, match=r"run lakehouse build --env test first") as caught:
        read_report(answers.__getitem__, settings, dashboard)
    assert "no table gold.workout_hr_zones in test" in str(caught.value)


def test_the_report_sits_in_the_docs_site(tmp_path):
    settings = load_settings(env="test", home=tmp_path)
    assert default_path(settings) == settings.root / "dbt" / "target" / "report" / "index.html"
