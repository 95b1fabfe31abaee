"""The registration extractor against SQLite: watermark, late commits, outages."""

from __future__ import annotations

import gzip
import logging
import os
import re
import secrets
import sqlite3
import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import sqlalchemy as sa
from delta.tables import DeltaTable

from ingestion import status
from ingestion.bronze import BronzeTable, ensure_table
from ingestion.errors import LakehouseError
from ingestion.ingest import ingest_once
from ingestion.registrations import (
    RegistrationSourceError,
    extract,
    parse_row,
    read_rows,
    to_utc_micros,
)
from ingestion.secrets import describe_url, redact
from ingestion.settings import Settings
from lakehouse.dbt import run_dbt
from simulator.write import registration_table
from tests.python.support.scenario import scenario_settings

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


#: The clock of the extractor in these tests (naive UTC), after every row's time but the
#: future-dated ones; and its interval between two reconciliations.
NOW = T0 + timedelta(days=1)
RECONCILE_EVERY = timedelta(hours=1)


def extractor(
    spark,
    url: str,
    bronze: BronzeTable,
    lookback: timedelta = timedelta(minutes=10),
    table_name: str = "registrations",
    **options,
):
    """One extraction at a given clock time (NOW unless said): returns the rows landed."""

    def run(now: datetime = NOW) -> int:
        return extract(
            spark,
            url=url,
            table_name=table_name,
            bronze=bronze,
            lookback=lookback,
            reconcile_every=RECONCILE_EVERY,
            now=now,
            **options,
        )

    return run


def test_watermark_picks_late_equal_timestamps_and_never_loads_twice(spark, tmp_path, database):
    url, insert = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    run = extractor(spark, url, bronze)

    a = (1, 101, "aa:aa:aa:aa:aa:01", T0)
    b = (2, 102, "aa:aa:aa:aa:aa:02", T0 + timedelta(seconds=30, microseconds=250))
    insert(a, b)
    assert run() == 2
    # committed late: the same timestamp as the watermark, and one older but within the lookback;
    # a poll (the reconciliation is not due) reads them
    c = (3, 103, "aa:aa:aa:aa:aa:03", b[3])
    d = (4, 104, "aa:aa:aa:aa:aa:04", T0 + timedelta(seconds=10))
    e = (5, 105, "aa:aa:aa:aa:aa:05", T0 + timedelta(hours=1))
    insert(c, d, e)
    assert run(NOW + timedelta(minutes=1)) == 3
    version = DeltaTable.forPath(spark, str(bronze)).history(1).first()["version"]
    assert run(NOW + timedelta(minutes=2)) == 0
    assert DeltaTable.forPath(spark, str(bronze)).history(1).first()["version"] == version
    expected = sorted((u, dv, m, micros(t)) for u, dv, m, t in [a, b, c, d, e])
    assert landed(spark, bronze) == expected


def test_rows_committed_hours_and_days_late_land_at_the_next_reconciliation(
    spark, tmp_path, database, caplog
):
    url, insert = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    run = extractor(spark, url, bronze)
    first = (1, 101, "aa:aa:aa:aa:aa:01", T0)
    insert(first)
    assert run() == 1
    # committed 3 hours and 3 days after their registration time, long before the watermark
    # minus the lookback; and a row on time
    three_hours = (2, 102, "aa:aa:aa:aa:aa:02", T0 - timedelta(hours=3))
    three_days = (3, 103, "aa:aa:aa:aa:aa:03", T0 - timedelta(days=3))
    on_time = (4, 104, "aa:aa:aa:aa:aa:04", T0 + timedelta(minutes=5))
    insert(three_hours, three_days, on_time)
    # a poll reads what is dated since the watermark minus the lookback: the row on time
    assert run(NOW + timedelta(minutes=1)) == 1
    # the reconciliation, due an interval after the last one, reads every row: the late ones
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ingestion.registrations"):
        assert run(NOW + RECONCILE_EVERY) == 2
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("Registrations: 2 row(s) of registrations were committed later")
    assert run(NOW + RECONCILE_EVERY + timedelta(minutes=1)) == 0
    assert run(NOW + 2 * RECONCILE_EVERY) == 0
    expected = [first, three_hours, three_days, on_time]
    assert landed(spark, bronze) == sorted((u, dv, m, micros(t)) for u, dv, m, t in expected)


