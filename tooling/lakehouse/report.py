"""``lakehouse report``: a static, self-contained HTML page of an environment's gold tables.

Three charts, each an ``<figure data-chart="...">`` holding an inline ``<svg>`` and a
``<figcaption>``:

- ``training-load``: TRIMP ([rule 15](docs/contract.md#rule-15)) summed per user and UTC date of
  the workout's start, a line per user, for the users with the largest total load;
- ``zones``: minutes in each heart-rate zone of the most recent workouts with zones, as stacked
  horizontal bars;
- ``occupancy``: the most visits inside a gym during each hour of each day (from silver gym_logs'
  closed visits, each inside over [login, logout)), as a heatmap, beside gold
  gym_daily_utilization's visits, members and peak occupancy ([rule 16](docs/contract.md#rule-16)).

Every data mark (a line, a point, a bar segment, a heatmap cell) carries ``data-value``. A chart
without rows says so instead of drawing an empty frame. The page loads nothing: styles and
charts are inline, there is no script, no font and no image from elsewhere, and every value read
from the tables is HTML-escaped.

The queries are Spark SQL over ``gold.workout_hr_zones``, ``gold.gym_daily_utilization`` and
``silver.gym_logs``; the caller names the tables (``lakehouse.catalog.name_tables``). Times are
read as microseconds since the epoch and turned into UTC here, so the page does not depend on the
time zone of the machine that writes it.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ingestion.errors import LakehouseError
from ingestion.files import write_atomically
from ingestion.registrations import from_utc_micros

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.project import LocalSettings

log = logging.getLogger(__name__)

ZONES_TABLE = "gold.workout_hr_zones"
UTILIZATION_TABLE = "gold.gym_daily_utilization"
GYM_LOGS_TABLE = "silver.gym_logs"
#: The tables the report reads, as its header lists them.
TABLES = (ZONES_TABLE, UTILIZATION_TABLE, GYM_LOGS_TABLE)

#: The training-load chart draws this many users: those with the largest total load.
TOP_USERS = 10
#: The zones chart draws this many workouts: the most recent with zones.
RECENT_WORKOUTS = 20
#: The occupancy heatmap shows this many UTC dates: the last ones with anyone inside.
OCCUPANCY_DAYS = 14

ZONES = 6
#: Zone 0 to zone 5, light to dark (viridis: ordered in lightness, readable with any colour vision).
ZONE_COLOURS = ("#FDE725", "#7AD151", "#22A884", "#2A788E", "#414487", "#440154")
ZONE_NAMES = ("<50 %", "50-60 %", "60-70 %", "70-80 %", "80-90 %", ">=90 %")
#: One colour a user (Okabe-Ito, without its yellow); after seven users the dash tells them apart.
USER_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000")
USER_DASHES = ("", "7 4", "2 3")
#: Heatmap: nobody inside, then six classes from few to the most inside.
EMPTY_CELL = "#F4F4F4"
OCCUPANCY_COLOURS = ("#DEEBF7", "#C6DBEF", "#9ECAE1", "#6BAED6", "#3182BD", "#08519C")

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: Beyond this many days between its first and last date, the training-load line joins only the
#: dates with a workout instead of every day (an outlying date does not make millions of points).
DAILY_SPAN_DAYS = 366
CENT = Decimal("0.01")

# --- the queries --------------------------------------------------------------------------------

#: TRIMP per user and UTC date of start_time (the session's time zone is UTC). Workouts without
#: zones have no TRIMP and add nothing.
DAILY_LOAD_SQL = f"""
select user_id, to_date(start_time) as `date`, sum(trimp) as trimp
from {ZONES_TABLE}
where trimp is not null
group by user_id, to_date(start_time)
"""

#: Workouts without zones (no valid age on the workout's date).
WITHOUT_ZONES_SQL = f"select count(*) as workouts from {ZONES_TABLE} where max_hr is null"


def recent_zones_sql(limit: int = RECENT_WORKOUTS) -> str:
    """The ``limit`` most recent workouts with zones, by start_time (ties by user, workout,
    session)."""
    seconds = ", ".join(f"seconds_zone_{k}" for k in range(ZONES))
    return f"""
