"""A scan of text and of every tracked file for credential-looking strings."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakehouse.project import REPO_ROOT as REPO

# --------------------------------------------------------------------------------
SECRET_WORD = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)"
# key: value / key = value, where the key (any case, any prefix) ends with a secret word
ASSIGNMENT = re.compile(
    r"(?i)(?<![\w-])(?:[\w-]*[_-])?"
    + SECRET_WORD
    + r"""['"]?\s*[:=]\s*(?P<value>"[^"]*"|'[^']*'|[^\s,;#)]+)"""
)
PATTERNS = {
    "Databricks personal access token": re.compile(r"\bdapi[0-9a-f]{32}(?:-\d+)?\b"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "Azure storage account key": re.compile(
        r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "password in a URL": re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@<>{}$]+:(?P<value>[^\s@/<>]+)@"),
}
CONFIG_SUFFIXES = {".yml", ".yaml", ".toml", ".ini", ".cfg", ".env", ".properties", ".sqlfluff"}


def _placeholder(value: str) -> bool:
    """An empty value, or one taken from elsewhere at run time (an f-string's ``{...}`` too)."""
    value = value.strip().strip("'\"").strip()
    return (
        not value
        or value.startswith(("$(", "${", "{", "<", "%(", "env_var(", "os.environ", "$"))
        or "{{secrets/" in value
        or set(value) <= set("*x.\\")  # masked, also as a regular expression (\\*)
    )


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str


def scan_text(text: str, path: str = "<text>") -> list[Finding]:
    findings = []
    config = Path(path).suffix in CONFIG_SUFFIXES or Path(path).name.startswith(".env")
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                if "value" in pattern.groupindex and _placeholder(match["value"]):
                    continue
                findings.append(Finding(path, number, kind))
        for match in ASSIGNMENT.finditer(line):
            value = match["value"]
            quoted = value[:1] in "'\"" and value[-1:] == value[:1] and len(value) > 1
            # In code an unquoted value is an expression (a name, a call); in config it is data.
            if (quoted or config) and not _placeholder(value):
                findings.append(Finding(path, number, "literal credential"))
    return findings


def scan_repository() -> list[Finding]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    findings = []
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        findings += scan_text(data.decode("utf-8", errors="replace"), name)
    return findings