def test_unavailable_database_retries_then_fails_clearly_without_writing(spark, tmp_path, caplog):
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'registrations.db'}"
    with pytest.raises(RegistrationSourceError, match="unavailable after 3 attempts.*watermark"):
        extractor(spark, url, bronze, attempts=3, backoff=0.01)()
    assert sum("retrying" in r.getMessage() for r in caplog.records) == 2
    assert landed(spark, bronze) == []


def test_missing_table_names_the_setting(spark, tmp_path, database):
    url, _ = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    with pytest.raises(RegistrationSourceError) as failure:
        extractor(spark, url, bronze, table_name="sales")()
    message = str(failure.value)
    assert "'sales' does not exist" in message
    # the settings it names are settings the ingester has
    assert "LAKEHOUSE_REGISTRATIONS_TABLE" in message and "registrations_table" in message
    assert "registrations_table" in Settings.model_fields
    assert "--" not in message, "the ingester has no flag for the table"


# Rows as read --------------------------------------------------------------------------------
def test_parse_row_types_what_converts_and_keeps_the_row_as_read():
    at = datetime(2023, 3, 1, 8, 0, 0, 250)
    assert parse_row((1, "2", "AA:BB:CC:DD:EE:01", at)) == (
        1,
        2,
        "AA:BB:CC:DD:EE:01",
        1_677_657_600_000_250,
        '{"user_id": 1, "device_id": "2", "mac_address": "AA:BB:CC:DD:EE:01", '
        '"registration_timestamp": "2023-03-01T08:00:00.000250"}',
    )
    assert parse_row(("abc", None, None, "yesterday")) == (
        None,
        None,
        None,
        None,
        '{"user_id": "abc", "device_id": null, "mac_address": null, '
        '"registration_timestamp": "yesterday"}',
    )
    # SQLite hands back its stored text; an aware time is kept in UTC; 2^63 overflows a bigint
    plus_two = timezone(timedelta(hours=2))
    assert parse_row(
        (Decimal("5"), 2**63, "m", datetime(2023, 3, 1, 10, 0, 0, tzinfo=plus_two))
    ) == (
        5,
        None,
        "m",
        1_677_657_600_000_000,
        '{"user_id": "5", "device_id": 9223372036854775808, "mac_address": "m", '
        '"registration_timestamp": "2023-03-01T08:00:00+00:00"}',
    )
    assert parse_row((7.0, True, "m", "2023-03-01 08:00:00.000250"))[:4] == (
        7,
        None,
        "m",
        1_677_657_600_000_250,
    )


#: A password made at run time, with characters a URL must quote.
SECRET = secrets.token_urlsafe(12) + ";x"


@pytest.mark.parametrize(
    "url, shown",
    [
        (
            f"postgresql+psycopg://etl:{quote_plus(SECRET)}@db.example:5432/sales",
            "postgresql+psycopg://etl:***@db.example:5432/sales",
        ),
        (
            "mssql+pyodbc:///?odbc_connect="
            + quote_plus(f"DRIVER={{ODBC Driver 18}};SERVER=db.example;UID=etl;PWD={{{SECRET}}}"),
            "mssql+pyodbc:///?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BSERVER%3Ddb.example"
            "%3BUID%3Detl%3BPWD%3D%2A%2A%2A",
        ),
        (
            f"mssql+pymssql://etl@db.example/sales?password={quote_plus(SECRET)}",
            "mssql+pymssql://etl@db.example/sales?password=***",
        ),
        (f"postgresql+psycopg//etl:{SECRET}@db.example/sales", "(an unparseable URL)"),
    ],
    # ids without the secret: the same in every process (pytest-xdist) and in no report
    ids=["password", "odbc_connect", "query", "unparseable"],
)
def test_urls_are_shown_without_their_password(url, shown):
    assert describe_url(url) == shown
    leaked = f"FATAL: login failed; connection string was {url}; PWD={SECRET}"
    assert SECRET not in redact(leaked, url)
    assert quote_plus(SECRET) not in redact(leaked, url)


