"""Secrets never reach a log line: the redactor on the root logger's handlers."""

from __future__ import annotations

import logging

from ingestion.secrets import MASK, describe_url, redaction

HIDDEN = "-".join(["s3cret", "value/42"])


def test_a_log_line_and_its_traceback_lose_every_known_secret(caplog):
    caplog.set_level(logging.INFO)
    redaction([HIDDEN])
    log = logging.getLogger("lakehouse.test")
    try:
        raise RuntimeError(f"could not connect with {HIDDEN}")
    except RuntimeError:
        log.exception("failed for %s at %s", HIDDEN, "postgresql://app:" + "other@host/db")
    assert HIDDEN not in caplog.text
    assert "other" not in caplog.text
    assert f"failed for {MASK} at postgresql://app:{MASK}@host/db" in caplog.text
    assert f"could not connect with {MASK}" in caplog.text


def test_password_like_items_are_masked_without_being_known(caplog):
    caplog.set_level(logging.INFO)
    redaction([])
    logging.getLogger("lakehouse.test").info("DRIVER={x};UID=app;PWD={pa;ss};Server=s")
    assert "pa;ss" not in caplog.text and f"PWD={MASK}" in caplog.text


def test_a_url_is_described_without_its_password():
    shown = describe_url(f"postgresql+psycopg://app:{HIDDEN.replace('/', '%2F')}@db:5432/reg")
    assert shown == f"postgresql+psycopg://app:{MASK}@db:5432/reg"
