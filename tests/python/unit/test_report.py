"""The HTML report: hourly occupancy exact at its boundaries, training load per user and date,
one data mark per value drawn, every value escaped, and nothing loaded from a network."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from ingestion.errors import LakehouseError
from lakehouse.project import load_settings
from lakehouse.report import (
    DailyLoad,
    ReportData,
    Utilization,
    Visit,
    Workout,
    default_path,
    hourly_occupancy,
    read_report,
    recent_workouts,
    render,
    training_load,
)

D1, D2, D3 = date(2023, 3, 1), date(2023, 3, 2), date(2023, 3, 3)
GENERATED = datetime(2023, 3, 4, 12, 0, 5, tzinfo=UTC)


def at(day: date, hh: int, mm: int = 0, ss: int = 0, us: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, ss, us)


class Marks(HTMLParser):
    """Per chart: the tags carrying ``data-value`` (with their attributes), whether it drew an
    ``<svg>``, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.depth = 0
        self.marks: dict[str, list[tuple[str, dict[str, str | None]]]] = {}
        self.svgs: dict[str, int] = {}
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "figure":
            self.chart = attributes["data-chart"]
            self.marks[self.chart], self.svgs[self.chart], self.text[self.chart] = [], 0, ""
        elif self.chart and tag == "svg":
            self.svgs[self.chart] += 1
        if self.chart and "data-value" in attributes:
            self.marks[self.chart].append((tag, attributes))

    def handle_endtag(self, tag):
        if tag == "figure":
            self.chart = None

    def handle_data(self, data):
        if self.chart:
            self.text[self.chart] += data


def parsed(page: str) -> Marks:
    marks = Marks()
    marks.feed(page)
    return marks


def values(marks: list, tag: str) -> list[str]:
    return [attributes["data-value"] for t, attributes in marks if t == tag]


# --- hourly occupancy ---------------------------------------------------------------------------


def test_one_leaving_as_another_enters_is_not_counted_twice():
    visits = [
        Visit(1, at(D1, 10), at(D1, 11)),  # A
        Visit(1, at(D1, 11), at(D1, 12)),  # B enters as A leaves
        Visit(1, at(D1, 10, 30), at(D1, 10, 45)),  # C inside with A
        Visit(2, at(D1, 9), at(D1, 9, 30)),
        Visit(2, at(D1, 9, 30), at(D1, 10)),  # enters as the other leaves, within one hour
    ]
    assert hourly_occupancy(visits) == {
        (1, D1, 10): 2,
        (1, D1, 11): 1,
        (2, D1, 9): 1,
    }


def test_a_visit_counts_in_each_hour_it_spans_and_not_in_the_hour_it_ends_at():
    visits = [
        Visit(1, at(D1, 8, 15), at(D1, 11, 30)),
        Visit(1, at(D1, 9, 59, 59, 999_999), at(D1, 10)),  # one microsecond, in hour 9
        Visit(2, at(D1, 7), at(D1, 8)),  # ends exactly at 08:00: nothing in hour 8
    ]
    assert hourly_occupancy(visits) == {
        (1, D1, 8): 1,
        (1, D1, 9): 2,
        (1, D1, 10): 1,
        (1, D1, 11): 1,
        (2, D1, 7): 1,
    }


def test_a_visit_past_midnight_counts_in_hour_0_of_the_next_date():
    visits = [
        Visit(3, at(D1, 23, 30), at(D2, 0, 30)),
        Visit(3, at(D2, 0, 10), at(D2, 0, 20)),
    ]
    assert hourly_occupancy(visits) == {(3, D1, 23): 1, (3, D2, 0): 2}


def test_zero_length_reversed_and_open_visits_are_never_inside():
    visits = [
        Visit(1, at(D1, 10), at(D1, 10)),
        Visit(1, at(D1, 12), at(D1, 11)),
        Visit(1, at(D1, 13), None),
    ]
    assert hourly_occupancy(visits) == {}


def test_a_logout_in_the_year_9999_neither_stretches_nor_stalls_the_heatmap():
    """The window ends one date past the latest login's: the absurd visit counts only within it,
    and the dates before stay in view."""
    visits = [
        Visit(1, at(D1, 10), at(D1, 11)),
        Visit(1, at(D2, 10), datetime(9999, 12, 31, 23, 59)),
    ]
    occupancy = hourly_occupancy(visits, days=3)
    assert occupancy == {
        (1, D1, 10): 1,
        **{(1, D2, hour): 1 for hour in range(10, 24)},
        **{(1, D3, hour): 1 for hour in range(24)},
    }