# Bad, repeated, NULL-dated and future-dated rows -------------------------------------------------
@pytest.fixture
def loose_table(tmp_path: Path):
    """A SQLite registration table that holds anything (NULLs, text in id columns), and a
    function inserting rows as given, bypassing SQLAlchemy's type conversion."""
    url = f"sqlite:///{tmp_path / 'loose.db'}"
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    sa.Table(
        "registrations",
        metadata,
        sa.Column("user_id", sa.BigInteger),
        sa.Column("device_id", sa.BigInteger),
        sa.Column("mac_address", sa.String(17)),
        sa.Column("registration_timestamp", sa.DateTime),
    )
    metadata.create_all(engine)

    def insert(*rows: tuple) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("insert into registrations values (?, ?, ?, ?)", list(rows))

    yield url, insert
    engine.dispose()


def landed_raw(spark, bronze: BronzeTable) -> list[tuple]:
    rows = bronze.read(spark).selectExpr(
        "user_id",
        "device_id",
        "mac_address",
        "unix_micros(registration_timestamp) as micros",
        "raw",
    )
    return sorted((tuple(r) for r in rows.collect()), key=repr)


def test_bad_repeated_and_null_dated_rows_land_once_as_read(spark, tmp_path, loose_table):
    url, insert = loose_table
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)

    run = extractor(spark, url, bronze, lookback=timedelta(0))
    good = (7, 107, "aa:bb:cc:dd:ee:07", "2023-03-01 09:00:00")
    insert(
        good,
        good,  # the table holds it twice: one distinct row
        ("abc", 108, "aa:bb:cc:dd:ee:08", "2023-03-01 09:00:01"),
        (9, 109, "aa:bb:cc:dd:ee:09", None),
        (10, 110, "aa:bb:cc:dd:ee:10", "yesterday"),
        (11, None, "aa:bb:cc:dd:ee:11", "2023-03-01 09:00:02"),
    )
    assert run() == 5
    # committed after the first run: a NULL-dated row (below no watermark) and the row again;
    # no poll reads a row with no time, the next reconciliation does
    insert((15, 115, "aa:bb:cc:dd:ee:15", None), good)
    assert run(NOW + timedelta(minutes=1)) == 0
    assert run(NOW + RECONCILE_EVERY) == 1
    assert run(NOW + 2 * RECONCILE_EVERY) == 0
    assert landed_raw(spark, bronze) == sorted(
        [
            (
                7,
                107,
                "aa:bb:cc:dd:ee:07",
                1_677_661_200_000_000,
                '{"user_id": 7, "device_id": 107, "mac_address": "aa:bb:cc:dd:ee:07", '
                '"registration_timestamp": "2023-03-01 09:00:00"}',
            ),
            (
                None,
                108,
                "aa:bb:cc:dd:ee:08",
                1_677_661_201_000_000,
                '{"user_id": "abc", "device_id": 108, "mac_address": "aa:bb:cc:dd:ee:08", '
                '"registration_timestamp": "2023-03-01 09:00:01"}',
            ),
            (
                9,
                109,
                "aa:bb:cc:dd:ee:09",
                None,
                '{"user_id": 9, "device_id": 109, "mac_address": "aa:bb:cc:dd:ee:09", '
                '"registration_timestamp": null}',
            ),
            (
                10,
                110,
                "aa:bb:cc:dd:ee:10",
                None,
                '{"user_id": 10, "device_id": 110, "mac_address": "aa:bb:cc:dd:ee:10", '
                '"registration_timestamp": "yesterday"}',
            ),
            (
                11,
                None,
                "aa:bb:cc:dd:ee:11",
                1_677_661_202_000_000,
                '{"user_id": 11, "device_id": null, "mac_address": "aa:bb:cc:dd:ee:11", '
                '"registration_timestamp": "2023-03-01 09:00:02"}',
            ),
            (
                15,
                115,
                "aa:bb:cc:dd:ee:15",
                None,
                '{"user_id": 15, "device_id": 115, "mac_address": "aa:bb:cc:dd:ee:15", '
                '"registration_timestamp": null}',
            ),
        ],
        key=repr,
    )


