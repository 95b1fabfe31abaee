"""Generate the five data sets of the contract from a seed (pure: no I/O).

The data set covers ``days`` days split into ``waves`` arrival waves. Every Kafka record gets the
wave in which it arrives: the wave of its event time, or a later one for late events. Offsets are
assigned per (topic, partition) in arrival order, as a broker would.
"""

from __future__ import annotations

import json
import math
import random
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from ingestion.settings import Topics

DAY = 86_400.0
FIRST_NAMES = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Gita",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Liam",
    "Mei",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sami",
    "Tess",
]
LAST_NAMES = [
    "Abbott",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jones",
    "Kowalski",
    "Lopez",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Patel",
]
CITIES = [
    ("Minneapolis", "MN", "554"),
    ("Saint Paul", "MN", "551"),
    ("Madison", "WI", "537"),
    ("Des Moines", "IA", "503"),
    ("Fargo", "ND", "581"),
    ("Chicago", "IL", "606"),
]
STREETS = ["Maple Ave", "Oak St", "Lake Rd", "Hennepin Ave", "Grand Ave", "Summit Ave"]
SEXES = ["M", "F"]
GENDERS = ["M", "F", "NB"]


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 7
    users: int = 20
    days: int = 3
    waves: int = 1
    start: date = date(2023, 3, 1)
    partitions: int = 3
    gyms: int = 4
    workout_minutes: tuple[int, int] = (20, 60)
    resting_interval_s: int = 900
    anomalies: bool = False
    #: Contract topic -> the name it is published under (default: the ingester's defaults).
    topics: dict[str, str] = field(default_factory=lambda: Topics().model_dump())


@dataclass(frozen=True)
class KafkaRecord:
    topic: str
    key: str | None
    value: str | None  # None: a tombstone
    event_time: float  # what the record describes; drives arrival order
    wave: int
    partition: int = 0
    offset: int = 0
    kafka_timestamp: float = 0.0
    anomaly: str | None = None
    copies: int = 1  # landing exports of this record (the same offset in several files)

    def envelope(self) -> dict:
        return {
            "key": self.key,
            "value": self.value,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp": int(self.kafka_timestamp),
        }


@dataclass(frozen=True)
class Registration:
    user_id: int
    device_id: int
    mac_address: str
    registered_at: datetime  # UTC, aware
    wave: int
    channel: str  # "database" or "export"
    anomaly: str | None = None


