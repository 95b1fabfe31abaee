"""The oracle on tiny hand-written inputs whose expected rows are worked out by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.python.support.oracle import age_bin, date_row, expected_tables, rejection_reason
from tests.python.support.truth import Truth

US = 1_000_000
H = 3600
DAY0 = 1_677_628_800  # 2023-03-01 00:00:00 UTC
AS_OF = date(2023, 3, 10)
PROFILE_NULLS = dict.fromkeys(
    ("first_name", "last_name", "dob", "sex", "gender", "street_address", "city", "state", "zip")
)


def record(topic: str, value: dict | str, offset: int, partition: int = 0) -> dict:
    text = value if isinstance(value, str) else json.dumps(value)
    return {
        "key": None,
        "value": text,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": DAY0,
        "kafka_timestamp": float(DAY0),
        "wave": 1,
        "anomaly": None,
        "files": ["f.jsonl"],
    }


def registration(user_id: int, device_id: int, mac: str, at: str) -> dict:
    return {
        "user_id": user_id,
        "device_id": device_id,
        "mac_address": mac,
        "registration_timestamp": at,
        "channel": "database",
        "anomaly": None,
    }


def tables(
    records: list[dict],
    registrations: list[dict] | None = None,
    bad_lines: list[dict] | None = None,
    as_of: date = AS_OF,
    topics: dict[str, str] | None = None,
) -> dict[str, list[dict]]:
    truth = Truth(records=records, registrations=registrations or [], bad_lines=bad_lines or [])
    return expected_tables(truth, as_of, topics)


def same_rows(actual: list[dict], expected: list[dict]) -> None:
    def key(row: dict) -> str:
        return repr(sorted(row.items()))

    assert sorted(actual, key=key) == sorted(expected, key=key)


# CDC ([rule 3](docs/contract.md#rule-3)) ----------------------------------------------------------
def cdc(user_id: int, update_type: str, ts: float, **fields: Any) -> dict:
    return {"user_id": user_id, "update_type": update_type, "timestamp": ts, **fields}


def full_image(city: str = "Minneapolis", first_name: str = "Ada") -> dict:
    return {
        "first_name": first_name,
        "last_name": "Chen",
        "dob": "02/29/1996",
        "sex": "F",
        "gender": "NB",
        "address": {"street_address": "1 Oak St", "city": city, "state": "MN", "zip": "55401"},
    }


def profile(city: str = "Minneapolis", first_name: str = "Ada") -> dict:
    return {
        "first_name": first_name,
        "last_name": "Chen",
        "dob": date(1996, 2, 29),
        "sex": "F",
        "gender": "NB",
        "street_address": "1 Oak St",
        "city": city,
        "state": "MN",
        "zip": "55401",
    }


def history(
    user_id: int, columns: dict, valid_from: int, valid_to: int | None, deleted: bool = False
) -> dict:
    return {
        "user_id": user_id,
        **columns,
        "valid_from": valid_from * US,
        "valid_to": None if valid_to is None else valid_to * US,
        "is_deleted": deleted,
    }


def test_cdc_late_older_event_takes_its_place_in_time() -> None:
    result = tables(
        [
            record("user_info", cdc(1, "new", 100, **full_image("Minneapolis")), 0),
            record("user_info", cdc(1, "update", 300, **full_image("Fargo")), 1),
            record("user_info", cdc(1, "update", 200.0, **full_image("Madison")), 2),
        ]
    )
    assert result["user_profile_history"] == [
        history(1, profile("Minneapolis"), 100, 200),
        history(1, profile("Madison"), 200, 300),
        history(1, profile("Fargo"), 300, None),
    ]
    assert result["user_profile"] == [{"user_id": 1, **profile("Fargo"), "updated_at": 300 * US}]


def test_cdc_tie_at_same_timestamp_keeps_greatest_partition_then_offset() -> None:
    result = tables(
        [
            record("user_info", cdc(1, "update", 200, **full_image("A")), 5, partition=0),
            record("user_info", cdc(1, "update", 200, **full_image("B")), 0, partition=1),
            record("user_info", cdc(1, "update", 200, **full_image("C")), 7, partition=0),
        ]
    )
    assert result["user_profile_history"] == [history(1, profile("B"), 200, None)]
    assert [p["city"] for p in result["user_profile"]] == ["B"]


def test_cdc_delete_then_recreate_and_delete_last() -> None:
    result = tables(
        [
            record("user_info", cdc(1, "new", 100, **full_image()), 0),
            record("user_info", cdc(1, "delete", 200), 1),
            record("user_info", cdc(1, "new", 300, **full_image(first_name="Ben")), 2),
            record("user_info", cdc(2, "new", 100, **full_image()), 3),
            record("user_info", cdc(2, "delete", 200), 4),
        ]
    )
    same_rows(
        result["user_profile_history"],
        [
            history(1, profile(), 100, 200),
            history(1, PROFILE_NULLS, 200, 300, deleted=True),
            history(1, profile(first_name="Ben"), 300, None),
            history(2, profile(), 100, 200),
            history(2, PROFILE_NULLS, 200, None, deleted=True),
        ],
    )
    assert result["user_profile"] == [
        {"user_id": 1, **profile(first_name="Ben"), "updated_at": 300 * US}
    ]
    assert [b["user_id"] for b in result["user_bins"]] == [1]


def test_update_for_unseen_user_creates_it_with_missing_fields_null() -> None:
    result = tables(
        [
            record(
                "user_info",
                cdc(9, "update", 50, first_name="Ada", address={"city": "Fargo", "zip": 58102.0}),
                0,
            )
        ]
    )
    assert result["user_profile"] == [
        {
            **{"user_id": 9},
            **PROFILE_NULLS,
            "first_name": "Ada",
            "city": "Fargo",
            "zip": "58102",
            "updated_at": 50 * US,
        }
    ]
    assert result["user_bins"] == [
        {"user_id": 9, "age": "invalid age", "gender": None, "city": "Fargo", "state": None}
    ]


# Heart rate ([rule 4](docs/contract.md#rule-4)) ---------------------------------------------------
def bpm(device_id: int, time: float, heartrate: Any = None) -> dict:
    return {"device_id": device_id, "time": time, "heartrate": heartrate}


def test_heart_rate_greatest_partition_offset_wins() -> None:
    result = tables(
        [
            record("bpm", bpm(7, 1000, 80.0), 3, partition=0),
            record("bpm", bpm(7, 1000.0, 70.0), 0, partition=1),
            record("bpm", bpm(7, 1000, 90.0), 1, partition=0),
        ]
    )
    assert result["heart_rate"] == [
        {"device_id": 7, "measured_at": 1000 * US, "heartrate": 70.0, "is_valid": True}
    ]


def test_heart_rate_validity_bounds() -> None:
    values: list[Any] = [0, 0.1, 250, 250.1, None, 72]
    records = [record("bpm", bpm(7, t, v), t) for t, v in enumerate(values)]
    records.append(record("bpm", {"device_id": 7, "time": 6}, 6))
    result = tables(records)
    assert [(r["heartrate"], r["is_valid"]) for r in result["heart_rate"]] == [
        (0.0, False),
        (0.1, True),
        (250.0, True),
        (250.1, False),
        (None, False),
        (72.0, True),
        (None, False),
    ]
    assert all(isinstance(r["heartrate"], float) for r in result["heart_rate"][:4])


# Workouts ([rule 6](docs/contract.md#rule-6)) -----------------------------------------------------
def action(workout_id: int, session_id: int, name: str, ts: Any, user_id: int = 1) -> dict:
    return {
        "user_id": user_id,
        "workout_id": workout_id,
        "session_id": session_id,
        "action": name,
        "timestamp": ts,
    }


def completed(workout_id: int, session_id: int, start: float, end: float, user_id: int = 1) -> dict:
    return {
        "user_id": user_id,
        "workout_id": workout_id,
        "session_id": session_id,
        "start_time": round(start * US),
        "end_time": round(end * US),
    }


def test_workout_pairing() -> None:
    day1 = DAY0 + 24 * H
    events = [
        action(2, 1, "start", DAY0 + 10 * H),
        action(2, 1, "stop", DAY0 + 10 * H + 1800),
        action(2, 1, "start", day1 + 10 * H),
        action(2, 1, "stop", day1 + 10 * H + 2700),
        action(2, 2, "start", DAY0 + 12 * H),
        action(2, 2, "start", DAY0 + 12 * H + 0.5),
        action(2, 2, "stop", DAY0 + 12 * H + 1800),
        action(2, 3, "start", DAY0 + 15 * H),
        action(2, 3, "stop", "1677693600.000001"),
        action(2, 4, "start", DAY0 + 19 * H),
        action(2, 4, "stop", DAY0 + 22 * H),
        action(2, 5, "stop", DAY0 + 23 * H),
        action(3, 1, "start", DAY0 + H),
        action(3, 1, "stop", DAY0 + H + 1800),
        action(3, 1, "start", DAY0 + H + 1800),
        action(3, 1, "stop", DAY0 + 2 * H),
        action(4, 1, "start", DAY0 + 5 * H),
        action(2, 1, "start", float(DAY0 + 10 * H)),  # the same event again: collapses
    ]
    text = [json.dumps(e).replace('"1677693600.000001"', "1677693600.000001") for e in events]
    result = tables([record("workout", t, i) for i, t in enumerate(text)])
    assert len(result["workouts"]) == len(events) - 1
    assert result["completed_workouts"] == [
        completed(2, 1, DAY0 + 10 * H, DAY0 + 10 * H + 1800),
        completed(2, 1, day1 + 10 * H, day1 + 10 * H + 2700),
        completed(2, 2, DAY0 + 12 * H + 0.5, DAY0 + 12 * H + 1800),
        completed(2, 4, DAY0 + 19 * H, DAY0 + 22 * H),
        completed(3, 1, DAY0 + H, DAY0 + H + 1800),
        completed(3, 1, DAY0 + H + 1800, DAY0 + 2 * H),
    ]


# Devices to users (rules [5](docs/contract.md#rule-5) and [7](docs/contract.md#rule-7)) -----------
def test_device_reregistration_assigns_readings() -> None:
    registrations = [
        registration(1, 7, "aa:aa:aa:aa:aa:01", str(DAY0 + H)),
        registration(2, 7, "aa:aa:aa:aa:aa:01", f"{DAY0 + 5 * H}.5"),
    ]
    readings = [
        (7, 20 * 60, 99.0),
        (7, 30 * 60, 100.0),
        (7, H, 300.0),
        (7, 2 * H, 110.0),
        (8, 2 * H, 120.0),
        (7, 4 * H + 1800, 130.0),
        (7, 5 * H + 0.5, 140.0),
        (7, 6 * H, 150.0),
    ]
    records = [record("bpm", bpm(d, DAY0 + t, hr), i) for i, (d, t, hr) in enumerate(readings)]
    records += [
        record("workout", action(1, 1, "start", DAY0 + 20 * 60, user_id=1), 0),
        record("workout", action(1, 1, "stop", DAY0 + 2 * H, user_id=1), 1),
        record("workout", action(1, 1, "start", DAY0 + 4 * H, user_id=2), 2),
        record("workout", action(1, 1, "stop", DAY0 + 6 * H + 1800, user_id=2), 3),
    ]
    result = tables(records, registrations)

    def bpm_row(user_id: int, start: float, end: float, t: float, hr: float) -> dict:
        return {
            **completed(1, 1, DAY0 + start, DAY0 + end, user_id=user_id),
            "device_id": 7,
            "measured_at": round((DAY0 + t) * US),
            "heartrate": hr,
        }

    assert result["workout_bpm"] == [
        bpm_row(1, 20 * 60, 2 * H, 30 * 60, 100.0),
        bpm_row(1, 20 * 60, 2 * H, 2 * H, 110.0),
        bpm_row(2, 4 * H, 6 * H + 1800, 5 * H + 0.5, 140.0),
        bpm_row(2, 4 * H, 6 * H + 1800, 6 * H, 150.0),
    ]


def test_users_dedup_and_fractional_registration_time() -> None:
    result = tables(
        [],
        [
            registration(5, 7, " AA:BB:CC:DD:EE:FF ", "1677000000.1234565"),
            registration(5, 7, "aa:bb:cc:dd:ee:ff", "1677000000.1234565"),
            registration(4, 7, "aa:bb:cc:dd:ee:00", "1677000000.1234565"),
            registration(5, 8, "aa:bb:cc:dd:ee:ff", "1677000000.1234564"),
        ],
    )
    assert result["users"] == [
        {
            "user_id": 4,
            "device_id": 7,
            "mac_address": "aa:bb:cc:dd:ee:00",
            "registered_at": 1_677_000_000_123_457,
        },
        {
            "user_id": 5,
            "device_id": 8,
            "mac_address": "aa:bb:cc:dd:ee:ff",
            "registered_at": 1_677_000_000_123_456,
        },
    ]


# Gym visits ([rule 9](docs/contract.md#rule-9)) ---------------------------------------------------
def visit(mac: str, gym: int, login: float, logout: float | None) -> dict:
    return {"mac_address": mac, "gym": gym, "login": login, "logout": logout}


def test_gym_latest_logout_and_minutes_half_up() -> None:
    mac = "aa:bb:cc:dd:ee:01"
    login = 1_677_628_790  # 2023-02-28 23:59:50 UTC
    records = [
        record("gym_login", visit(" AA:BB:CC:DD:EE:01 ", 3, login, None), 0),
        record("gym_login", visit(mac, 3, login, 1677628850.3), 1),
        record(
            "gym_login",
            {"mac_address": mac, "gym": 3, "login": login + 0.0, "logout": login + 30},
            2,
        ),
        record("gym_login", visit(mac, 4, login + 1000, None), 3),
        record("gym_login", visit("ff:ff:ff:ff:ff:ff", 3, login, login + 60), 4),
        record("workout", action(1, 1, "start", login), 0),
        record("workout", action(1, 1, "stop", 1677628797.5), 1),
        record("workout", action(2, 1, "start", 1677628850.3), 2),
        record("workout", action(2, 1, "stop", 1677628940.3), 3),
        record("workout", action(3, 1, "start", login - 1), 4),
        record("workout", action(3, 1, "stop", login + 10), 5),
    ]
    result = tables(records, [registration(1, 7, mac, str(DAY0 - 10 * 24 * H))])
    assert result["gym_logs"] == [
        {"mac_address": mac, "gym": 3, "login": login * US, "logout": 1_677_628_850_300_000},
        {"mac_address": mac, "gym": 4, "login": (login + 1000) * US, "logout": None},
        {
            "mac_address": "ff:ff:ff:ff:ff:ff",
            "gym": 3,
            "login": login * US,
            "logout": (login + 60) * US,
        },
    ]

    def summary(workout_id: int, exercising: str, start_time: int) -> dict:
        return {
            "date": date(2023, 2, 28),
            "gym": 3,
            "mac_address": mac,
            "user_id": 1,
            "workout_id": workout_id,
            "session_id": 1,
            "minutes_in_gym": Decimal("1.01"),
            "minutes_exercising": Decimal(exercising),
            "login": login * US,
            "start_time": start_time,
        }

    assert result["gym_summary"] == [
        summary(1, "0.13", login * US),
        summary(2, "1.50", 1_677_628_850_300_000),
    ]


# Age bins ([rule 8](docs/contract.md#rule-8)), gold summary ([rule 10](docs/contract.md#rule-10)) -
@pytest.mark.parametrize(
    ("dob", "reference", "label"),
    [
        (date(2000, 2, 29), date(2018, 2, 28), "under 18"),
        (date(2000, 2, 29), date(2018, 3, 1), "18-25"),
        (date(2000, 2, 29), date(2025, 2, 28), "18-25"),
        (date(2000, 2, 29), date(2025, 3, 1), "25-35"),
        (date(2000, 2, 29), date(2024, 2, 29), "18-25"),
        (date(1998, 3, 10), date(2023, 3, 10), "25-35"),
        (date(1998, 3, 11), date(2023, 3, 10), "18-25"),
        (date(1928, 3, 11), date(2023, 3, 10), "85-95"),
        (date(1928, 3, 10), date(2023, 3, 10), "95+"),
        (date(2023, 3, 10), date(2023, 3, 10), "under 18"),
        (date(2023, 3, 11), date(2023, 3, 10), "invalid age"),
        (None, date(2023, 3, 10), "invalid age"),
    ],
)
def test_age_bin(dob: date | None, reference: date, label: str) -> None:
    assert age_bin(dob, reference) == label


def test_user_bins_29_february_birthday() -> None:
    records = [record("user_info", cdc(1, "new", 100, **full_image()), 0)]
    assert tables(records, as_of=date(2014, 2, 28))["user_bins"][0]["age"] == "under 18"
    assert tables(records, as_of=date(2014, 3, 1))["user_bins"][0]["age"] == "18-25"


def test_workout_bpm_summary_uses_start_date_and_current_profile() -> None:
    start, stop = DAY0 + 10 * H, DAY0 + 11 * H
    image = {**full_image(), "dob": "03/01/2005"}
    records = [
        record("user_info", cdc(1, "new", 100, **image), 0),
        record("user_info", cdc(2, "new", 100, **image), 1),
        record("user_info", cdc(2, "delete", 200), 2),
        record("user_info", cdc(3, "new", 100, **image), 3),
    ]
    for user_id in (1, 2, 3):
        records += [
            record("workout", action(1, 1, "start", start, user_id), 2 * user_id),
            record("workout", action(1, 1, "stop", stop, user_id), 2 * user_id + 1),
        ]
    for i, (device, hr) in enumerate([(11, 100.0), (11, 120.5), (11, 141.0), (11, 0), (12, 80)]):
        records.append(record("bpm", bpm(device, start + 60 * (i + 1), hr), i))
    registrations = [
        registration(1, 11, "aa:00:00:00:00:01", "0"),
        registration(2, 12, "aa:00:00:00:00:02", "0"),
        registration(3, 13, "aa:00:00:00:00:03", "0"),
    ]
    result = tables(records, registrations, as_of=date(2023, 2, 28))
    base = {"workout_id": 1, "session_id": 1, "start_time": start * US, "end_time": stop * US}
    assert result["workout_bpm_summary"] == [
        {
            "user_id": 1,
            **base,
            "age": "18-25",
            "gender": "NB",
            "city": "Minneapolis",
            "state": "MN",
            "min_bpm": 100.0,
            "avg_bpm": 120.5,
            "max_bpm": 141.0,
            "num_recordings": 3,
        },
        {
            "user_id": 2,
            **base,
            "age": "invalid age",
            "gender": None,
            "city": None,
            "state": None,
            "min_bpm": 80.0,
            "avg_bpm": 80.0,
            "max_bpm": 80.0,
            "num_recordings": 1,
        },
    ]
    assert [b["age"] for b in result["user_bins"]] == ["under 18", "under 18"]


# date_lookup -------------------------------------------------------------------------------------
def test_date_lookup_sunday_weeks_across_new_year() -> None:
    result = tables(
        [record("bpm", bpm(7, 1640952000, 60.0), 0), record("bpm", bpm(7, 1641081600, 60.0), 1)]
    )
    assert [
        (r["date"], r["dayofweek"], r["dayofyear"], r["week"], r["week_part"])
        for r in result["date_lookup"]
    ] == [
        (date(2021, 12, 31), 6, 365, 53, "2021-53"),
        (date(2022, 1, 1), 7, 1, 1, "2022-1"),
        (date(2022, 1, 2), 1, 2, 2, "2022-2"),
    ]
    assert date_row(date(2023, 3, 10)) == {
        "date": date(2023, 3, 10),
        "week": 10,
        "year": 2023,
        "month": 3,
        "dayofweek": 6,
        "dayofmonth": 10,
        "dayofyear": 69,
        "week_part": "2023-10",
    }


# Rejections ([rule 11](docs/contract.md#rule-11)) -------------------------------------------------
WORKOUT = '"user_id": 1, "workout_id": 1, "session_id": 1'
USER = '"user_id": 1, "update_type": "update", "timestamp": 5'


@pytest.mark.parametrize(
    ("topic", "value", "reason"),
    [
        ("user_info", '{"user_id": 10001, "update_type": "update", ', "malformed_json"),
        ("bpm", '{"device_id": 1, "time": 5, "heartrate": NaN}', "nan"),
        ("bpm", '{"device_id": 1, "time": 5, "heartrate": -Infinity}', "nan"),
        ("bpm", None, "missing_value"),
        ("bpm", '{"device_id": 1, "time": 5, "time": 6}', "duplicate_key"),
        ("bpm", '{"device_id": 1, "time": 5, "x": ' + "[" * 1000 + "]" * 1000 + "}", "too_deep"),
        ("bpm", '{"device_id": 1, "time": 5, "x": ' + "[" * 999 + "]" * 999 + "}", None),
        ("bpm", '{"device_id": 9223372036854775808, "time": 5}', "overflow"),
        ("bpm", '{"device_id": -9223372036854775808, "time": 5}', None),
        ("bpm", '{"device_id": 1, "time": 5, "heartrate": 1e400}', "overflow"),
        ("bpm", '{"device_id": 1, "time": 5, "heartrate": 1e300}', None),
        ("bpm", '{"device_id": 1, "time": 253402300800}', "out_of_range"),
        ("bpm", '{"device_id": 1, "time": 253402300799.999999}', None),
        ("bpm", '{"device_id": 1, "time": -62135596800}', None),
        ("bpm", '{"device_id": 1, "time": -62135596800.000001}', "out_of_range"),
        ("workout", "{" + WORKOUT + ', "action": "stop", "timestamp": 1e30}', "out_of_range"),
        ("gym_login", '{"mac_address": "a", "gym": 1, "login": 5, "logout": 1e20}', "out_of_range"),
        ("gym_login", '{"mac_address": "a", "gym": 1e19, "login": 5}', "wrong_type"),
        ("bpm", "[72.0]", "not_object"),
        ("bpm", '"text"', "not_object"),
        ("workout", "{" + WORKOUT + ', "timestamp": 5}', "missing_field"),
        ("workout", "{" + WORKOUT + ', "action": "pause"}', "missing_field"),
        ("user_info", '{"user_id": 1, "update_type": null, "timestamp": 5}', "missing_field"),
        (
            "user_info",
            '{"user_id": "10001", "update_type": "update", "timestamp": 5}',
            "wrong_type",
        ),
        ("user_info", '{"user_id": "10001", "timestamp": 5}', "wrong_type"),
        ("bpm", '{"device_id": 1.5, "time": 5}', "wrong_type"),
        ("bpm", '{"device_id": 1e3, "time": 5}', "wrong_type"),
        ("bpm", '{"device_id": 1, "time": "5"}', "wrong_type"),
        ("bpm", '{"device_id": 1, "time": true}', "wrong_type"),
        ("bpm", '{"device_id": 1, "time": 5, "heartrate": "72.0"}', "wrong_type"),
        ("gym_login", '{"mac_address": "a", "gym": true, "login": 5}', "wrong_type"),
        ("gym_login", '{"mac_address": 5, "gym": 1, "login": 5}', "wrong_type"),
        ("user_info", "{" + USER + ', "first_name": 5}', "wrong_type"),
        ("user_info", "{" + USER + ', "address": "1 Oak St"}', "wrong_type"),
        ("user_info", "{" + USER + ', "address": {"zip": 55401.5}}', "wrong_type"),
        ("user_info", '{"user_id": 1, "update_type": "upsert", "timestamp": 5}', "unknown_enum"),
        (
            "user_info",
            '{"user_id": 1, "update_type": "upsert", "timestamp": 5, "dob": "x"}',
            "unknown_enum",
        ),
        ("workout", "{" + WORKOUT + ', "action": "pause", "timestamp": 5}', "unknown_enum"),
        ("workout", "{" + WORKOUT + ', "action": "START", "timestamp": 5}', "unknown_enum"),
        ("user_info", "{" + USER + ', "dob": "31/12/1990"}', "bad_date"),
        ("user_info", "{" + USER + ', "dob": "02/29/2001"}', "bad_date"),
        ("user_info", "{" + USER + ', "dob": "1/2/1990"}', "bad_date"),
        ("user_info", "{" + USER + ', "dob": "02/29/2000", "address": {"zip": 55401}}', None),
        ("user_info", "{" + USER + ', "dob": null, "address": null, "extra": [1]}', None),
        ("bpm", '{"device_id": 7.0, "time": 1.6e9, "heartrate": 72}', None),
        ("gym_login", '{"mac_address": "a", "gym": 1, "login": 5, "logout": null}', None),
    ],
)
def test_rejection_reason(topic: str, value: str | None, reason: str | None) -> None:
    assert rejection_reason(topic, value)[0] == reason


def test_rejected_events_rows() -> None:
    bad = record("bpm", "[72.0]", 4, partition=2)
    result = tables(
        [
            bad,
            dict(bad),
            record("gps", {"device_id": 1}, 0),
            record("bpm", bpm(7, 5, 60.0), 9),
            record("watch-bpm", bpm(7, 6, 61.0), 1),
        ],
        bad_lines=[{"file": "f.jsonl", "line": "this line is not a Kafka record"}],
        topics={
            "user_info": "user_info",
            "bpm": "watch-bpm",
            "workout": "workout",
            "gym_login": "gym_login",
        },
    )
    same_rows(
        result["rejected_events"],
        [
            {
                "source": "landing",
                "topic": None,
                "partition": None,
                "offset": None,
                "value": "this line is not a Kafka record",
                "reason_class": "not_kafka_record",
            },
            {
                "source": "kafka",
                "topic": "bpm",
                "partition": 2,
                "offset": 4,
                "value": "[72.0]",
                "reason_class": "unknown_topic",
            },
            {
                "source": "kafka",
                "topic": "gps",
                "partition": 0,
                "offset": 0,
                "value": '{"device_id": 1}',
                "reason_class": "unknown_topic",
            },
            {
                "source": "kafka",
                "topic": "bpm",
                "partition": 0,
                "offset": 9,
                "value": json.dumps(bpm(7, 5, 60.0)),
                "reason_class": "unknown_topic",
            },
        ],
    )
    assert [r["measured_at"] for r in result["heart_rate"]] == [6 * US]


def test_rejected_record_counts_once_per_identity() -> None:
    bad = record("bpm", "[72.0]", 4, partition=2)
    result = tables([bad, dict(bad, files=["g.jsonl"]), record("bpm", "[72.0]", 5, partition=2)])
    assert [(r["offset"], r["reason_class"]) for r in result["rejected_events"]] == [
        (4, "not_object"),
        (5, "not_object"),
    ]