def test_a_future_dated_row_does_not_hide_rows_that_arrive_later(spark, tmp_path, database):
    url, insert = database
    bronze = BronzeTable("registrations", path=tmp_path / "bronze" / "registrations")
    ensure_table(spark, bronze)
    run = extractor(spark, url, bronze)
    # "future" is after the moment a row lands (its ingested_at): the real clock
    now = datetime.now(UTC).replace(tzinfo=None)

    a = (1, 101, "aa:aa:aa:aa:aa:01", T0)
    skewed = (2, 102, "aa:aa:aa:aa:aa:02", now + timedelta(days=365))
    insert(a, skewed)
    assert run(now) == 2
    later = (3, 103, "aa:aa:aa:aa:aa:03", now - timedelta(days=1))
    insert(later)
    assert run(now + timedelta(minutes=1)) == 1
    assert run(now + timedelta(minutes=2)) == 0
    expected = sorted((u, dv, m, micros(t)) for u, dv, m, t in [a, skewed, later])
    assert landed(spark, bronze) == expected


# Database errors ---------------------------------------------------------------------------------
def read_failing(url: str, caplog, attempts: int = 2) -> tuple[str, int]:
    """Read ``url`` expecting RegistrationSourceError: its message, and how many retries were
    logged; neither the message nor the log may hold the password."""
    caplog.clear()
    with pytest.raises(RegistrationSourceError) as failure:
        read_rows(url, "registrations", None, attempts=attempts, backoff=0.01)
    message = str(failure.value)
    for text in (message, caplog.text):
        assert SECRET not in text and quote_plus(SECRET) not in text
    return message, sum("retrying" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "url, expected",
    [
        (
            f"mssql+pyodbc://etl:{quote_plus(SECRET)}@db.example/sales",
            r"^the database driver of mssql\+pyodbc://etl:\*\*\*@db.example/sales is not "
            r"installed \(ModuleNotFoundError: No module named 'pyodbc'\): install it",
        ),
        (
            "mssql+pyodbc:///?odbc_connect="
            + quote_plus(f"DRIVER={{ODBC Driver 18}};SERVER=db.example;PWD={{{SECRET}}}"),
            r"PWD%3D%2A%2A%2A is not installed",
        ),
        (
            f"postgresql+pg8000://etl:{quote_plus(SECRET)}@db.example/sales",
            r"No module named 'pg8000'",
        ),
        (
            f"postgresql+psycopg//etl:{SECRET}@db.example/sales",
            r"URL \(an unparseable URL\) is not a valid SQLAlchemy URL \(ArgumentError\): set "
            r"LAKEHOUSE_REGISTRATIONS_URL",
        ),
        (
            f"postgresql+psycopg://etl:{quote_plus(SECRET)}@db.example:port/sales",
            r"is not a valid SQLAlchemy URL \(ValueError\)",
        ),
        (f"nosuchdb://etl:{quote_plus(SECRET)}@db.example/sales", r"not a valid SQLAlchemy URL"),
    ],
    ids=[
        "missing-driver",
        "odbc_connect",
        "missing-dialect-driver",
        "unparseable",
        "bad-port",
        "unknown-dialect",
    ],
)
def test_configuration_errors_are_reported_at_once(url, expected, caplog):
    message, retries = read_failing(url, caplog)
    assert re.search(expected, message)
    assert retries == 0


def test_an_interface_error_is_retried_then_reported(tmp_path, caplog, monkeypatch):
    real_create_engine = sa.create_engine

    def broken_driver():
        raise sqlite3.InterfaceError("the driver lost its connection")

    monkeypatch.setattr(
        sa, "create_engine", lambda url: real_create_engine(url, creator=broken_driver)
    )
    url = f"sqlite:///{tmp_path / 'registrations.db'}"
    message, retries = read_failing(url, caplog, attempts=3)
    assert retries == 2
    assert re.search(
        r"unavailable after 3 attempts \(InterfaceError: the driver lost its connection\); "
        r"check that the database is reachable",
        message,
    )


