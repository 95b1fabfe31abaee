"""No credential is committed; the scanner finds planted ones and lets references through."""

from __future__ import annotations

import pytest

from tests.python.support.credentials import (
    scan_repository,
    scan_text,
)


def test_no_credentials_in_the_repository():
    assert scan_repository() == []


def _planted() -> dict[str, str]:
    """Secret-looking strings, assembled at run time so this file holds none of them."""
    hex32 = "0123456789abcdef" * 2
    key88 = ("Zm9v" * 22)[:86] + "=="
    block = "-" * 5 + "BEGIN " + "RSA " + "PRIVATE KEY" + "-" * 5
    return {
        "Databricks personal access token": f"host = x\ntoken_value dapi{hex32} here",
        "AWS access key": "aws = " + "AKIA" + "ABCDEFGHIJKLMNOP",
        "Azure storage account key": f"AccountName=acct;AccountKey={key88};",
        "private key": block + "\nMIIE...",
        "password in a URL": "url = postgresql://app:" + "s3cr3t" + "@db.example.net/app",
        "literal credential": "conn = connect(pass" + "word='hunter2')",
    }


@pytest.mark.parametrize("kind", sorted(_planted()))
def test_scanner_catches_a_planted_credential(kind):
    assert kind in {finding.kind for finding in scan_text(_planted()[kind], "planted.py")}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("token: \"{{ env_var('DATABRICKS_TOKEN', '') }}\"", "profiles.yml"),
        ("DATABRICKS_CLIENT_SECRET: $(DATABRICKS_CLIENT_SECRET)", "azure-pipelines.yml"),
        ('KEY: "{{secrets/smartwatch/registrations-url}}"', "job.yml"),
        ('password = ""', "settings.py"),
        ("mssql+pymssql://<user>@<server>:<password>@<server>.example.net:1433/db", "README.md"),
        ("token = settings.token", "module.py"),
        ("secret_scope: smartwatch", "databricks.yml"),
    ],
)
def test_scanner_lets_references_and_placeholders_through(text, path):
    assert scan_text(text, path) == []


def test_scanner_reads_unquoted_config_values_as_data():
    line = "  pass" + "word: hunter2"
    assert scan_text(line, "settings.yml")
    assert not scan_text(line, "module.py")