def test_the_window_ends_at_the_latest_logout_and_keeps_the_latest_days():
    visits = [Visit(1, at(D1, 10), at(D1, 11)), Visit(2, at(D3, 10), at(D3, 11))]
    assert hourly_occupancy(visits, days=1) == {(2, D3, 10): 1}
    assert hourly_occupancy(visits, days=3) == {(1, D1, 10): 1, (2, D3, 10): 1}


# --- training load ------------------------------------------------------------------------------


def test_training_load_sums_per_user_and_date_and_keeps_the_largest_totals():
    rows = [
        DailyLoad(7, D1, Decimal("10.50")),
        DailyLoad(7, D1, Decimal("2.25")),  # same user and date: added
        DailyLoad(7, D3, Decimal("1.00")),
        DailyLoad(8, D2, Decimal("13.75")),  # ties with user 7 (13.75): the lower id first
        DailyLoad(9, D1, Decimal("5.00")),
        DailyLoad(9, D2, None),  # no zones, no TRIMP
        DailyLoad(10, D2, None),
    ]
    load = training_load(rows, top=2)
    assert load.total_users == 3
    assert [(u.user_id, u.total, u.by_date) for u in load.users] == [
        (7, Decimal("13.75"), {D1: Decimal("12.75"), D3: Decimal("1.00")}),
        (8, Decimal("13.75"), {D2: Decimal("13.75")}),
    ]


def test_recent_workouts_are_the_newest_with_zones():
    zones = (Decimal(60),) * 6
    workouts = [
        Workout(1, 1, 1, at(D1, 8), zones),
        Workout(1, 1, 2, at(D2, 8), None),
        Workout(2, 1, 1, at(D3, 8), zones),
        Workout(3, 1, 1, at(D2, 9), zones),
    ]
    assert [(w.user_id, w.start_time) for w in recent_workouts(workouts, limit=2)] == [
        (2, at(D3, 8)),
        (3, at(D2, 9)),
    ]


# --- the page -----------------------------------------------------------------------------------


def report_data(**overrides) -> ReportData:
    data = {
        "env": "test",
        "generated_at": GENERATED,
        "row_counts": {
            "gold.workout_hr_zones": 4,
            "gold.gym_daily_utilization": 2,
            "silver.gym_logs": 4,
        },
        "loads": [
            DailyLoad(7, D1, Decimal("12.75")),
            DailyLoad(7, D3, Decimal("1.00")),
            DailyLoad(8, D2, Decimal("4.50")),
        ],
        "workouts": [
            Workout(
                7,
                1,
                1,
                at(D1, 10),
                tuple(Decimal(s) for s in ("60", "90", "30.500000", "0", "0", "1")),
            ),
            Workout(
                8, 2, 1, at(D2, 10), tuple(Decimal(s) for s in ("0", "0", "0", "0", "120", "6"))
            ),
        ],
        "workouts_without_zones": 2,
        "visits": [
            Visit(1, at(D1, 10), at(D1, 11)),
            Visit(1, at(D1, 11), at(D1, 12)),
            Visit(1, at(D1, 10, 30), at(D1, 10, 45)),
            Visit(1, at(D1, 23, 30), at(D2, 0, 30)),
        ],
        "utilization": [
            Utilization(1, D1, 4, 3, 2),
            Utilization(1, D2, 0, 0, 0),
        ],
    }
    return ReportData(**{**data, **overrides})


def test_each_chart_has_one_mark_per_value_drawn():
    page = render(report_data())
    marks = parsed(page)
    assert sorted(marks.marks) == ["occupancy", "training-load", "zones"]
    assert marks.svgs == {"training-load": 1, "zones": 1, "occupancy": 1}

    load = marks.marks["training-load"]
    assert values(load, "path") == ["13.75", "4.50"]  # a line per user, its total
    assert values(load, "circle") == ["12.75", "1.00", "4.50"]  # a point per user and date

    zones = marks.marks["zones"]
    assert values(zones, "rect") == [
        *["0.00", "0.00", "0.00", "0.00", "2.00", "0.10"],  # newest on top
        *["1.00", "1.50", "0.51", "0.00", "0.00", "0.02"],
    ]
    assert [a["data-zone"] for _, a in zones] == [str(k) for k in range(6)] * 2

    cells = [(a["data-hour"], a["data-value"]) for t, a in marks.marks["occupancy"]]
    assert len(cells) == 2 * 24  # gym 1 on D1 and D2, every hour
    day1, day2 = cells[:24], cells[24:]
    assert [v for _, v in day1] == ["0"] * 10 + ["2", "1"] + ["0"] * 11 + ["1"]
    assert [v for _, v in day2] == ["1"] + ["0"] * 23
    assert "2023-03-01" in marks.text["occupancy"] and "peak" in page