select user_id, workout_id, session_id, unix_micros(start_time) as start_micros, {seconds}
from {ZONES_TABLE}
where max_hr is not null
order by start_time desc, user_id, workout_id, session_id
limit {int(limit)}
"""


def visits_sql(days: int = OCCUPANCY_DAYS) -> str:
    """The closed visits of positive length still inside after midnight ``days`` dates before
    the latest login's date: every visit inside during the heatmap's window
    (:func:`occupancy_window`). Anchored on logins, so one logout far in the future does not
    move the window."""
    return f"""
select gym, unix_micros(login) as login_micros, unix_micros(logout) as logout_micros
from {GYM_LOGS_TABLE}
where logout > login
  and logout > (
    select cast(date_sub(to_date(max(login)), {int(days)}) as timestamp)
    from {GYM_LOGS_TABLE}
    where logout > login
  )
"""


def utilization_sql(days: int = OCCUPANCY_DAYS) -> str:
    """Gold's rows of the ``days`` latest dates it has (the heatmap's dates are among them or
    later)."""
    return f"""
select gym, `date`, visits, members, peak_occupancy
from {UTILIZATION_TABLE}
where `date` > (select date_sub(max(`date`), {int(days)}) from {UTILIZATION_TABLE})
"""


def row_count_sql(table: str) -> str:
    return f"select count(*) as n from {table}"


# --- what the report is made of -----------------------------------------------------------------


class DailyLoad(NamedTuple):
    """TRIMP of one user on one UTC date (several rows of one user and date add up)."""

    user_id: Any
    date: date
    trimp: Decimal | None


class Workout(NamedTuple):
    """One workout's seconds in zones 0 to 5 (``None`` without zones)."""

    user_id: Any
    workout_id: Any
    session_id: Any
    start_time: datetime  # UTC
    seconds: tuple[Decimal, ...] | None


class Visit(NamedTuple):
    """A gym visit, inside over [login, logout) (UTC); ``logout`` is ``None`` while open."""

    gym: Any
    login: datetime
    logout: datetime | None


class Utilization(NamedTuple):
    """One row of gold gym_daily_utilization."""

    gym: Any
    date: date
    visits: int
    members: int
    peak_occupancy: int


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, as read from an environment."""

    env: str
    generated_at: datetime  # UTC
    row_counts: dict[str, int]  # table -> rows, in the order the header lists them
    loads: Sequence[DailyLoad] = ()
    workouts: Sequence[Workout] = ()
    workouts_without_zones: int = 0
    visits: Sequence[Visit] = ()
    utilization: Sequence[Utilization] = ()


@dataclass(frozen=True)
class UserLoad:
    user_id: Any
    total: Decimal
    by_date: dict[date, Decimal]


@dataclass(frozen=True)
class TrainingLoad:
    """The users drawn, largest total load first, and how many users had any load."""

    users: list[UserLoad]
    total_users: int


@dataclass(frozen=True)
class OccupancyGrid:
    """The heatmap: one row per (gym, date), the peak per (gym, date, hour), gold's rows of the
    same dates, and the dates shown."""

    rows: list[tuple[Any, date]]
    peaks: dict[tuple[Any, date, int], int]
    utilization: list[Utilization]
    first: date | None = None
    last: date | None = None


# --- pure computations --------------------------------------------------------------------------


def order_key(value: Any) -> tuple:
    """Sort ids numerically when they are numbers, as text otherwise (never comparing the two)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