@pytest.fixture
def postgres_logins(postgres, postgres_url):
    """Three logins the registration table refuses: a wrong password, a role that may not log
    in, a role without SELECT on the table."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    metadata = sa.MetaData()
    registration_table(metadata, "registrations")
    metadata.drop_all(admin)
    metadata.create_all(admin)
    roles = {
        "lakehouse_pw": "login password 'the-right-one'",
        "lakehouse_nologin": "nologin",
        "lakehouse_noselect": "login",
    }
    with admin.connect() as conn:
        hba = Path(conn.execute(sa.text("show hba_file")).scalar_one())
        for role, options in roles.items():
            conn.execute(sa.text(f"drop role if exists {role}"))
            conn.execute(sa.text(f"create role {role} {options}"))
        original = hba.read_text()
        hba.write_text("host all lakehouse_pw 127.0.0.1/32 scram-sha-256\n" + original)
        conn.execute(sa.text("select pg_reload_conf()"))
    time.sleep(1)  # the postmaster reloads asynchronously
    host = f"127.0.0.1:{postgres.port}/postgres"
    yield {role: f"postgresql+psycopg://{role}:{quote_plus(SECRET)}@{host}" for role in roles}
    hba.write_text(original)
    with admin.connect() as conn:
        conn.execute(sa.text("select pg_reload_conf()"))
        metadata.drop_all(conn)
        for role in roles:
            conn.execute(sa.text(f"drop role if exists {role}"))
    admin.dispose()


@pytest.mark.parametrize(
    "role, expected",
    [
        (
            "lakehouse_pw",
            r"unavailable after 2 attempts \(OperationalError: .*password authentication failed"
            r".*\); check that the database is reachable and that the user and password",
        ),
        ("lakehouse_nologin", r"unavailable after 2 attempts .*not permitted to log in"),
        (
            "lakehouse_noselect",
            r"refused the query after 2 attempts \(InsufficientPrivilege: permission denied "
            r"for table registrations\); check that the login may read 'registrations' "
            r"\(GRANT SELECT\)",
        ),
    ],
)
def test_refused_logins_and_permissions_are_retried_then_reported(
    postgres_logins, role, expected, caplog
):
    message, retries = read_failing(postgres_logins[role], caplog)
    assert re.search(expected, message), message
    assert re.search(r"^registration database postgresql\+psycopg://lakehouse_\w+:\*\*\*@", message)
    assert "the watermark was not advanced" in message
    assert retries == 1


# End to end: exports and the table through dbt ------------------------------------------------
REORDERED_EXPORT = (
    "\ufeffDevice_ID,user_id , Registration_Timestamp,mac_address\r\n"
    "101,1,1677657600,AA:BB:CC:DD:EE:01\r\n"
    '"102","2","1677657601.5","aa:bb:cc:dd:ee:02"\r\n'
    "101,1,1677657600,AA:BB:CC:DD:EE:01\r\n"
    "103,3,1677657602\r\n"
    "104,4,1677657603,aa:bb:cc:dd:ee:04,extra\r\n"
    "105,x5,1677657604,aa:bb:cc:dd:ee:05\r\n"
    "\r\n\r\n"
)
NO_MAC_EXPORT = "user_id,device_id,registration_timestamp\n6,106,1677657605\n"
NO_MAC_HEADER = ["user_id", "device_id", "registration_timestamp"]
OLD_EXPORT = (
    "user_id,device_id,mac_address,registration_timestamp\n"
    "1,101,aa:bb:cc:dd:ee:01,1677657600\n"
    "13,113,aa:bb:cc:dd:ee:13,1677657606\n"
)


def db_json(user_id: str, device_id: str, mac: str, at: str) -> str:
    """A database row's raw text, written out (values are JSON literals)."""
    return (
        f'{{"user_id": {user_id}, "device_id": {device_id}, "mac_address": {mac}, '
        f'"registration_timestamp": {at}}}'
    )


