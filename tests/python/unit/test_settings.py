"""Settings from the environment: Kafka security options, the catalog, secrets kept secret."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from ingestion.job import parse_args
from ingestion.settings import load_settings
from lakehouse.dbt import environment

HIDDEN = "-".join(["not", "a", "real", "secret"])
JAAS = " ".join(
    ["PlainLoginModule required", 'username="$ConnectionString"', "=".join(["password", HIDDEN])]
)


def test_kafka_security_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(
        "LAKEHOUSE_KAFKA_OPTIONS",
        '{"kafka.security.protocol": "SASL_SSL", "kafka.sasl.mechanism": "PLAIN"}',
    )
    monkeypatch.setenv("LAKEHOUSE_KAFKA_SASL_JAAS_CONFIG", JAAS)
    settings = load_settings(home=tmp_path)
    assert settings.kafka_source_options() == {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": JAAS,
    }
    assert HIDDEN not in repr(settings) and HIDDEN not in str(settings.model_dump())


def test_without_security_settings_the_source_gets_no_extra_options(tmp_path):
    assert load_settings(home=tmp_path).kafka_source_options() == {}


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [("smartwatch_prod", "smartwatch_prod.bronze.kafka_records"), (None, None)],
)
def test_bronze_tables_by_catalog_name_or_by_path(tmp_path, catalog, expected):
    settings = load_settings(home=tmp_path, env="prod", catalog=catalog)
    table = settings.bronze_table("kafka_records")
    assert table.qualified_name == expected
    assert table.path == (None if catalog else tmp_path / "prod" / "bronze" / "kafka_records")


def test_the_job_passes_the_catalog_through():
    args = parse_args(["--env", "prod", "--mode", "stream", "--catalog", "smartwatch_prod"])
    assert (args.env, args.mode, args.catalog) == ("prod", "stream", "smartwatch_prod")
    assert parse_args([]).mode == "once"


def test_a_config_file_applies_to_its_own_load_only(monkeypatch, tmp_path):
    """Flags beat the environment, the environment beats the file, the file beats the defaults;
    and a file given to one load leaves no trace in the process for the next."""
    monkeypatch.delenv("LAKEHOUSE_CONFIG_FILE", raising=False)
    config = tmp_path / "lakehouse.toml"
    config.write_text('registrations_table = "sales"\ntrigger_interval = "1 minute"\n')
    monkeypatch.setenv("LAKEHOUSE_TRIGGER_INTERVAL", "30 seconds")
    settings = load_settings(home=tmp_path, config_file=config, shuffle_partitions=3)
    assert (settings.registrations_table, settings.trigger_interval) == ("sales", "30 seconds")
    assert settings.shuffle_partitions == 3
    assert "LAKEHOUSE_CONFIG_FILE" not in os.environ
    assert load_settings(home=tmp_path).registrations_table == "registrations"
    monkeypatch.setenv("LAKEHOUSE_CONFIG_FILE", str(config))
    assert load_settings(home=tmp_path).registrations_table == "sales"


def test_dbt_sees_the_environment_only_while_it_runs(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_ENV", "prod")
    monkeypatch.delenv("LAKEHOUSE_HOME", raising=False)
    given = {"LAKEHOUSE_ENV": "test", "LAKEHOUSE_HOME": "/x"}
    with pytest.raises(RuntimeError), environment(given):
        assert (os.environ["LAKEHOUSE_ENV"], os.environ["LAKEHOUSE_HOME"]) == ("test", "/x")
        raise RuntimeError("dbt failed")
    assert os.environ["LAKEHOUSE_ENV"] == "prod"
    assert "LAKEHOUSE_HOME" not in os.environ


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [("10 seconds", 10.0), ("1 minute", 60.0), ("2 hours", 7200.0), ("1 second", 1.0)],
)
def test_the_trigger_interval_in_seconds(tmp_path, interval, seconds):
    assert load_settings(home=tmp_path, trigger_interval=interval).trigger_seconds == seconds


@pytest.mark.parametrize(
    "interval", ["10", "ten seconds", "10 fortnights", "-1 seconds", "0.5 hours", ""]
)
def test_an_unreadable_trigger_interval_is_refused_with_the_form_to_use(tmp_path, interval):
    with pytest.raises(ValidationError, match="e.g. '10 seconds'"):
        load_settings(home=tmp_path, trigger_interval=interval)


QUOTED_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'username="$ConnectionString" password="{HIDDEN}";'
)


def test_kafka_credentials_without_an_encrypted_protocol_are_refused(tmp_path):
    with pytest.raises(ValidationError, match="LAKEHOUSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL"):
        load_settings(home=tmp_path, kafka_sasl_jaas_config=QUOTED_JAAS)
    with pytest.raises(ValidationError, match="SASL_PLAINTEXT"):
        load_settings(
            home=tmp_path,
            kafka_sasl_jaas_config=QUOTED_JAAS,
            kafka_security_protocol="SASL_PLAINTEXT",
        )


def test_the_status_client_reaches_the_broker_as_the_ingester_does(tmp_path):
    settings = load_settings(
        home=tmp_path,
        kafka_bootstrap_servers="ns.servicebus.windows.net:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_sasl_jaas_config=QUOTED_JAAS,
    )
    assert settings.kafka_source_options() == {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": QUOTED_JAAS,
    }
    assert settings.kafka_client_config() == {
        "bootstrap.servers": "ns.servicebus.windows.net:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "$ConnectionString",
        "sasl.password": HIDDEN,
    }


def test_every_secret_of_the_settings_is_known_to_the_redactor(tmp_path):
    database = "-".join(["db", "pass", "word"])
    odbc = "-".join(["odbc", "pass", "word"])
    trust = "-".join(["trust", "pass"])
    url = (
        f"mssql+pyodbc://app:{database}@server/db?odbc_connect="
        f"DRIVER%3D%7BODBC%7D%3BUID%3Dapp%3BPWD%3D{odbc}"
    )
    settings = load_settings(
        home=tmp_path,
        registrations_url=url,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_jaas_config=QUOTED_JAAS,
        kafka_options={"kafka.ssl.truststore.password": trust},
    )
    known = settings.secret_values()
    assert {database, odbc, HIDDEN, QUOTED_JAAS, "trust-pass"} <= set(known)
