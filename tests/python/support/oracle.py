"""Independent oracle: the silver and gold tables the contract expects from the simulator's truth.

Written from docs (docs/contract.md and docs/decisions.md) only, never from the dbt models, in
plain Python: every timestamp is an int of UTC epoch microseconds, dates are ``datetime.date``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from tests.python.support.truth import Truth

Row = dict[str, Any]
Tables = dict[str, list[Row]]

DEFAULT_TOPICS = {
    "user_info": "user_info",
    "bpm": "bpm",
    "workout": "workout",
    "gym_login": "gym_login",
}
MAX_WORKOUT_US = 3 * 3600 * 1_000_000
BPM_MIN_EXCLUSIVE = 0.0
BPM_MAX_INCLUSIVE = 250.0
MICROS_PER_MINUTE = Decimal(60_000_000)
CENT = Decimal("0.01")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PROFILE_COLUMNS = (
    "first_name",
    "last_name",
    "dob",
    "sex",
    "gender",
    "street_address",
    "city",
    "state",
    "zip",
)
AGE_BINS = (
    (18, "under 18"),
    (25, "18-25"),
    (35, "25-35"),
    (45, "35-45"),
    (55, "45-55"),
    (65, "55-65"),
    (75, "65-75"),
    (85, "75-85"),
    (95, "85-95"),
)
INVALID_AGE = "invalid age"

# (path, kind, required) per logical topic, checked in this order
# ([rule 11](docs/contract.md#rule-11)).
TOPIC_FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "user_info": [
        ("user_id", "integer", True),
        ("update_type", "string", True),
        ("timestamp", "number", True),
        ("dob", "string", False),
        ("first_name", "string", False),
        ("last_name", "string", False),
        ("sex", "string", False),
        ("gender", "string", False),
        ("address", "object", False),
        ("address.street_address", "string", False),
        ("address.city", "string", False),
        ("address.state", "string", False),
        ("address.zip", "string_or_integer", False),
    ],
    "bpm": [
        ("device_id", "integer", True),
        ("time", "number", True),
        ("heartrate", "number", False),
    ],
    "workout": [
        ("user_id", "integer", True),
        ("workout_id", "integer", True),
        ("session_id", "integer", True),
        ("action", "string", True),
        ("timestamp", "number", True),
    ],
    "gym_login": [
        ("mac_address", "string", True),
        ("gym", "integer", True),
        ("login", "number", True),
        ("logout", "number", False),
    ],
}
ENUMS: dict[str, list[tuple[str, frozenset[str]]]] = {
    "user_info": [("update_type", frozenset({"new", "update", "delete"}))],
    "workout": [("action", frozenset({"start", "stop"}))],
}
DATE_FIELDS: dict[str, list[str]] = {"user_info": ["dob"]}
DOB_PATTERN = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
EPOCH_FIELDS = {"time", "timestamp", "login", "logout"}
BIGINT = (-(2**63), 2**63 - 1)
#: The timestamp range ([rule 11](docs/contract.md#rule-11)): 0001-01-01 to 9999-12-31 UTC, in epoch
#: microseconds.
TIMESTAMP_MICROS = (-62_135_596_800_000_000, 253_402_300_799_999_999)
MAX_JSON_DEPTH = 1000


# JSON values ------------------------------------------------------------------------------------
class _ExponentDecimal(Decimal):
    """A JSON number written with an exponent (``1e3``): a number, never an integer."""


def _parse_float(text: str) -> Decimal:
    return _ExponentDecimal(text) if "e" in text.lower() else Decimal(text)


class JsonProblem(ValueError):
    """Why a text is not strict JSON: its reason class."""


def _reject_constant(text: str) -> Any:
    raise JsonProblem("nan")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    if len({k for k, _ in pairs}) < len(pairs):
        raise JsonProblem("duplicate_key")
    return dict(pairs)


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets inside strings do not
    count), without parsing it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_value(text: str) -> Any:
    """The value JSON with exact decimals; JsonProblem (with its class) when not strict JSON."""
    if nesting_depth(text) > MAX_JSON_DEPTH:
        raise JsonProblem("too_deep")
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * MAX_JSON_DEPTH))
    try:
        return json.loads(
            text,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except JsonProblem:
        raise
    except ValueError as exc:
        raise JsonProblem("malformed_json") from exc
    finally:
        sys.setrecursionlimit(limit)


def is_number(value: Any) -> bool:
    return isinstance(value, int | Decimal) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    if isinstance(value, bool | _ExponentDecimal):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value == value.to_integral_value()


KIND_CHECKS: dict[str, Callable[[Any], bool]] = {
    "integer": is_integer,
    "number": is_number,
    "string": lambda v: isinstance(v, str),
    "string_or_integer": lambda v: isinstance(v, str) or is_integer(v),
    "object": lambda v: isinstance(v, dict),
}


def field(obj: dict, path: str) -> Any:
    """The value at a dotted path; None when absent or null (a missing field)."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_dob(text: str) -> date | None:
    """A strict ``MM/dd/yyyy`` calendar date, else None."""
    match = DOB_PATTERN.fullmatch(text)
    if match is None:
        return None
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def epoch_micros(seconds: int | Decimal | str) -> int:
    """Epoch seconds (number or its text) to microseconds, rounded half up."""
    with localcontext() as ctx:
        ctx.prec = 100
        micros = (Decimal(seconds) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(micros)


def utc_date(micros: int) -> date:
    return (EPOCH + timedelta(microseconds=micros)).date()


def minutes(micros: int) -> Decimal:
    return (Decimal(micros) / MICROS_PER_MINUTE).quantize(CENT, rounding=ROUND_HALF_UP)


# Rejection ([rule 11](docs/contract.md#rule-11)) --------------------------------------------------
def out_of_range(path: str, kind: str, value: Any) -> str | None:
    """The reason class of a well-typed number its column cannot hold, or None: a time outside
    the timestamp range, an integer id beyond bigint, a number beyond double."""
    if kind == "number" and path.rsplit(".", 1)[-1] in EPOCH_FIELDS:
        with localcontext() as ctx:
            ctx.prec = 100
            micros = (Decimal(value) * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        inside = TIMESTAMP_MICROS[0] <= micros <= TIMESTAMP_MICROS[1]
        return None if inside else "out_of_range"
    if kind == "integer" and not BIGINT[0] <= int(value) <= BIGINT[1]:
        return "overflow"
    if kind == "number" and math.isinf(float(value)):
        return "overflow"
    return None


def rejection_reason(topic: str, text: str | None) -> tuple[str | None, Any]:
    """(reason_class or None, parsed value) of a value of a known logical topic."""
    if text is None:
        return "missing_value", None
    try:
        obj = parse_value(text)
    except JsonProblem as problem:
        return str(problem), None
    if not isinstance(obj, dict):
        return "not_object", obj
    for path, kind, required in TOPIC_FIELDS[topic]:
        value = field(obj, path)
        if value is None:
            if required:
                return "missing_field", obj
        elif not KIND_CHECKS[kind](value):
            return "wrong_type", obj
        elif (reason := out_of_range(path, kind, value)) is not None:
            return reason, obj
    for path, allowed in ENUMS.get(topic, []):
        if field(obj, path) not in allowed:
            return "unknown_enum", obj
    for path in DATE_FIELDS.get(topic, []):
        value = field(obj, path)
        if value is not None and parse_dob(value) is None:
            return "bad_date", obj
    return None, obj


def content_hash(key: str | None, value: str | None) -> str:
    """[Rule 1](docs/contract.md#rule-1)'s content hash: SHA-256 of ``<key length in bytes>:<key>``
    (``-`` for no key) followed by ``v<value>`` (``-`` for no value)."""
    head = "-" if key is None else f"{len(key.encode())}:{key}"
    tail = "-" if value is None else f"v{value}"
    return hashlib.sha256((head + tail).encode()).hexdigest()


def record_id(record: Row) -> str:
    """[Rule 1](docs/contract.md#rule-1)'s identity of a Kafka record: coordinates plus content."""
    coordinates = f"{record['topic']}/{record['partition']}/{record['offset']}"
    return f"{coordinates}/{content_hash(record.get('key'), record.get('value'))}"


def unique_records(records: Iterable[Row]) -> list[Row]:
    """One record per identity ([rule 1](docs/contract.md#rule-1)): the same coordinates, key and
    value are one record; another key or value at the same coordinates is another record."""
    seen: dict[str, Row] = {}
    for record in records:
        seen.setdefault(record_id(record), {**record, "record_id": record_id(record)})
    return list(seen.values())


def _rejected_row(source: str, record: Row | None, value: str, reason: str) -> Row:
    where = (
        (None, None, None)
        if record is None
        else (record["topic"], record["partition"], record["offset"])
    )
    return {
        "record_id": None if record is None else record["record_id"],
        "source": source,
        "topic": where[0],
        "partition": where[1],
        "offset": where[2],
        "value": value,
        "reason_class": reason,
    }


Accepted = dict[str, list[tuple[Row, dict]]]


def classify(truth: Truth, topics: dict[str, str]) -> tuple[Accepted, list[Row]]:
    """Accepted (record, parsed value) pairs per logical topic, and rejected_events rows."""
    logical = {name: topic for topic, name in topics.items()}
    accepted: Accepted = {topic: [] for topic in TOPIC_FIELDS}
    rejected = [
        _rejected_row("landing", None, bad["line"], "not_kafka_record") for bad in truth.bad_lines
    ]
    for record in unique_records(truth.records):
        topic = logical.get(record["topic"])
        if topic is None:
            rejected.append(_rejected_row("kafka", record, record["value"], "unknown_topic"))
            continue
        reason, obj = rejection_reason(topic, record["value"])
        if reason is None:
            accepted[topic].append((record, obj))
        else:
            rejected.append(_rejected_row("kafka", record, record["value"], reason))
    return accepted, rejected


def _position(record: Row) -> tuple[int, int, str]:
    """Rules [3](docs/contract.md#rule-3) and [4](docs/contract.md#rule-4)'s order of records:
    partition, offset, then (records sharing coordinates)
    the record identity."""
    return record["partition"], record["offset"], record["record_id"]


# Silver -----------------------------------------------------------------------------------------
def build_users(registrations: Iterable[Row]) -> list[Row]:
    best: dict[tuple[int, int], Row] = {}
    for reg in registrations:
        row = {
            "user_id": int(reg["user_id"]),
            "device_id": int(reg["device_id"]),
            "mac_address": reg["mac_address"].strip().lower(),
            "registered_at": epoch_micros(str(reg["registration_timestamp"]).strip()),
        }
        key = (row["device_id"], row["registered_at"])
        old = best.get(key)
        if old is None or (row["user_id"], row["mac_address"]) < (
            old["user_id"],
            old["mac_address"],
        ):
            best[key] = row
    return list(best.values())


def build_heart_rate(events: list[tuple[Row, dict]]) -> list[Row]:
    latest: dict[tuple[int, int], tuple[tuple[int, int, str], Row]] = {}
    for record, obj in events:
        heartrate = None if obj.get("heartrate") is None else float(obj["heartrate"])
        row = {
            "device_id": int(obj["device_id"]),
            "measured_at": epoch_micros(obj["time"]),
            "heartrate": heartrate,
            "is_valid": heartrate is not None
            and BPM_MIN_EXCLUSIVE < heartrate <= BPM_MAX_INCLUSIVE,
        }
        key = (row["device_id"], row["measured_at"])
        if key not in latest or _position(record) > latest[key][0]:
            latest[key] = (_position(record), row)
    return [row for _, row in latest.values()]


def build_workouts(events: list[tuple[Row, dict]]) -> list[Row]:
    rows = {
        (
            int(o["user_id"]),
            int(o["workout_id"]),
            int(o["session_id"]),
            o["action"],
            epoch_micros(o["timestamp"]),
        )
        for _, o in events
    }
    names = ("user_id", "workout_id", "session_id", "action", "event_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _completions(starts: list[int], stops: list[int]) -> list[tuple[int, int]]:
    """(start, end) pairs of [rule 6](docs/contract.md#rule-6) for one workout key; both lists
    sorted and distinct."""
    pairs = []
    for start in starts:
        i = bisect_right(stops, start)
        if i == len(stops):
            continue
        stop = stops[i]
        next_start = bisect_right(starts, start)
        blocked = next_start < len(starts) and starts[next_start] < stop
        if stop - start <= MAX_WORKOUT_US and not blocked:
            pairs.append((start, stop))
    return pairs


def build_completed_workouts(workouts: list[Row]) -> list[Row]:
    times: dict[tuple[int, int, int], dict[str, set[int]]] = defaultdict(
        lambda: {"start": set(), "stop": set()}
    )
    for w in workouts:
        times[(w["user_id"], w["workout_id"], w["session_id"])][w["action"]].add(w["event_at"])
    rows = []
    for (user_id, workout_id, session_id), actions in times.items():
        for start, end in _completions(sorted(actions["start"]), sorted(actions["stop"])):
            rows.append(
                {
                    "user_id": user_id,
                    "workout_id": workout_id,
                    "session_id": session_id,
                    "start_time": start,
                    "end_time": end,
                }
            )
    return rows


def _profile_image(obj: dict) -> Row:
    zip_code = field(obj, "address.zip")
    dob = obj.get("dob")
    return {
        "first_name": obj.get("first_name"),
        "last_name": obj.get("last_name"),
        "dob": None if dob is None else parse_dob(dob),
        "sex": obj.get("sex"),
        "gender": obj.get("gender"),
        "street_address": field(obj, "address.street_address"),
        "city": field(obj, "address.city"),
        "state": field(obj, "address.state"),
        "zip": None
        if zip_code is None
        else str(zip_code if isinstance(zip_code, str) else int(zip_code)),
    }


def build_user_profile_history(events: list[tuple[Row, dict]]) -> list[Row]:
    state: dict[tuple[int, int], tuple[tuple[int, int, str], dict]] = {}
    for record, obj in events:
        key = (int(obj["user_id"]), epoch_micros(obj["timestamp"]))
        if key not in state or _position(record) > state[key][0]:
            state[key] = (_position(record), obj)
    by_user: dict[int, list[tuple[int, dict]]] = defaultdict(list)
    for (user_id, valid_from), (_, obj) in state.items():
        by_user[user_id].append((valid_from, obj))
    rows = []
    for user_id, events_of_user in by_user.items():
        events_of_user.sort(key=lambda e: e[0])
        for i, (valid_from, obj) in enumerate(events_of_user):
            deleted = obj["update_type"] == "delete"
            image = dict.fromkeys(PROFILE_COLUMNS) if deleted else _profile_image(obj)
            valid_to = events_of_user[i + 1][0] if i + 1 < len(events_of_user) else None
            rows.append(
                {
                    "user_id": user_id,
                    **image,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "is_deleted": deleted,
                }
            )
    return rows


def build_user_profile(history: list[Row]) -> list[Row]:
    return [
        {
            "user_id": h["user_id"],
            **{c: h[c] for c in PROFILE_COLUMNS},
            "updated_at": h["valid_from"],
        }
        for h in history
        if h["valid_to"] is None and not h["is_deleted"]
    ]


def build_gym_logs(events: list[tuple[Row, dict]]) -> list[Row]:
    logouts: dict[tuple[str, int, int], int | None] = {}
    for _, obj in events:
        key = (obj["mac_address"].strip().lower(), int(obj["gym"]), epoch_micros(obj["login"]))
        logout = None if obj.get("logout") is None else epoch_micros(obj["logout"])
        known = [t for t in (logouts.get(key), logout) if t is not None]
        logouts[key] = max(known) if known else None
    return [
        {"mac_address": mac, "gym": gym, "login": login, "logout": logout}
        for (mac, gym, login), logout in logouts.items()
    ]


class Assignment:
    """[Rule 5](docs/contract.md#rule-5): the registration of a device (or mac) latest at or before
    a time."""

    def __init__(self, users: list[Row], by: str) -> None:
        owners: dict[Any, dict[int, int]] = defaultdict(dict)
        for u in users:
            at = owners[u[by]]
            at[u["registered_at"]] = min(at.get(u["registered_at"], u["user_id"]), u["user_id"])
        self._times = {k: sorted(v) for k, v in owners.items()}
        self._owners = {k: [v[t] for t in self._times[k]] for k, v in owners.items()}

    def user_at(self, key: Any, micros: int) -> int | None:
        times = self._times.get(key)
        if not times:
            return None
        return self._owners[key][max(bisect_right(times, micros) - 1, 0)]


def build_workout_bpm(completed: list[Row], heart_rate: list[Row], users: list[Row]) -> list[Row]:
    devices = Assignment(users, "device_id")
    readings: dict[int, list[Row]] = defaultdict(list)
    for r in heart_rate:
        user_id = devices.user_at(r["device_id"], r["measured_at"])
        if r["is_valid"] and user_id is not None:
            readings[user_id].append(r)
    for rows in readings.values():
        rows.sort(key=lambda r: r["measured_at"])
    rows = []
    for w in completed:
        of_user = readings.get(w["user_id"], [])
        times = [r["measured_at"] for r in of_user]
        first = bisect_right(times, w["start_time"])
        last = bisect_right(times, w["end_time"])
        for r in of_user[first:last]:
            rows.append(
                {
                    **w,
                    "device_id": r["device_id"],
                    "measured_at": r["measured_at"],
                    "heartrate": r["heartrate"],
                }
            )
    return rows


def age_years(dob: date | None, reference: date) -> int | None:
    """[Rule 8](docs/contract.md#rule-8): full years of dob on the reference date, or None."""
    if dob is None or dob > reference:
        return None
    return reference.year - dob.year - ((reference.month, reference.day) < (dob.month, dob.day))


def age_bin(dob: date | None, reference: date) -> str:
    """[Rule 8](docs/contract.md#rule-8): the age bin label of dob on the reference date."""
    age = age_years(dob, reference)
    if age is None:
        return INVALID_AGE
    for upper, label in AGE_BINS:
        if age < upper:
            return label
    return "95+"


def build_user_bins(profiles: list[Row], as_of_date: date) -> list[Row]:
    return [
        {
            "user_id": p["user_id"],
            "age": age_bin(p["dob"], as_of_date),
            "gender": p["gender"],
            "city": p["city"],
            "state": p["state"],
        }
        for p in profiles
    ]


def _sunday_week(day: date) -> int:
    jan1_dow = date(day.year, 1, 1).isoweekday() % 7 + 1
    return (day.timetuple().tm_yday + jan1_dow - 2) // 7 + 1


def date_row(day: date) -> Row:
    week = _sunday_week(day)
    return {
        "date": day,
        "week": week,
        "year": day.year,
        "month": day.month,
        "dayofweek": day.isoweekday() % 7 + 1,
        "dayofmonth": day.day,
        "dayofyear": day.timetuple().tm_yday,
        "week_part": f"{day.year}-{week}",
    }


def build_date_lookup(heart_rate: list[Row], workouts: list[Row], gym_logs: list[Row]) -> list[Row]:
    stamps = (
        [r["measured_at"] for r in heart_rate]
        + [w["event_at"] for w in workouts]
        + [g["login"] for g in gym_logs]
        + [g["logout"] for g in gym_logs if g["logout"] is not None]
    )
    if not stamps:
        return []
    first, last = utc_date(min(stamps)), utc_date(max(stamps))
    return [date_row(first + timedelta(days=n)) for n in range((last - first).days + 1)]


# Gold -------------------------------------------------------------------------------------------
def build_workout_bpm_summary(workout_bpm: list[Row], profiles: list[Row]) -> list[Row]:
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in workout_bpm:
        groups[(r["user_id"], r["workout_id"], r["session_id"], r["start_time"])].append(r)
    current = {p["user_id"]: p for p in profiles}
    rows = []
    for (user_id, workout_id, session_id, start_time), readings in groups.items():
        bpms = [r["heartrate"] for r in readings]
        profile = current.get(user_id, {})
        rows.append(
            {
                "user_id": user_id,
                "workout_id": workout_id,
                "session_id": session_id,
                "start_time": start_time,
                "end_time": readings[0]["end_time"],
                "age": age_bin(profile.get("dob"), utc_date(start_time)),
                "gender": profile.get("gender"),
                "city": profile.get("city"),
                "state": profile.get("state"),
                "min_bpm": min(bpms),
                "avg_bpm": sum(bpms) / len(bpms),
                "max_bpm": max(bpms),
                "num_recordings": len(bpms),
            }
        )
    return rows


def build_gym_summary(gym_logs: list[Row], completed: list[Row], users: list[Row]) -> list[Row]:
    macs = Assignment(users, "mac_address")
    by_user: dict[int, list[Row]] = defaultdict(list)
    for w in completed:
        by_user[w["user_id"]].append(w)
    for rows in by_user.values():
        rows.sort(key=lambda w: w["start_time"])
    out = []
    for visit in gym_logs:
        user_id = macs.user_at(visit["mac_address"], visit["login"])
        if visit["logout"] is None or user_id is None:
            continue
        workouts = by_user.get(user_id, [])
        starts = [w["start_time"] for w in workouts]
        first = bisect_left(starts, visit["login"])
        last = bisect_right(starts, visit["logout"])
        for w in workouts[first:last]:
            out.append(
                {
                    "date": utc_date(visit["login"]),
                    "gym": visit["gym"],
                    "mac_address": visit["mac_address"],
                    "user_id": user_id,
                    "workout_id": w["workout_id"],
                    "session_id": w["session_id"],
                    "minutes_in_gym": minutes(visit["logout"] - visit["login"]),
                    "minutes_exercising": minutes(w["end_time"] - w["start_time"]),
                    "login": visit["login"],
                    "start_time": w["start_time"],
                }
            )
    return out


#: Upper bounds of zones 0..4 as fractions of the maximum heart rate; zone 5 is the rest.
ZONE_BOUNDS = (0.5, 0.6, 0.7, 0.8, 0.9)
MAX_READING_MICROS = 10_000_000


def build_workout_hr_zones(workout_bpm: list[Row], profiles: list[Row]) -> list[Row]:
    """[Rule 15](docs/contract.md#rule-15), reading by reading."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in workout_bpm:
        groups[(r["user_id"], r["workout_id"], r["session_id"], r["start_time"])].append(r)
    dobs = {p["user_id"]: p["dob"] for p in profiles}
    rows = []
    for (user_id, workout_id, session_id, start_time), readings in groups.items():
        readings.sort(key=lambda r: (r["measured_at"], r["device_id"]))
        end_time = readings[0]["end_time"]
        age = age_years(dobs.get(user_id), utc_date(start_time))
        max_hr = None if age is None else 208.0 - 0.7 * age
        micros = [0] * 6
        previous = start_time
        for r in readings:
            held = min(r["measured_at"] - previous, MAX_READING_MICROS)
            previous = r["measured_at"]
            if max_hr is not None:
                ratio = r["heartrate"] / max_hr
                micros[sum(ratio >= bound for bound in ZONE_BOUNDS)] += held
        zones = {f"seconds_zone_{k}": Decimal(micros[k]) / 1_000_000 for k in range(6)}
        coverage = Decimal(len(readings)) * 1_000_000 / Decimal(end_time - start_time)
        rows.append(
            {
                "user_id": user_id,
                "workout_id": workout_id,
                "session_id": session_id,
                "start_time": start_time,
                "end_time": end_time,
                "age": age,
                "max_hr": max_hr,
                **(dict.fromkeys(zones) if max_hr is None else zones),
                "trimp": None if max_hr is None else minutes(sum(k * micros[k] for k in range(6))),
                "coverage": coverage.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP),
            }
        )
    return rows


def build_gym_daily_utilization(gym_logs: list[Row]) -> list[Row]:
    """[Rule 16](docs/contract.md#rule-16), by a sweep over each gym day's visits."""
    days: dict[tuple[int, date], list[Row]] = defaultdict(list)
    for visit in gym_logs:
        if visit["logout"] is not None:
            days[(visit["gym"], utc_date(visit["login"]))].append(visit)
    out = []
    for (gym, day), visits in days.items():
        # leaving before entering at one instant: inside over [login, logout)
        moments = sorted([(v["login"], 1) for v in visits] + [(v["logout"], -1) for v in visits])
        inside = peak = 0
        for _, change in moments:
            inside += change
            peak = max(peak, inside)
        out.append(
            {
                "gym": gym,
                "date": day,
                "visits": len(visits),
                "members": len({v["mac_address"] for v in visits}),
                "minutes_in_gym": minutes(sum(v["logout"] - v["login"] for v in visits)),
                "peak_occupancy": peak,
            }
        )
    return out


# Ledger ([rule 14](docs/contract.md#rule-14)) -----------------------------------------------------
#: Per logical topic: the silver table, the key that decides which record silver keeps, and
#: whether the latest (rules [3](docs/contract.md#rule-3), [4](docs/contract.md#rule-4)) or the
#: first (rules [2](docs/contract.md#rule-2), [6](docs/contract.md#rule-6),
#: [9](docs/contract.md#rule-9)) by position is kept.
LEDGER_KEYS: dict[str, tuple[str, Callable[[Row, dict], tuple], bool]] = {
    "bpm": ("heart_rate", lambda r, o: (int(o["device_id"]), epoch_micros(o["time"])), True),
    "user_info": (
        "user_profile_history",
        lambda r, o: (int(o["user_id"]), epoch_micros(o["timestamp"])),
        True,
    ),
    "workout": (
        "workouts",
        lambda r, o: (
            int(o["user_id"]),
            int(o["workout_id"]),
            int(o["session_id"]),
            o["action"],
            epoch_micros(o["timestamp"]),
        ),
        False,
    ),
    "gym_login": ("gym_logs", lambda r, o: (r["key"], r["value"]), False),
}


def build_record_ledger(accepted: Accepted, rejected: list[Row], records: list[Row]) -> list[Row]:
    """Each Kafka record's disposition (landing lines that are not records are left out)."""
    rows = []
    rejected_ids = {r["record_id"] for r in rejected if r.get("record_id")}
    sharing = defaultdict(set)
    for record in records:
        sharing[(record["topic"], record["partition"], record["offset"])].add(record["record_id"])

    def row(record: Row, disposition: str, table: str | None, kept: str | None) -> Row:
        coordinates = (record["topic"], record["partition"], record["offset"])
        return {
            "record_id": record["record_id"],
            "disposition": disposition,
            "silver_table": table,
            "kept_record_id": kept,
            "is_coordinate_conflict": len(sharing[coordinates]) > 1,
        }

    for record in records:
        if record["record_id"] in rejected_ids:
            rows.append(row(record, "rejected", None, None))
    for topic, events in accepted.items():
        table, key_of, latest_wins = LEDGER_KEYS[topic]
        kept: dict[tuple, Row] = {}
        for record, obj in events:
            key = key_of(record, obj)
            old = kept.get(key)
            if old is None or (_position(record) > _position(old)) == latest_wins:
                kept[key] = record
        for record, obj in events:
            winner = kept[key_of(record, obj)]
            if winner is record:
                rows.append(row(record, "accepted", table, None))
                continue
            same = (winner["key"], winner["value"]) == (record["key"], record["value"])
            disposition = "duplicate" if same or topic == "workout" else "superseded"
            rows.append(row(record, disposition, table, winner["record_id"]))
    return rows


# Entry point ------------------------------------------------------------------------------------
GRAINS: dict[str, tuple[str, ...]] = {
    "users": ("device_id", "registered_at"),
    "user_profile": ("user_id",),
    "user_profile_history": ("user_id", "valid_from"),
    "heart_rate": ("device_id", "measured_at"),
    "workouts": ("user_id", "workout_id", "session_id", "action", "event_at"),
    "completed_workouts": ("user_id", "workout_id", "session_id", "start_time"),
    "workout_bpm": (
        "user_id",
        "workout_id",
        "session_id",
        "start_time",
        "device_id",
        "measured_at",
    ),
    "gym_logs": ("mac_address", "gym", "login"),
    "user_bins": ("user_id",),
    "date_lookup": ("date",),
    "rejected_events": ("source", "topic", "partition", "offset"),
    "record_ledger": ("record_id",),
    "workout_bpm_summary": ("user_id", "workout_id", "session_id", "start_time"),
    "gym_summary": ("date", "gym", "mac_address", "user_id", "workout_id", "session_id"),
    "gym_daily_utilization": ("gym", "date"),
    "workout_hr_zones": ("user_id", "workout_id", "session_id", "start_time"),
}


def _sort_key(columns: tuple[str, ...]) -> Callable[[Row], tuple]:
    """Rows by their grain, then by every column; None first, never compared with a value."""

    def key(row: Row) -> tuple:
        values = [row.get(c) for c in columns] + list(row.values())
        return tuple((value is not None, 0 if value is None else value) for value in values)

    return key


def expected_tables(truth: Truth, as_of_date: date, topics: dict[str, str] | None = None) -> Tables:
    """Every silver and gold table the contract expects from ``truth``, rows sorted."""
    accepted, rejected = classify(truth, {**DEFAULT_TOPICS, **(topics or {})})
    users = build_users(truth.registrations)
    heart_rate = build_heart_rate(accepted["bpm"])
    workouts = build_workouts(accepted["workout"])
    completed = build_completed_workouts(workouts)
    history = build_user_profile_history(accepted["user_info"])
    profiles = build_user_profile(history)
    gym_logs = build_gym_logs(accepted["gym_login"])
    workout_bpm = build_workout_bpm(completed, heart_rate, users)
    tables = {
        "users": users,
        "user_profile": profiles,
        "user_profile_history": history,
        "heart_rate": heart_rate,
        "workouts": workouts,
        "completed_workouts": completed,
        "workout_bpm": workout_bpm,
        "gym_logs": gym_logs,
        "user_bins": build_user_bins(profiles, as_of_date),
        "date_lookup": build_date_lookup(heart_rate, workouts, gym_logs),
        "rejected_events": [{k: v for k, v in row.items() if k != "record_id"} for row in rejected],
        "record_ledger": build_record_ledger(accepted, rejected, unique_records(truth.records)),
        "workout_bpm_summary": build_workout_bpm_summary(workout_bpm, profiles),
        "gym_summary": build_gym_summary(gym_logs, completed, users),
        "gym_daily_utilization": build_gym_daily_utilization(gym_logs),
        "workout_hr_zones": build_workout_hr_zones(workout_bpm, profiles),
    }
    return {name: sorted(rows, key=_sort_key(GRAINS[name])) for name, rows in tables.items()}