@pytest.mark.integration
def test_exports_and_table_rows_reach_users_once_and_rejects_with_reasons(
    catalog, home, loose_table
):
    spark = catalog
    url, insert = loose_table
    # every ingester run reads the whole table (rows with no date land only then)
    settings = scenario_settings(home, registrations_url=url, registrations_reconcile_seconds=1e-6)
    exports = settings.landing / "registrations"
    exports.mkdir(parents=True)
    build = [
        "build",
        "--select",
        "+users +rejected_events",
        "--exclude",
        "test_type:unit",
        "--indirect-selection",
        "cautious",
    ]

    # wave 1: an export with its columns in another order, BOM, CRLF, a quoted row, a row
    # repeated, rows with too few and too many fields; an export whose header lacks a column
    (exports / "wave-1.csv").write_bytes(REORDERED_EXPORT.encode())
    (exports / "no-mac.csv").write_text(NO_MAC_EXPORT)
    repeated = (7, 107, "aa:bb:cc:dd:ee:07", "2023-03-01 09:00:00")
    insert(
        repeated,
        repeated,
        (2, 102, "aa:bb:cc:dd:ee:02", "2023-03-01 08:00:01.500000"),  # also exported
        ("abc", 108, "aa:bb:cc:dd:ee:08", "2023-03-01 09:00:01"),
        (9, 109, "aa:bb:cc:dd:ee:09", None),
        (10, 110, "aa:bb:cc:dd:ee:10", "yesterday"),
        (11, None, "aa:bb:cc:dd:ee:11", "2023-03-01 09:00:02"),
        (12, 112, "aa:bb:cc:dd:ee:12", "2999-01-01 00:00:00"),  # a register's clock ahead
    )
    ingest_once(spark, settings)
    run_dbt(settings, build)

    # wave 2: a gzip export whose file is 30 days older than wave 1's (cp -p), repeating a
    # registration; rows committed since: dated before the future one, with no date, repeated
    old = exports / "archive.csv.gz"
    old.write_bytes(gzip.compress(OLD_EXPORT.encode()))
    month_ago = time.time() - 30 * 86_400
    os.utime(old, (month_ago, month_ago))
    insert(
        (14, 114, "aa:bb:cc:dd:ee:14", "2023-03-02 00:00:00"),
        (15, 115, "aa:bb:cc:dd:ee:15", None),
        repeated,
    )
    ingest_once(spark, settings)
    run_dbt(settings, build)

    lines = settings.bronze_table("registration_exports").read(spark)
    assert sorted((Path(r.source_file).name, r.line_number, r.raw) for r in lines.collect()) == [
        ("archive.csv.gz", 2, "1,101,aa:bb:cc:dd:ee:01,1677657600"),
        ("archive.csv.gz", 3, "13,113,aa:bb:cc:dd:ee:13,1677657606"),
        ("no-mac.csv", 2, "6,106,1677657605"),
        ("wave-1.csv", 2, "101,1,1677657600,AA:BB:CC:DD:EE:01"),
        ("wave-1.csv", 3, '"102","2","1677657601.5","aa:bb:cc:dd:ee:02"'),
        ("wave-1.csv", 4, "101,1,1677657600,AA:BB:CC:DD:EE:01"),
        ("wave-1.csv", 5, "103,3,1677657602"),
        ("wave-1.csv", 6, "104,4,1677657603,aa:bb:cc:dd:ee:04,extra"),
        ("wave-1.csv", 7, "105,x5,1677657604,aa:bb:cc:dd:ee:05"),
    ]
    users = spark.table("silver.users").select(
        "user_id", "device_id", "mac_address", "registered_at"
    )
    assert sorted(tuple(r) for r in users.collect()) == [
        (1, 101, "aa:bb:cc:dd:ee:01", datetime(2023, 3, 1, 8, 0, 0)),
        (2, 102, "aa:bb:cc:dd:ee:02", datetime(2023, 3, 1, 8, 0, 1, 500000)),
        (7, 107, "aa:bb:cc:dd:ee:07", datetime(2023, 3, 1, 9, 0, 0)),
        (12, 112, "aa:bb:cc:dd:ee:12", datetime(2999, 1, 1)),
        (13, 113, "aa:bb:cc:dd:ee:13", datetime(2023, 3, 1, 8, 0, 6)),
        (14, 114, "aa:bb:cc:dd:ee:14", datetime(2023, 3, 2)),
    ]
    rejected = spark.table("silver.rejected_events").where("source = 'registrations'")
    assert sorted((r.reason, r.value) for r in rejected.collect()) == sorted(
        [
            ("row has 3 fields, the header has 4", "103,3,1677657602"),
            ("row has 5 fields, the header has 4", "104,4,1677657603,aa:bb:cc:dd:ee:04,extra"),
            ("user_id is not an integer", "105,x5,1677657604,aa:bb:cc:dd:ee:05"),
            ("header lacks column mac_address", "6,106,1677657605"),
            (
                "user_id is not an integer",
                db_json('"abc"', "108", '"aa:bb:cc:dd:ee:08"', '"2023-03-01 09:00:01"'),
            ),
            ("registration_timestamp is null", db_json("9", "109", '"aa:bb:cc:dd:ee:09"', "null")),
            (
                "registration_timestamp is not a timestamp",
                db_json("10", "110", '"aa:bb:cc:dd:ee:10"', '"yesterday"'),
            ),
            (
                "device_id is null",
                db_json("11", "null", '"aa:bb:cc:dd:ee:11"', '"2023-03-01 09:00:02"'),
            ),
            ("registration_timestamp is null", db_json("15", "115", '"aa:bb:cc:dd:ee:15"', "null")),
        ]
    )


