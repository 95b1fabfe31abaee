"""Secrets never shown: database URLs rendered without their password, and a logging filter that
takes every known secret (and anything password-like) out of each log line and error message."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import sqlalchemy as sa

MASK = "***"
_SECRET_KEYS = re.compile(r"(?i)^(password|passwd|pwd|odbc_connect|.*secret.*|.*token.*)$")
_PASSWORD_ITEM = re.compile(r"(?i)\b(pwd|password)\s*=\s*(\{[^}]*\}|\"[^\"]*\"|[^;&\s\"]*)")
_USERINFO_PASSWORD = re.compile(r"(//[^:/@\s]*):[^@\s]*@")


def url_secrets(url: str) -> list[str]:
    """The URL's password and password-like query values (inside ``odbc_connect`` too)."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return []
    found = [parsed.password] if parsed.password else []
    for key, values in parsed.query.items():
        for value in (values,) if isinstance(values, str) else values:
            if key.lower() == "odbc_connect":
                found += [m.group(2).strip('{}"') for m in _PASSWORD_ITEM.finditer(value)]
            elif _SECRET_KEYS.match(key):
                found.append(value)
    return [s for s in found if s]


def jaas_secrets(jaas: str) -> list[str]:
    """The passwords of a JAAS configuration (``password="..."``), and the configuration."""
    return [jaas, *(m.group(2).strip('"') for m in _PASSWORD_ITEM.finditer(jaas))]


def jaas_credentials(jaas: str) -> tuple[str, str]:
    """The ``username`` and ``password`` of a JAAS login module configuration."""
    found = dict(re.findall(r'(username|password)\s*=\s*"([^"]*)"', jaas))
    missing = {"username", "password"} - set(found)
    if missing:
        raise ValueError(
            f'the Kafka JAAS configuration has no {" or ".join(sorted(missing))}="...": write '
            'it as <LoginModule> required username="..." password="...";'
        )
    return found["username"], found["password"]


def redact_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (as written or URL-encoded), nor anything that looks
    like a password (``password=...``, ``PWD=...``, ``user:password@``)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    text = _PASSWORD_ITEM.sub(rf"\1={MASK}", text)
    return _USERINFO_PASSWORD.sub(rf"\1:{MASK}@", text)


def redact(text: str, url: str) -> str:
    """``text`` without the password of ``url`` (in any encoding) or anything password-like."""
    return redact_values(text, url_secrets(url))


def describe_url(url: str) -> str:
    """The database URL to show in messages and logs: no password, no secret query value."""
    try:
        parsed = sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        return "(an unparseable URL)"
    query = {
        k: (_PASSWORD_ITEM.sub(rf"\1={MASK}", v) if k.lower() == "odbc_connect" else MASK)
        if _SECRET_KEYS.match(k) and isinstance(v, str)
        else v
        for k, v in parsed.query.items()
    }
    return redact(parsed.set(query=query).render_as_string(hide_password=True), url)


class Redactor(logging.Filter):
    """A handler filter that rewrites each record's message without the secrets it knows."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        self.secrets |= {s for s in secrets if s}

    def __call__(self, text: str) -> str:
        return redact_values(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self(message), None
        if record.exc_text:
            record.exc_text = self(record.exc_text)
        return True


def redaction(secrets: Iterable[str]) -> Redactor:
    """The process's redactor, on every handler of the root logger, knowing ``secrets`` too."""
    root = logging.getLogger()
    found = (
        next((f for h in root.handlers for f in h.filters if isinstance(f, Redactor)), None)
        or Redactor()
    )
    found.add(secrets)
    for handler in root.handlers:
        if found not in handler.filters:
            handler.addFilter(found)
    return found
