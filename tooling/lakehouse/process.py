"""Local servers run in the background (the Kafka broker, the SQL warehouse): started in a
session of their own, known by a pid file, stopped with their whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from ingestion.errors import LakehouseError


def running_pid(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if that process is alive."""
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().strip())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError):  # reap it if it is our own child
            os.waitpid(pid, os.WNOHANG)
        return None
    return pid


def spawn(command: list[str], pid_file: Path, log_file: Path, env: dict[str, str] | None = None):
    """Start ``command`` in a session of its own, its output appended to ``log_file``."""
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )
    pid_file.write_text(str(process.pid))
    return process


def wait_ready(
    name: str, pid_file: Path, log_file: Path, ready: Callable[[], bool], timeout: float
) -> None:
    """Wait until ``ready()``; fail when the process exits or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if running_pid(pid_file) is None:
            raise LakehouseError(f"the {name} exited at start: see {log_file}")
        if ready():
            return
        time.sleep(0.5)
    raise LakehouseError(f"the {name} did not answer within {timeout:.0f}s: see {log_file}")


def stop(pid_file: Path, *, timeout: float = 30.0) -> bool:
    """Stop ``pid_file``'s process gracefully (SIGTERM), then whatever of its process group is
    left (after ``timeout`` at most) forcefully. False if it was not running."""
    pid = running_pid(pid_file)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)  # the leader stops its children (a JVM) itself
    deadline = time.monotonic() + timeout
    while running_pid(pid_file) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):  # what is left of the group, if anything
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True