OLD_EXPORTS = (
    "user_id string, device_id string, mac_address string, registration_timestamp string, "
    "source_file string, ingested_at timestamp"
)
OLD_REGISTRATIONS = (
    "user_id bigint, device_id bigint, mac_address string, registration_timestamp timestamp, "
    "source_table string, ingested_at timestamp"
)


@pytest.mark.integration
def test_old_bronze_tables_gain_columns_and_a_database_failure_holds_back_no_file(
    spark, home, postgres_logins, caplog
):
    settings = scenario_settings(
        home,
        registrations_url=postgres_logins["lakehouse_pw"],
        registrations_retry_attempts=2,
        registrations_retry_backoff_seconds=0.01,
    )
    # bronze as an older ingester left it: no raw text, line numbers or header columns
    landed_at = datetime(2023, 3, 2)
    spark.createDataFrame(
        [("1", "101", "aa:bb:cc:dd:ee:01", "1677657600", "file:/old.csv", landed_at)],
        OLD_EXPORTS,
    ).write.format("delta").save(str(settings.bronze_table("registration_exports")))
    spark.createDataFrame(
        [(7, 107, "aa:bb:cc:dd:ee:07", T0, "registrations", landed_at)], OLD_REGISTRATIONS
    ).write.format("delta").save(str(settings.bronze_table("registrations")))
    exports = settings.landing / "registrations"
    exports.mkdir(parents=True)
    (exports / "new.csv").write_text(NO_MAC_EXPORT)

    with pytest.raises(LakehouseError, match="registrations: .*password authentication failed"):
        ingest_once(spark, settings)

    lines = settings.bronze_table("registration_exports").read(spark)
    assert sorted(
        (tuple(r) for r in lines.drop("ingested_at", "source_file").collect()), key=repr
    ) == sorted(
        [
            ("1", "101", "aa:bb:cc:dd:ee:01", "1677657600", None, None, None, None),
            ("6", "106", None, "1677657605", 2, "6,106,1677657605", 3, NO_MAC_HEADER),
        ],
        key=repr,
    )
    assert settings.bronze_table("registrations").read(spark).columns[-1] == "raw"
    polled = status.report(settings, stream_names=[])["registrations"]
    assert polled["rows"] == 0
    assert polled["watermark"] == T0.isoformat()
    assert polled["error"].startswith(
        "registration database postgresql+psycopg://lakehouse_pw:***@"
    )
    assert SECRET not in polled["error"] and quote_plus(SECRET) not in polled["error"]
    assert any(r.getMessage().startswith("Registrations not polled: ") for r in caplog.records)
