"""No secret in any log line or message: every command runs with secret-bearing settings (a
registration database URL with a password, Kafka SASL credentials) against servers that refuse
it, and nothing it prints, logs or raises holds a secret, in any encoding."""

from __future__ import annotations

import json
import logging
import sys
from urllib.parse import quote, quote_plus

import pytest

from tests.python.support.cli import run_cli
from tests.python.support.servers import free_port

DATABASE_HIDDEN = "-".join(["db", "S3cret", "pass/word"])
KAFKA_HIDDEN = "-".join(["kafka", "S3cret", "pass"])
TRUSTSTORE_HIDDEN = "-".join(["trust", "S3cret", "pass"])
SECRETS = (DATABASE_HIDDEN, KAFKA_HIDDEN, TRUSTSTORE_HIDDEN)

#: Every `lakehouse` command, with arguments that make it reach the secret-bearing settings.
COMMANDS = [
    ["simulate", "--users", "2", "--days", "1"],
    ["ingest", "--once"],
    ["ingest", "--once", "--kafka"],
    ["run"],
    ["status"],
    ["status", "--format", "json"],
    ["audit", "--kafka"],
    ["sql", "select 1 as one"],
    ["kafka", "status"],
    ["build", "--select", "no_such_model"],
    ["docs", "--no-serve"],
    ["demo", "--users", "2", "--days", "1"],
]


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret)}


@pytest.fixture
def secret_settings(monkeypatch):
    """Environment settings holding both secrets, pointing at ports nothing listens on."""
    url = (
        f"postgresql+psycopg://lakehouse:{quote_plus(DATABASE_HIDDEN)}"
        f"@127.0.0.1:{free_port()}/registrations"
    )
    jaas = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="$ConnectionString" password="{KAFKA_HIDDEN}";'
    )
    for name, value in {
        "LAKEHOUSE_REGISTRATIONS_URL": url,
        "LAKEHOUSE_REGISTRATIONS_RETRY_ATTEMPTS": "1",
        "LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "LAKEHOUSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "LAKEHOUSE_KAFKA_SASL_MECHANISM": "PLAIN",
        "LAKEHOUSE_KAFKA_SASL_JAAS_CONFIG": jaas,
        # a secret-like option, and timeouts so that the unreachable broker fails fast
        "LAKEHOUSE_KAFKA_OPTIONS": json.dumps(
            {
                "kafka.ssl.truststore.password": TRUSTSTORE_HIDDEN,
                "kafka.default.api.timeout.ms": "5000",
                "kafka.request.timeout.ms": "5000",
            }
        ),
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.integration
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_no_command_shows_a_secret(spark, home, secret_settings, monkeypatch, capsys, caplog, args):
    caplog.set_level(logging.DEBUG)
    code, out, err = run_cli(monkeypatch, capsys, "--home", str(home), "--env", "test", *args)
    seen = "\n".join([out, err, caplog.text])
    for shown in {form for secret in SECRETS for form in forms(secret)}:
        assert shown not in seen, f"lakehouse {' '.join(args)} showed a secret"
    assert seen.strip(), "the command said nothing at all"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("simulator.cli", ["lakehouse-simulate", "--env", "test", "--users", "2", "--days", "1"]),
        ("ingestion.job", ["lakehouse-ingest", "--env", "test", "--mode", "once"]),
    ],
)
def test_the_wheels_entry_points_fail_without_showing_a_secret(
    spark, home, secret_settings, monkeypatch, capsys, caplog, module, argv
):
    import importlib

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(sys, "argv", [*argv, "--home", str(home)])
    with pytest.raises(SystemExit) as exit_:
        importlib.import_module(module).main()
    assert exit_.value.code == 1, "the unreachable registration database must fail the run"
    out, err = capsys.readouterr()
    seen = "\n".join([out, err, caplog.text])
    assert "failed" in caplog.text
    for shown in {form for secret in SECRETS for form in forms(secret)}:
        assert shown not in seen, f"{argv[0]} showed a secret"
