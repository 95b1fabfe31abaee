"""The registration extractor against SQLite: watermark, late commits, outages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from delta.tables import DeltaTable

from ingestion.bronze import BronzeTable, ensure_table
from ingestion.registrations import RegistrationSourceError, extract, to_utc_micros
from ingestion.simulator.write import registration_table

T0 = datetime(2023, 3, 1, 8, 0, 0)


def test_to_utc_micros_treats_naive_as_utc_and_converts_aware():
    assert to_utc_micros(datetime(1970, 1, 1, 0, 0, 1, 5)) == 1_000_005
    plus_two = timezone(timedelta(hours=2))
    assert to_utc_micros(datetime(1970, 1, 1, 2, 0, 1, tzinfo=plus_two)) == 1_000_000
    assert to_utc_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1_000_000


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path: Path):
    """An empty registration table in SQLite, or in a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registrations.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    table = registration_table(metadata, "registrations")
    metadata.drop_all(engine)
    metadata.create_all(engine)

    def insert(*rows: tuple[int, int, str, datetime]) -> None:
        with engine.begin() as conn:
            conn.execute(
                table.insert(),
                [
                    {"user_id": u, "device_id": d, "mac_address": m, "registration_timestamp": t}
                    for u, d, m, t in rows
                ],
            )

    yield url, insert
    engine.dispose()


def landed(spark, bronze: BronzeTable) -> list[tuple]:
    rows = (
        bronze.read(spark)
        .selectExpr(
            "user_id", "device_id", "mac_address", "unix_micros(registration_timestamp) as micros"
        )
        .collect()
    )
    return sorted(tuple(r) for r in rows)


def micros(t: datetime) -> int:
    return to_utc_micros(t)


def test_watermark_picks_late_equal_timestamps_and_never_loads_twice(spark, tmp_path, database):
    url, insert = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)

    def run() -> int:
        return extract(
            spark,
            url=url,
            table_name="registrations",
            bronze=bronze,
            lookback=timedelta(minutes=10),
        )

    a = (1, 101, "aa:aa:aa:aa:aa:01", T0)
    b = (2, 102, "aa:aa:aa:aa:aa:02", T0 + timedelta(seconds=30, microseconds=250))
    insert(a, b)
    assert run() == 2
    # committed late: the same timestamp as the watermark, and one older but within the lookback
    c = (3, 103, "aa:aa:aa:aa:aa:03", b[3])
    d = (4, 104, "aa:aa:aa:aa:aa:04", T0 + timedelta(seconds=10))
    e = (5, 105, "aa:aa:aa:aa:aa:05", T0 + timedelta(hours=1))
    insert(c, d, e)
    assert run() == 3
    version = DeltaTable.forPath(spark, str(bronze)).history(1).first()["version"]
    assert run() == 0
    assert DeltaTable.forPath(spark, str(bronze)).history(1).first()["version"] == version
    expected = sorted((u, dv, m, micros(t)) for u, dv, m, t in [a, b, c, d, e])
    assert landed(spark, bronze) == expected


def test_row_older_than_the_lookback_is_not_read_again(spark, tmp_path, database):
    url, insert = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    late = (9, 109, "aa:aa:aa:aa:aa:09", T0 - timedelta(hours=1))
    insert((1, 101, "aa:aa:aa:aa:aa:01", T0))
    extract(
        spark, url=url, table_name="registrations", bronze=bronze, lookback=timedelta(minutes=10)
    )
    insert(late)
    assert (
        extract(
            spark,
            url=url,
            table_name="registrations",
            bronze=bronze,
            lookback=timedelta(minutes=10),
        )
        == 0
    )
    assert landed(spark, bronze) == [(1, 101, "aa:aa:aa:aa:aa:01", micros(T0))]


def test_unavailable_database_retries_then_fails_clearly_without_writing(spark, tmp_path, caplog):
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'registrations.db'}"
    with pytest.raises(RegistrationSourceError, match="unavailable after 3 attempts.*watermark"):
        extract(
            spark,
            url=url,
            table_name="registrations",
            bronze=bronze,
            lookback=timedelta(0),
            attempts=3,
            backoff=0.01,
        )
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    assert landed(spark, bronze) == []


def test_missing_table_names_the_setting(spark, tmp_path, database):
    url, _ = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    with pytest.raises(
        RegistrationSourceError, match="'sales' does not exist.*REGISTRATIONS_TABLE"
    ):
        extract(spark, url=url, table_name="sales", bronze=bronze, lookback=timedelta(0))