@dataclass
class Dataset:
    config: SimulationConfig
    records: list[KafkaRecord]
    registrations: list[Registration]
    bad_lines: list[tuple[int, str]]  # (wave, a landing line that is not a Kafka envelope)

    def for_wave(self, wave: int) -> Dataset:
        return Dataset(
            self.config,
            [r for r in self.records if r.wave == wave],
            [r for r in self.registrations if r.wave == wave],
            [b for b in self.bad_lines if b[0] == wave],
        )


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _dumps(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _time_value(rng: random.Random, t: float) -> int | float:
    """Event times as producers send them: mostly integers, some fractional."""
    roll = rng.random()
    if roll < 0.7:
        return int(t)
    if roll < 0.85:
        return float(int(t))
    return round(t, 3)


class _Builder:
    def __init__(self, config: SimulationConfig) -> None:
        self.c = config
        self.rng = random.Random(config.seed)
        self.t0 = _epoch(config.start)
        self.end = self.t0 + config.days * DAY
        self.records: list[KafkaRecord] = []
        self.registrations: list[Registration] = []
        self.bad_lines: list[tuple[int, str]] = []
        self.next_device = 500_001
        self.second_hand_users = 0

    # Arrival ---------------------------------------------------------------------------------
    def wave_of(self, t: float) -> int:
        days_per_wave = self.c.days / self.c.waves
        day = max(0.0, (t - self.t0) / DAY)
        return min(self.c.waves, int(day // days_per_wave) + 1)

    def emit(
        self,
        topic: str,
        key: object,
        value: dict | str | None,
        t: float,
        *,
        late: bool = False,
        anomaly: str | None = None,
    ) -> None:
        wave = self.wave_of(t)
        if late and wave < self.c.waves:
            wave = self.rng.randint(wave + 1, self.c.waves)
        text = value if value is None or isinstance(value, str) else _dumps(value)
        self.records.append(
            KafkaRecord(
                self.c.topics.get(topic, topic),
                None if key is None else str(key),
                text,
                t,
                wave,
                anomaly=anomaly,
            )
        )

    def anomaly(self, rate: float) -> bool:
        return self.c.anomalies and self.rng.random() < rate

    # Entities --------------------------------------------------------------------------------
    def mac(self) -> str:
        return ":".join(f"{self.rng.randrange(256):02x}" for _ in range(6))

    def register(
        self,
        user_id: int,
        device: tuple[int, str],
        t: float,
        channel: str,
        anomaly: str | None = None,
        wave: int | None = None,
    ) -> None:
        micros = round(t * 1_000_000) if self.rng.random() < 0.7 else int(t) * 1_000_000
        at = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        self.registrations.append(
            Registration(
                user_id, device[0], device[1], at, wave or self.wave_of(t), channel, anomaly
            )
        )

    def new_device(self) -> tuple[int, str]:
        self.next_device += self.rng.randint(1, 9)
        return self.next_device, self.mac()

    def profile(self, user_id: int) -> dict:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            dob = None
        elif roll < 0.12:
            dob = f"02/29/{rng.choice([1964, 1976, 1988, 1996, 2008])}"
        else:
            dob = f"{rng.randint(1, 12):02d}/{rng.randint(1, 28):02d}/{rng.randint(1932, 2012)}"
        city, state, zip_prefix = rng.choice(CITIES)
        value = {
            "user_id": user_id,
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "sex": rng.choice(SEXES),
            "gender": rng.choice(GENDERS),
            "address": {
                "street_address": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                "city": city,
                "state": state,
                "zip": f"{zip_prefix}{rng.randint(0, 99):02d}",
            },
        }
        if dob is not None:
            value["dob"] = dob
        return value

    def cdc(self, update_type: str, image: dict | None, user_id: int, t: float, **kw) -> None:
        value = {
            "user_id": user_id,
            "update_type": update_type,
            "timestamp": _time_value(self.rng, t),
        }
        if image is not None and update_type != "delete":
            value = {**image, **value}
        self.emit("user_info", user_id, value, t, **kw)

    # Behaviour -------------------------------------------------------------------------------
    def heart_curve(self, rest: float, peak: float, start: float, stop: float, t: float) -> float:
        """A five-minute warm-up to the peak, intervals (four minutes hard, three easy, halfway
        between rest and peak) and a five-minute cool-down: a workout crosses several zones."""
        ramp = 300.0
        if t - start < ramp:
            level = rest + (peak - rest) * (t - start) / ramp
        elif stop - t < ramp:
            level = rest + (peak - rest) * max(0.0, stop - t) / ramp
        else:
            hard = (t - start - ramp) % 420 < 240
            level = (peak if hard else (rest + peak) / 2) + 6 * math.sin((t - start) / 97.0)
        return round(level + self.rng.gauss(0, 2.5), 1)

    def bpm(self, device_id: int, t: float, heartrate: float | None) -> None:
        value: dict = {
            "device_id": device_id,
            "time": _time_value(self.rng, t),
            "heartrate": heartrate,
        }
        anomaly = None
        if self.anomaly(0.002):
            value["heartrate"], anomaly = self.rng.choice([0, -4.0, 312.5, None]), "invalid_bpm"
        elif self.anomaly(0.001):
            value["heartrate"], anomaly = str(value["heartrate"]), "wrong_type"
        elif self.anomaly(0.001):
            del value["time"]
            anomaly = "missing_field"
        self.emit("bpm", device_id, value, t, late=self.anomaly(0.002), anomaly=anomaly)

    def resting(self, device_id: int, rest: float, since: float, until: float) -> None:
        t = since + self.rng.uniform(0, self.c.resting_interval_s)
        while t < until:
            hour = (t - self.t0) % DAY / 3600
            if 7 <= hour < 23:
                self.bpm(device_id, t, round(rest + self.rng.gauss(0, 3), 1))
            t += self.c.resting_interval_s

    def workout(
        self,
        user_id: int,
        device_id: int,
        mac: str,
        rest: float,
        day0: float,
        session_id: int,
        hour: float,
    ) -> tuple[float, float]:
        rng = self.rng
        workout_id = rng.randint(1, 5)
        start = day0 + hour * 3600 + rng.uniform(0, 1800)
        stop = start + 60 * rng.randint(*self.c.workout_minutes) + rng.random()
        peak = rng.uniform(125, 175)
        base = {"user_id": user_id, "workout_id": workout_id, "session_id": session_id}
        gym = rng.random() < 0.5
        if gym:
            # the first gyms are the busiest
            gym_id = rng.choices(range(1, self.c.gyms + 1), range(self.c.gyms, 0, -1))[0]
            login = start - rng.uniform(60, 900)
            logout = stop + rng.uniform(60, 900)

            def visit(left: float | None) -> dict:
                """A scan of the visit: at login (no logout yet), or with the logout time."""
                at_login = _time_value(rng, login)
                at_logout = None if left is None else _time_value(rng, left)
                return {"mac_address": mac, "gym": gym_id, "login": at_login, "logout": at_logout}

            self.emit("gym_login", mac, visit(None), login)
            if rng.random() < 0.9 or not self.c.anomalies:
                self.emit(
                    "gym_login",
                    mac,
                    visit(logout),
                    logout,
                    late=self.anomaly(0.05),
                )
        self.emit(
            "workout",
            user_id,
            {**base, "action": "start", "timestamp": _time_value(rng, start)},
            start,
        )
        if self.anomaly(0.05):
            self.emit(
                "workout",
                user_id,
                {**base, "action": "start", "timestamp": _time_value(rng, start + 0.5)},
                start,
                anomaly="double_start",
            )
        ending = rng.random()
        if ending < 0.9 or not self.c.anomalies:
            self.emit(
                "workout",
                user_id,
                {**base, "action": "stop", "timestamp": _time_value(rng, stop)},
                stop,
                late=self.anomaly(0.03),
            )
        elif ending < 0.95:
            self.emit(
                "workout",
                user_id,
                {**base, "action": "stop", "timestamp": _time_value(rng, start + 4 * 3600)},
                start + 4 * 3600,
                anomaly="stop_too_late",
            )
        t = start
        while t <= stop:
            self.bpm(device_id, t, self.heart_curve(rest, peak, start, stop, t))
            t += 1.0
        return start, stop

    def user(self, index: int) -> None:
        rng = self.rng
        user_id = 10_001 + index * 3
        device = self.new_device()
        registered = self.t0 - rng.uniform(1, 60) * DAY
        self.register(
            user_id, device, registered, "database" if rng.random() < 0.6 else "export", wave=1
        )
        image = self.profile(user_id)
        self.cdc("new", image, user_id, registered + 5)
        rest = rng.uniform(55, 75)
        upgrade_day = (
            rng.randrange(1, self.c.days) if self.c.days > 1 and rng.random() < 0.15 else None
        )
        deleted = False
        day = 0
        cursor = self.t0
        while day < self.c.days:
            day0 = self.t0 + day * DAY
            if upgrade_day == day:
                new = self.new_device()
                at = day0 + rng.uniform(0, 6 * 3600)
                late = self.anomaly(0.5) and self.c.waves > 1
                self.register(
                    user_id,
                    new,
                    at,
                    "export" if late else "database",
                    anomaly="late_registration" if late else None,
                    wave=self.c.waves if late else None,
                )
                self.resting(device[0], rest, cursor, at)
                if rng.random() < 0.6:
                    self.second_hand(device, at + rng.uniform(3600, DAY / 2))
                cursor = at
                device = new
            if rng.random() < 0.2:
                t = day0 + rng.uniform(0, DAY)
                image = {
                    **image,
                    "address": {
                        **image["address"],
                        "street_address": f"{rng.randint(1, 9999)} {rng.choice(STREETS)}",
                    },
                }
                if rng.random() < 0.3:  # the user corrects a date of birth (or gives one)
                    image["dob"] = self.profile(user_id).get("dob", "01/15/1990")
                self.cdc("update", image, user_id, t, late=self.anomaly(0.2))
            if not deleted and rng.random() < 0.04:
                t = day0 + rng.uniform(0, DAY)
                self.cdc("delete", None, user_id, t)
                deleted = True
                if rng.random() < 0.5:
                    image = self.profile(user_id)
                    self.cdc("new", image, user_id, t + rng.uniform(600, DAY / 2))
                    deleted = False
            sessions = rng.choices([0, 1, 2], weights=[3, 6, 1])[0]
            for session_id in range(1, sessions + 1):
                # the morning and after-work rush hours
                hour = (6.5 if session_id == 1 else 17) + rng.uniform(0, 2.5)
                start, stop = self.workout(
                    user_id, device[0], device[1], rest, day0, session_id, hour
                )
                self.resting(device[0], rest, cursor, start)
                cursor = stop
            day += 1
        self.resting(device[0], rest, cursor, self.end)

    def second_hand(self, device: tuple[int, str], at: float) -> None:
        """A watch re-registered to a new owner, who wears it from then on."""
        if at >= self.end:
            return
        self.second_hand_users += 1
        user_id = 90_000 + self.second_hand_users
        self.register(user_id, device, at, "database")
        self.cdc("new", self.profile(user_id), user_id, at + 60)
        rest = self.rng.uniform(55, 75)
        day0 = self.t0 + ((at - self.t0) // DAY + 1) * DAY
        cursor = at
        if day0 < self.end:
            start, stop = self.workout(user_id, device[0], device[1], rest, day0, 1, 9.0)
            self.resting(device[0], rest, cursor, start)
            cursor = stop
        self.resting(device[0], rest, cursor, self.end)

    def inject(self) -> None:
        """Bad input of every kind the contract names (anomalies only)."""
        if not self.c.anomalies:
            return
        rng = self.rng
        for wave in range(1, self.c.waves + 1):
            t = self.t0 + (wave - 0.5) * self.c.days / self.c.waves * DAY
            user = 10_001
            self.emit(
                "user_info",
                user,
                '{"user_id": 10001, "update_type": "update", ',
                t,
                anomaly="malformed_json",
            )
            self.emit("bpm", 1, "[72.0]", t, anomaly="not_an_object")
            self.emit(
                "user_info",
                user,
                {"user_id": user, "update_type": "upsert", "timestamp": int(t)},
                t,
                anomaly="unknown_enum",
            )
            self.emit(
                "user_info",
                user,
                {
                    "user_id": user,
                    "update_type": "update",
                    "timestamp": int(t),
                    "dob": "31/12/1990",
                },
                t,
                anomaly="bad_date",
            )
            self.emit(
                "user_info",
                user,
                {"user_id": str(user), "update_type": "update", "timestamp": int(t)},
                t,
                anomaly="wrong_type",
            )
            self.emit(
                "workout",
                user,
                {
                    "user_id": user,
                    "workout_id": 1,
                    "session_id": 1,
                    "action": "pause",
                    "timestamp": int(t),
                },
                t,
                anomaly="unknown_enum",
            )
            self.emit(
                "workout",
                user,
                {"user_id": user, "workout_id": 1, "session_id": 1, "timestamp": int(t)},
                t,
                anomaly="missing_field",
            )
            self.emit(
                "gps",
                "501",
                {"device_id": 501, "lat": 44.97, "lon": -93.26},
                t,
                anomaly="unknown_topic",
            )
            self.inject_unrepresentable(int(t))
            self.bad_lines.append((wave, "this line is not a Kafka record"))
            self.bad_lines.append((wave, "this line is not a Kafka record"))
            self.bad_lines.append((wave, '{"key": "1", "topic": "bpm"}'))
            self.bad_lines.append(
                (
                    wave,
                    '{"key": "1", "value": "{}", "topic": "bpm", "partition": 1e99, "offset": 3}',
                )
            )
        # Re-sent records: same topic, key and value at a new offset.
        sample = rng.sample(self.records, k=max(1, len(self.records) // 200))
        for r in sample:
            self.records.append(
                replace(r, wave=rng.randint(r.wave, self.c.waves), anomaly="resent")
            )
        # A row committed to the database after an extraction, with a timestamp equal to the
        # latest one that extraction saw (the watermark).
        for wave in range(1, self.c.waves):
            seen = [r for r in self.registrations if r.channel == "database" and r.wave <= wave]
            if seen:
                latest = max(seen, key=lambda r: r.registered_at)
                twin = self.new_device()
                self.registrations.append(
                    Registration(
                        latest.user_id,
                        twin[0],
                        twin[1],
                        latest.registered_at,
                        wave + 1,
                        "database",
                        "equal_timestamp_committed_late",
                    )
                )
        # A registration repeated in a later export.
        exports = [r for r in self.registrations if r.channel == "export"]
        if exports and self.c.waves > 1:
            self.registrations.append(replace(exports[0], wave=self.c.waves, anomaly="re_exported"))

    def inject_unrepresentable(self, at: int) -> None:
        """Values that parse, or nearly, but that no column can hold
        ([rule 11](docs/contract.md#rule-11))."""
        device = 1
        cases = {
            "overflow": f'{{"device_id": 9223372036854775808, "time": {at}, "heartrate": 70}}',
            "out_of_range": f'{{"device_id": {device}, "time": 253402300800, "heartrate": 70}}',
            "double_overflow": f'{{"device_id": {device}, "time": {at}, "heartrate": 1e400}}',
            "nan": f'{{"device_id": {device}, "time": {at}, "heartrate": NaN}}',
            "duplicate_key": f'{{"device_id": {device}, "time": {at}, "time": {at + 1}}}',
            "too_deep": f'{{"device_id": {device}, "time": {at}, "x": {"[" * 1000}{"]" * 1000}}}',
            "tombstone": None,
        }
        for anomaly, value in cases.items():
            self.emit("bpm", device, value, at, anomaly=anomaly)
        self.emit(
            "workout",
            10_001,
            {
                "user_id": 10_001,
                "workout_id": 1,
                "session_id": 1,
                "action": "stop",
                "timestamp": 10**15,
            },
            at,
            anomaly="out_of_range",
        )

    def reuse_offsets(self, records: list[KafkaRecord]) -> list[KafkaRecord]:
        """Records that share coordinates with another ([rule 1](docs/contract.md#rule-1)), as
        exporters that reuse offsets write them: a workout's stop at its start's offset, and a
        second heartrate for the same reading at that reading's offset. Both records of each pair
        are valid."""
        out = list(records)
        starts = {
            (r.key, r.value and json.loads(r.value).get("session_id")): i
            for i, r in enumerate(out)
            if r.topic == self.c.topics.get("workout", "workout")
            and r.anomaly is None
            and '"start"' in (r.value or "")
        }
        moved = 0
        for i, r in enumerate(out):
            if moved == 2 or r.topic != self.c.topics.get("workout", "workout"):
                continue
            if r.anomaly is not None or '"stop"' not in (r.value or ""):
                continue
            start = starts.get((r.key, json.loads(r.value).get("session_id")))
            if start is not None and out[start].wave == r.wave:
                out[i] = replace(
                    r,
                    partition=out[start].partition,
                    offset=out[start].offset,
                    anomaly="offset_reused",
                )
                moved += 1
        readings = [
            r for r in out if r.topic == self.c.topics.get("bpm", "bpm") and r.anomaly is None
        ]
        for r in readings[:: max(1, len(readings) // 2)][:2]:
            value = json.loads(r.value)
            value["heartrate"] = round(value["heartrate"] + 1.5, 2)
            out.append(replace(r, value=_dumps(value), anomaly="offset_reused"))
        return out

    def assign_offsets(self) -> list[KafkaRecord]:
        """Partition by key and number records per (topic, partition) in arrival order."""
        order = sorted(
            range(len(self.records)),
            key=lambda i: (self.records[i].wave, self.records[i].event_time, i),
        )
        next_offset: dict[tuple[str, int], int] = {}
        out = []
        for i in order:
            r = self.records[i]
            partition = zlib.crc32((r.key or "").encode()) % self.c.partitions
            offset = next_offset.get((r.topic, partition), 0)
            next_offset[(r.topic, partition)] = offset + 1
            arrived = max(r.event_time, self.t0 + (r.wave - 1) * self.c.days / self.c.waves * DAY)
            copies = 2 if self.anomaly(0.001) else 1
            out.append(
                replace(
                    r,
                    partition=partition,
                    offset=offset,
                    kafka_timestamp=arrived + 1,
                    copies=copies,
                )
            )
        return out


def generate(config: SimulationConfig) -> Dataset:
    """The whole data set for ``config`` (the same seed gives the same data)."""
    if config.users < 1 or config.days < 1 or not 1 <= config.waves <= config.days:
        raise ValueError(
            f"need users >= 1, days >= 1 and 1 <= waves <= days (got users={config.users}, "
            f"days={config.days}, waves={config.waves})"
        )
    builder = _Builder(config)
    for index in range(config.users):
        builder.user(index)
    builder.inject()
    records = builder.assign_offsets()
    if config.anomalies:
        records = builder.reuse_offsets(records)
    return Dataset(config, records, builder.registrations, builder.bad_lines)