def test_an_outlying_date_joins_the_line_through_the_dates_with_a_workout():
    """Past a year between the first and the last date, the line has a point per date with a
    workout, not per day."""
    far = date(9999, 12, 31)
    loads = [DailyLoad(7, D1, Decimal("2.00")), DailyLoad(7, far, Decimal("3.00"))]
    page = render(report_data(loads=loads))
    path = re.search(r'<path d="M([^"]*)"[^>]*data-value="5.00"', page).group(1)
    assert len(path.split(" L")) == 2


def test_each_point_names_its_date():
    marks = parsed(render(report_data())).marks["training-load"]
    points = [(a["data-date"], a["data-value"]) for tag, a in marks if tag == "circle"]
    assert sorted(points) == [
        ("2023-03-01", "12.75"),
        ("2023-03-02", "4.50"),
        ("2023-03-03", "1.00"),
    ]


def test_header_names_the_environment_the_time_and_the_tables_read():
    page = render(report_data())
    assert "2023-03-04 12:00:05 UTC" in page
    for table, rows in report_data().row_counts.items():
        assert f"<tr><td>{table}</td><td>{rows}</td></tr>" in page
    assert 'data-env="test"' in page


def test_workouts_without_zones_are_counted_in_the_caption_not_drawn():
    text = parsed(render(report_data())).text["zones"]
    assert "2 workouts without zones" in text and "not drawn" in text


def test_values_from_the_data_are_escaped():
    hostile = "<script>alert('x')</script>"
    page = render(
        report_data(
            env="test",
            loads=[DailyLoad(hostile, D1, Decimal(1))],
            workouts=[Workout(hostile, hostile, 1, at(D1, 10), (Decimal(60),) * 6)],
            visits=[Visit(hostile, at(D1, 10), at(D1, 11))],
            utilization=[Utilization(hostile, D1, 1, 1, 1)],
        )
    )
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    marks = parsed(page)
    assert all(marks.marks[chart] for chart in ("training-load", "zones", "occupancy"))


def test_a_chart_without_rows_says_so_and_draws_nothing():
    nothing = {"loads": [], "workouts": [], "visits": [], "utilization": []}
    page = render(report_data(workouts_without_zones=0, **nothing))
    marks = parsed(page)
    for chart in ("training-load", "zones", "occupancy"):
        assert "no rows yet: run lakehouse build --env test" in marks.text[chart]
        assert marks.marks[chart] == [] and marks.svgs[chart] == 0
    assert "<figcaption>" in page


def test_the_page_loads_nothing_from_a_network():
    page = render(report_data())
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\b(src|href|xlink:href)\s*=", page)
    assert "@import" not in page and "url(" not in page
    assert "<script" not in page and "<link" not in page


# --- at the edge --------------------------------------------------------------------------------


def test_a_missing_table_asks_for_a_build():
    """Silver has its gym logs; gold has a schema and no table yet."""
    answers = {
        "show schemas": [("default",), ("silver",), ("gold",)],
        "show tables in silver": [SimpleNamespace(tableName="gym_logs")],
        "show tables in gold": [SimpleNamespace(tableName="workout_bpm_summary")],
    }
    settings = SimpleNamespace(env=SimpleNamespace(value="test"))
    with pytest.raises(LakehouseError, match=r"run lakehouse build --env test first") as caught:
        read_report(answers.__getitem__, settings)
    assert "gold.workout_hr_zones" in str(caught.value)
    assert "gold.gym_daily_utilization" in str(caught.value)


def test_the_report_sits_in_the_docs_site(tmp_path):
    settings = load_settings(env="test", home=tmp_path)
    assert default_path(settings) == settings.root / "dbt" / "target" / "report" / "index.html"
