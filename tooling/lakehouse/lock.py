"""Who may write an environment's tables on the embedded default at once.

The ingester and a build write side by side (each commit is a Delta transaction); an erasure
rewrites whole tables and replaces their folders, so it must be alone. Each command that writes
holds the environment's writers lock: shared for the ingester and a build, exclusive for an
erasure. A build also holds the build lock alone: two builds of the same models, one in process
and one through the SQL warehouse or two through it, would write the same tables at once, and
Delta would fail one of them halfway. A command that cannot have a lock stops at once with a
message saying which one to wait for; the operating system releases a lock when a process ends,
however it ends.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ingestion.errors import LakehouseError
from ingestion.settings import Settings

LOCK_FILE = ".writers.lock"
BUILD_LOCK_FILE = ".build.lock"


def lock_path(settings: Settings, name: str = LOCK_FILE) -> Path:
    return settings.root / name


@contextmanager
def writing(settings: Settings, *, alone: bool, doing: str) -> Iterator[None]:
    """Hold the environment's writers lock while the block runs: exclusive when ``alone`` (an
    erasure), shared otherwise (the ingester, a build). ``doing`` names the command in the
    message another command gets while this one holds it."""

    def refusal(holder: str) -> str:
        return _refusal(settings, alone=alone, doing=doing, holder=holder)

    with _held(lock_path(settings), alone=alone, doing=doing, refusal=refusal):
        yield


@contextmanager
def building(settings: Settings, *, doing: str) -> Iterator[None]:
    """Hold the writers lock shared (the ingester goes on) and the build lock alone while the
    block builds the environment's tables: one build at a time, wherever it runs."""
    env = settings.env.value

    def refusal(holder: str) -> str:
        return (
            f"cannot {doing} in env {env}: {holder or 'another build'} is building its tables; "
            f"run the command again when it has ended"
        )

    with (
        writing(settings, alone=False, doing=doing),
        _held(lock_path(settings, BUILD_LOCK_FILE), alone=True, doing=doing, refusal=refusal),
    ):
        yield


@contextmanager
def _held(path: Path, *, alone: bool, doing: str, refusal: Callable[[str], str]) -> Iterator[None]:
    """Hold the lock file ``path``, exclusive when ``alone``, else shared; a lock that cannot be
    had raises ``refusal(holder)``, the holder named by the file (an exclusive holder writes
    ``doing`` and its process there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if alone else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError as held:
            handle.seek(0)
            raise LakehouseError(refusal(handle.read().strip())) from held
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