def as_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def training_load(rows: Iterable[DailyLoad], top: int = TOP_USERS) -> TrainingLoad:
    """TRIMP summed per user and date; the ``top`` users with the largest total over all dates
    (ties by user id), largest first. Rows without TRIMP are left out."""
    by_user: dict[Any, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        if row.trimp is None:
            continue
        days = by_user[row.user_id]
        days[row.date] = days.get(row.date, Decimal(0)) + as_decimal(row.trimp)
    users = [
        UserLoad(user, sum(days.values(), Decimal(0)), dict(sorted(days.items())))
        for user, days in by_user.items()
    ]
    users.sort(key=lambda u: (-u.total, order_key(u.user_id)))
    return TrainingLoad(users=users[:top], total_users=len(users))


def recent_workouts(workouts: Iterable[Workout], limit: int = RECENT_WORKOUTS) -> list[Workout]:
    """The ``limit`` most recent workouts with zones, newest first (ties by user, workout,
    session)."""
    with_zones = [w for w in workouts if w.seconds is not None]
    with_zones.sort(
        key=lambda w: (order_key(w.user_id), order_key(w.workout_id), order_key(w.session_id))
    )
    with_zones.sort(key=lambda w: w.start_time, reverse=True)  # stable: the ties stay in order
    return with_zones[:limit]


def minutes(seconds: Decimal) -> Decimal:
    """Seconds as minutes, rounded half up to 2 places."""
    return (as_decimal(seconds) / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def occupancy_window(
    visits: Sequence[Visit], days: int = OCCUPANCY_DAYS
) -> tuple[datetime, datetime] | None:
    """The ``days`` dates of hours the heatmap covers: up to the midnight after the latest
    logout, but at most one date past the latest login's (a visit past midnight shows on the
    next date; an absurd logout, say in the year 9999, does not stretch the chart). None without
    a closed visit of positive length."""
    closed = [v for v in visits if v.logout is not None and v.logout > v.login]
    if not closed:
        return None
    latest_login = max(v.login for v in closed).replace(hour=0, minute=0, second=0, microsecond=0)
    after_logout = max(v.logout for v in closed) - timedelta(microseconds=1)
    end = min(after_logout.replace(hour=0, minute=0, second=0, microsecond=0), latest_login + DAY)
    return end + DAY - days * DAY, end + DAY


def hourly_occupancy(
    visits: Iterable[Visit], days: int = OCCUPANCY_DAYS
) -> dict[tuple[Any, date, int], int]:
    """The most visits inside each gym at one instant during each UTC hour of the
    :func:`occupancy_window`, keyed by (gym, date, hour of day); hours with nobody inside are
    absent.

    A visit is inside over [login, logout): during an hour [h, h + 1 h) it counts if it was
    inside at some instant of it, so a visit spanning several hours counts in each, one ending
    exactly at h + 1 h does not count in the next hour, and one crossing midnight counts in hour 0
    of the next date. At an instant where some leave and others enter, those leaving are out
    before the others are in: one leaving as another enters is not counted twice. Open visits
    (no logout) and visits with logout <= login (never inside) count nowhere.

    Exact: the number inside only changes at logins and logouts, so it is constant between two
    consecutive such instants, and an hour's peak is the largest of those constant stretches that
    overlap the hour.
    """
    visits = list(visits)
    window = occupancy_window(visits, days)
    if window is None:
        return {}
    since, until = window
    changes: dict[Any, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for visit in visits:
        if visit.logout is None or visit.logout <= visit.login:
            continue
        changes[visit.gym][visit.login] += 1
        changes[visit.gym][visit.logout] -= 1
    peaks: dict[tuple[Any, date, int], int] = {}
    for gym, change in changes.items():
        instants = sorted(change)
        inside = 0
        for start, end in zip(instants, instants[1:], strict=False):
            inside += change[start]  # everyone leaving and entering at `start`, at once
            start, end = max(start, since), min(end, until)
            if inside <= 0 or start >= end:
                continue
            hour = start.replace(minute=0, second=0, microsecond=0)
            while hour < end:  # every hour [hour, hour + 1 h) that [start, end) overlaps
                key = (gym, hour.date(), hour.hour)
                peaks[key] = max(peaks.get(key, 0), inside)
                hour += HOUR
    return peaks


def occupancy_grid(
    peaks: dict[tuple[Any, date, int], int],
    utilization: Iterable[Utilization],
    days: int = OCCUPANCY_DAYS,
) -> OccupancyGrid:
    """The heatmap of the ``days`` calendar dates ending at the latest date with anyone inside
    (or with a gold row): a row per gym and date with anyone inside or with a gold row, by gym
    then date."""
    utilization = list(utilization)
    dates = [d for (_, d, _) in peaks] + [u.date for u in utilization]
    if not dates:
        return OccupancyGrid(rows=[], peaks={}, utilization=[])
    last = max(dates)
    first = last - timedelta(days=days - 1)
    shown = {k: v for k, v in peaks.items() if first <= k[1] <= last}
    kept = [u for u in utilization if first <= u.date <= last]
    rows = {(gym, d) for (gym, d, _) in shown} | {(u.gym, u.date) for u in kept}
    return OccupancyGrid(
        rows=sorted(rows, key=lambda r: (order_key(r[0]), r[1])),
        peaks=shown,
        utilization=sorted(kept, key=lambda u: (order_key(u.gym), u.date)),
        first=first,
        last=last,
    )


# --- the page -----------------------------------------------------------------------------------

WIDTH = 960

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:24px auto;max-width:1040px;padding:0 16px;color:#222;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}
header p{margin:.2em 0;color:#444}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ccc;padding:2px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#f0f0f0}
figure{margin:28px 0;padding:12px;border:1px solid #ddd;border-radius:6px}
figcaption{font-size:13px;color:#444;margin-top:8px;max-width:900px}
svg{display:block;max-width:100%;height:auto;font-size:11px}
svg text{fill:#222}
.axis line,.axis path{stroke:#888}
.grid line{stroke:#eee}
.occupancy-body{display:flex;gap:16px;align-items:flex-start}
.occupancy-body svg{flex:0 1 auto;min-width:0}
.occupancy-body table{flex:none}
.empty{font-size:16px;padding:24px;background:#fafafa;border:1px dashed #bbb;color:#555}
"""


def e(value: Any) -> str:
    """A value from the data, safe in HTML text and attribute values."""
    return escape(str(value), quote=True)


def f(x: float) -> str:
    """A coordinate."""
    return f"{x:.1f}"


def number(value: Decimal | int) -> str:
    return str(value)


def nice_axis(largest: float, ticks: int = 5) -> tuple[float, float]:
    """An axis maximum at or above ``largest`` and the step of its ticks (1, 2 or 5 x 10^k)."""
    if largest <= 0:
        return 1.0, 0.2
    raw = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return math.ceil(largest / step - 1e-9) * step, step


def tick_label(value: float) -> str:
    return str(round(value)) if abs(value - round(value)) < 1e-9 else f"{value:g}"


def empty(env: str) -> str:
    return f'<p class="empty">no rows yet: run lakehouse build --env {e(env)}</p>'


def figure(chart: str, body: str, caption: str) -> str:
    return f'<figure data-chart="{chart}">\n{body}\n<figcaption>{caption}</figcaption>\n</figure>'


def user_style(index: int) -> tuple[str, str]:
    """The colour and dash pattern of the ``index``-th user."""
    colour = USER_COLOURS[index % len(USER_COLOURS)]
    dash = USER_DASHES[(index // len(USER_COLOURS)) % len(USER_DASHES)]
    return colour, dash


def training_chart(load: TrainingLoad, env: str) -> str:
    drawn = len(load.users)
    which = (
        f"every user ({drawn}) with any"
        if drawn == load.total_users
        else f"the {drawn} users (of {load.total_users}) with the largest total"
    )
    caption = (
        f"Training load per user and UTC date of the workout's start: TRIMP (Edwards' training "
        f"impulse) of {e(ZONES_TABLE)} summed per day, a line per user, for {which} load; a day "
        f"without a workout counts 0. Workouts without zones (no valid age) have no TRIMP."
    )
    if not load.users:
        return figure("training-load", empty(env), caption)

    left, right, top, bottom, height = 64, 190, 16, 48, 380
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    dates = sorted({d for u in load.users for d in u.by_date})
    first, last = dates[0], dates[-1]
    span = (last - first).days
    y_max, y_step = nice_axis(float(max(v for u in load.users for v in u.by_date.values())))

    def x(d: date) -> float:
        return left + ((d - first).days / span * plot_w if span else plot_w / 2)

    def y(v: Decimal | float) -> float:
        return top + plot_h - float(v) / y_max * plot_h

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Training load per user over time">'
    ]
    grid, axis = ['<g class="grid">'], ['<g class="axis">']
    for i in range(round(y_max / y_step) + 1):
        v = i * y_step
        grid.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{f(y(v))}" y2="{f(y(v))}"/>')
        axis.append(
            f'<line x1="{left - 4}" x2="{left}" y1="{f(y(v))}" y2="{f(y(v))}"/>'
            f'<text x="{left - 7}" y="{f(y(v) + 4)}" text-anchor="end">{tick_label(v)}</text>'
        )
    every = max(1, math.ceil(span / 7))
    for n in range(0, span + 1, every):
        d = first + timedelta(days=n)
        axis.append(
            f'<line x1="{f(x(d))}" x2="{f(x(d))}" y1="{top + plot_h}" y2="{top + plot_h + 4}"/>'
            f'<text x="{f(x(d))}" y="{top + plot_h + 17}" text-anchor="middle">{d}</text>'
        )
    axis.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>'
        f'<text x="{left + plot_w / 2}" y="{height - 8}" text-anchor="middle">'
        f"UTC date of the workout's start</text>"
        f'<text transform="translate(16 {top + plot_h / 2}) rotate(-90)" text-anchor="middle">'
        f"TRIMP per day</text>"
    )
    parts += [*grid, "</g>", *axis, "</g>"]

    every_day = (
        [first + timedelta(days=n) for n in range(span + 1)] if span <= DAILY_SPAN_DAYS else dates
    )
    for i, user in enumerate(load.users):
        colour, dash = user_style(i)
        points = " L".join(f"{f(x(d))},{f(y(user.by_date.get(d, 0)))}" for d in every_day)
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<g class="series" data-user="{e(user.user_id)}">'
            f'<path d="M{points}" fill="none" stroke="{colour}" stroke-width="2"{dashed} '
            f'data-value="{number(user.total)}"><title>user {e(user.user_id)}: '
            f"{number(user.total)} in total</title></path>"
        )
        for d, v in user.by_date.items():
            parts.append(
                f'<circle cx="{f(x(d))}" cy="{f(y(v))}" r="3" fill="{colour}" '
                f'data-date="{d}" data-value="{number(v)}"><title>user {e(user.user_id)}, {d}: '
                f"{number(v)}</title></circle>"
            )
        parts.append("</g>")

    legend_x = left + plot_w + 20
    parts.append('<g class="legend">')
    for i, user in enumerate(load.users):
        colour, dash = user_style(i)
        ly = top + 8 + i * 18
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 24}" y1="{ly}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2"{dashed}/><text x="{legend_x + 30}" y="{ly + 4}">'
            f"user {e(user.user_id)} ({number(user.total)})</text>"
        )
    parts += ["</g>", "</svg>"]
    return figure("training-load", "\n".join(parts), caption)


def workout_label(w: Workout) -> str:
    start = f"{w.start_time:%Y-%m-%d %H:%M}"
    return f"user {w.user_id} · workout {w.workout_id}/{w.session_id} · {start}"


def zones_chart(workouts: Sequence[Workout], without_zones: int, env: str) -> str:
    bars = recent_workouts(workouts)
    left_out = (
        f" {without_zones} workout{'s' if without_zones != 1 else ''} without zones (no valid "
        f"age on the workout's date) {'are' if without_zones != 1 else 'is'} not drawn."
        if without_zones
        else ""
    )
    caption = (
        f"Minutes in each heart-rate zone (share of the age-predicted maximum) of the "
        f"{len(bars) or RECENT_WORKOUTS} most recent workouts with zones in {e(ZONES_TABLE)}, "
        f"newest on top, labelled user · workout/session · start (UTC).{left_out}"
    )
    if not bars:
        return figure("zones", empty(env), caption)

    label_w, right, legend_h, bar_h, gap, bottom = 300, 24, 34, 16, 6, 44
    plot_w = WIDTH - label_w - right
    height = legend_h + len(bars) * (bar_h + gap) + bottom
    mins = [[minutes(s) for s in w.seconds or ()] for w in bars]
    x_max, x_step = nice_axis(float(max(sum(m, Decimal(0)) for m in mins)))
    plot_bottom = legend_h + len(bars) * (bar_h + gap)

    def x(v: float) -> float:
        return label_w + v / x_max * plot_w

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
        f'aria-label="Minutes in heart-rate zones per workout">',
        '<g class="legend">',
    ]
    for k in range(ZONES):
        lx = label_w + k * 108
        parts.append(
            f'<rect x="{lx}" y="8" width="12" height="12" fill="{ZONE_COLOURS[k]}" '
            f'stroke="#999" stroke-width="0.5"/><text x="{lx + 16}" y="18">zone {k} '
            f"{e(ZONE_NAMES[k])}</text>"
        )
    parts.append('</g><g class="grid">')
    for i in range(round(x_max / x_step) + 1):
        v = i * x_step
        parts.append(f'<line x1="{f(x(v))}" x2="{f(x(v))}" y1="{legend_h}" y2="{plot_bottom}"/>')
    parts.append('</g><g class="axis">')
    for i in range(round(x_max / x_step) + 1):
        v = i * x_step
        parts.append(
            f'<line x1="{f(x(v))}" x2="{f(x(v))}" y1="{plot_bottom}" y2="{plot_bottom + 4}"/>'
            f'<text x="{f(x(v))}" y="{plot_bottom + 16}" text-anchor="middle">'
            f"{tick_label(v)}</text>"
        )
    parts.append(
        f'<line x1="{label_w}" x2="{label_w + plot_w}" y1="{plot_bottom}" y2="{plot_bottom}"/>'
        f'<text x="{label_w + plot_w / 2}" y="{height - 6}" text-anchor="middle">minutes</text>'
        "</g>"
    )
    for row, (w, m) in enumerate(zip(bars, mins, strict=True)):
        by = legend_h + row * (bar_h + gap) + gap / 2
        label = e(workout_label(w))
        parts.append(
            f'<g class="bar" data-user="{e(w.user_id)}" data-workout="{e(w.workout_id)}" '
            f'data-session="{e(w.session_id)}" data-start="{w.start_time:%Y-%m-%dT%H:%M:%S.%f}">'
            f'<text x="{label_w - 6}" y="{f(by + bar_h - 4)}" '
            f'text-anchor="end">{label}</text>'
        )
        at = Decimal(0)
        for k, v in enumerate(m):
            parts.append(
                f'<rect x="{f(x(float(at)))}" y="{f(by)}" width="{f(float(v) / x_max * plot_w)}" '
                f'height="{bar_h}" fill="{ZONE_COLOURS[k]}" data-zone="{k}" '
                f'data-value="{number(v)}"><title>{label}: zone {k}, {number(v)} min</title></rect>'
            )
            at += v
        parts.append("</g>")
    parts.append("</svg>")
    return figure("zones", "\n".join(parts), caption)


def occupancy_class(value: int, largest: int) -> int:
    """Which of the six colours a cell gets: value / largest in sixths, rounded up."""
    return min(len(OCCUPANCY_COLOURS), max(1, math.ceil(value * len(OCCUPANCY_COLOURS) / largest)))


def occupancy_chart(grid: OccupancyGrid, env: str) -> str:
    shown = sorted({d for _, d in grid.rows})
    dates = f" from {shown[0]} to {shown[-1]}" if shown else ""
    caption = (
        f"Gym occupancy by UTC hour{dates} (at most the {OCCUPANCY_DAYS} latest dates): each "
        f"cell is the most closed visits of {e(GYM_LOGS_TABLE)} inside at one instant during "
        f"that hour, a visit being inside over [login, logout); one leaving as another enters "
        f"is not counted twice, a visit past midnight counts on the next date too. Beside it, "
        f"{e(UTILIZATION_TABLE)} per gym and login date: visits, members, and the peak of the "
        f"visits that logged in that day."
    )
    if not grid.rows:
        return figure("occupancy", empty(env), caption)

    label_w, cell_w, cell_h, top, bottom = 130, 22, 18, 30, 38
    width = label_w + 24 * cell_w + 10
    height = top + len(grid.rows) * cell_h + bottom
    largest = max(grid.peaks.values(), default=0)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="Gym occupancy by hour and day">',
        '<g class="axis">',
    ]
    for hour in range(24):
        parts.append(
            f'<text x="{label_w + hour * cell_w + cell_w / 2}" y="{top - 8}" '
            f'text-anchor="middle">{hour}</text>'
        )
    parts.append("</g>")
    for r, (gym, day) in enumerate(grid.rows):
        cy = top + r * cell_h
        parts.append(
            f'<g class="row" data-gym="{e(gym)}" data-date="{day}">'
            f'<text x="{label_w - 6}" y="{cy + cell_h - 5}" text-anchor="end">'
            f"gym {e(gym)} · {day}</text>"
        )
        for hour in range(24):
            value = grid.peaks.get((gym, day, hour), 0)
            k = occupancy_class(value, largest) if value else 0
            fill = OCCUPANCY_COLOURS[k - 1] if value else EMPTY_CELL
            cx = label_w + hour * cell_w
            parts.append(
                f'<rect x="{cx}" y="{cy}" width="{cell_w - 1}" height="{cell_h - 1}" '
                f'fill="{fill}" data-hour="{hour}" data-value="{value}"><title>gym {e(gym)}, '
                f"{day} {hour:02d}:00-{hour + 1:02d}:00: {value} inside at most</title></rect>"
            )
            if value:
                colour = "#fff" if k >= 4 else "#222"
                parts.append(
                    f'<text x="{cx + cell_w / 2}" y="{cy + cell_h - 5}" text-anchor="middle" '
                    f'style="fill:{colour}">{value}</text>'
                )
        parts.append("</g>")
    legend_y = top + len(grid.rows) * cell_h + 14
    parts.append(
        f'<g class="legend"><text x="{label_w - 6}" y="{legend_y + 10}" text-anchor="end">'
        f"inside at most</text>"
    )
    swatches = [(EMPTY_CELL, "0")] + [
        (c, "" if i < len(OCCUPANCY_COLOURS) - 1 else f"{largest}")
        for i, c in enumerate(OCCUPANCY_COLOURS)
    ]
    for i, (colour, text) in enumerate(swatches):
        sx = label_w + i * cell_w
        parts.append(
            f'<rect x="{sx}" y="{legend_y}" width="{cell_w - 1}" height="12" fill="{colour}"/>'
        )
        if text:
            parts.append(f'<text x="{sx + cell_w + 4}" y="{legend_y + 10}">{text}</text>')
    parts += ["</g>", "</svg>"]

    table = [
        '<table class="utilization"><thead><tr><th>gym</th><th>date</th><th>visits</th>'
        "<th>members</th><th>peak</th></tr></thead><tbody>"
    ]
    for u in grid.utilization:
        table.append(
            f"<tr><td>{e(u.gym)}</td><td>{e(u.date)}</td><td>{e(u.visits)}</td>"
            f"<td>{e(u.members)}</td><td>{e(u.peak_occupancy)}</td></tr>"
        )
    if not grid.utilization:
        table.append('<tr><td colspan="5">no gold rows for these dates</td></tr>')
    table.append("</tbody></table>")
    body = f'<div class="occupancy-body">\n{"".join(parts)}\n{"".join(table)}\n</div>'
    return figure("occupancy", body, caption)


def render(data: ReportData) -> str:
    """The report as one self-contained HTML page."""
    sources = "".join(
        f"<tr><td>{e(table)}</td><td>{e(rows)}</td></tr>" for table, rows in data.row_counts.items()
    )
    generated = data.generated_at.astimezone(UTC) if data.generated_at.tzinfo else data.generated_at
    charts = [
        training_chart(training_load(data.loads), data.env),
        zones_chart(data.workouts, data.workouts_without_zones, data.env),
        occupancy_chart(occupancy_grid(hourly_occupancy(data.visits), data.utilization), data.env),
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Smartwatch lakehouse report: {e(data.env)}</title>",
            f"<style>{STYLE}</style>",
            "</head><body>",
            "<header>",
            f"<h1>Smartwatch lakehouse report: {e(data.env)}</h1>",
            f'<p>Environment <strong data-env="{e(data.env)}">{e(data.env)}</strong>, generated '
            f'<time datetime="{generated:%Y-%m-%dT%H:%M:%SZ}">'
            f"{generated:%Y-%m-%d %H:%M:%S} UTC</time>.</p>",
            '<table class="sources"><thead><tr><th>table read</th><th>rows</th></tr></thead>'
            f"<tbody>{sources}</tbody></table>",
            "</header>",
            "<main>",
            *charts,
            "</main>",
            "</body></html>",
            "",
        ]
    )


# --- at the edge: Spark in, a file out ----------------------------------------------------------


def default_path(settings: LocalSettings) -> Path:
    """``report/index.html`` in the environment's docs site, so the site can link to it."""
    from lakehouse.docs import target_dir

    return target_dir(settings) / "report" / "index.html"


#: Answers a query with its rows (by position and by column name): a Spark session's
#: (``spark_rows``) or the SQL warehouse's (``lakehouse.warehouse.warehouse_rows``).
Rows = Callable[[str], list]


def spark_rows(spark: SparkSession) -> Rows:
    return lambda sql: spark.sql(sql).collect()


def missing_tables(rows: Rows) -> list[str]:
    """The tables of ``TABLES`` the environment does not have (yet)."""
    schemas = {r[0] for r in rows("show schemas")}
    present = {
        f"{layer}.{r.tableName}"
        for layer in sorted({t.split(".")[0] for t in TABLES} & schemas)
        for r in rows(f"show tables in {layer}")
    }
    return [t for t in TABLES if t not in present]


def read_report(rows: Rows, settings: LocalSettings) -> ReportData:
    """Read what the page shows from the environment's named tables; a missing table means the
    warehouse is not built yet."""
    env = settings.env.value
    missing = missing_tables(rows)
    if missing:
        raise LakehouseError(
            f"no table {', '.join(missing)} in {env}: the warehouse is not built; "
            f"run lakehouse build --env {env} first"
        )

    counts = {t: rows(row_count_sql(t))[0][0] for t in TABLES}
    log.info("report of %s: %s", env, ", ".join(f"{t} {n} rows" for t, n in counts.items()))
    seconds = [f"seconds_zone_{k}" for k in range(ZONES)]
    return ReportData(
        env=env,
        generated_at=datetime.now(UTC),
        row_counts=counts,
        loads=[DailyLoad(r.user_id, r.date, r.trimp) for r in rows(DAILY_LOAD_SQL)],
        workouts=[
            Workout(
                r.user_id,
                r.workout_id,
                r.session_id,
                from_utc_micros(r.start_micros),
                tuple(r[c] for c in seconds),
            )
            for r in rows(recent_zones_sql())
        ],
        workouts_without_zones=rows(WITHOUT_ZONES_SQL)[0][0],
        visits=[
            Visit(r.gym, from_utc_micros(r.login_micros), from_utc_micros(r.logout_micros))
            for r in rows(visits_sql())
        ],
        utilization=[
            Utilization(r.gym, r.date, r.visits, r.members, r.peak_occupancy)
            for r in rows(utilization_sql())
        ],
    )


def write_report(rows: Rows, settings: LocalSettings, out: Path | None = None) -> Path:
    """Write the environment's report to ``out`` (default: :func:`default_path`), whole or not
    at all, and return its path."""
    path = out or default_path(settings)
    write_atomically(path, render(read_report(rows, settings)))
    log.info("report of %s written to %s", settings.env.value, path)
    return path
