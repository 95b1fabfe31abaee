"""Who may write an environment's tables on the embedded default at once.

The ingester and the builds write side by side (each commit is a Delta transaction); an erasure
rewrites whole tables and replaces their folders, so it must be alone. Each command that writes
holds the environment's writers lock: shared for the ingester and the builds, exclusive for an
erasure. A command that cannot have it stops at once with a message saying which one to wait for;
the operating system releases the lock when a process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingestion.errors import LakehouseError
from ingestion.settings import Settings

LOCK_FILE = ".writers.lock"


def lock_path(settings: Settings) -> Path:
    return settings.root / LOCK_FILE


@contextmanager
def writing(settings: Settings, *, alone: bool, doing: str) -> Iterator[None]:
    """Hold the environment's writers lock while the block runs: exclusive when ``alone`` (an
    erasure), shared otherwise (the ingester, a build). ``doing`` names the command in the
    message another command gets while this one holds it."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if alone else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError as held:
            handle.seek(0)
            holder = handle.read().strip()
            refusal = _refusal(settings, alone=alone, doing=doing, holder=holder)
            raise LakehouseError(refusal) from held
        if alone:  # the one holder: name it for the commands it turns away
            handle.truncate(0)
            handle.write(f"{doing} (process {os.getpid()})\n")
            handle.flush()
        try:
            yield
        finally:
            if alone:
                handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _refusal(settings: Settings, *, alone: bool, doing: str, holder: str) -> str:
    env = settings.env.value
    if alone:
        return (
            f"cannot {doing} in env {env}: an ingester or a build is writing its tables; stop "
            f"it (a streaming `lakehouse ingest` stops with Ctrl-C), wait for builds to end, "
            f"then run the command again"
        )
    return (
        f"cannot {doing} in env {env}: {holder or 'an erasure'} is rewriting its tables; run "
        f"the command again when it has ended"
    )
