"""Stalling the stack's real Cassandra for a moment (SIGSTOP), for the fault tests."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.cassandra import Cassandra


def cassandra_pid(settings: StackSettings) -> int:
    """The PID of the stack's Cassandra (from its PID file)."""
    pid = Cassandra(settings).pid_file.alive_pid()
    assert pid is not None, "cassandra is not running"
    return pid


def stopped(pid: int, timeout: float = 2.0) -> None:
    """Wait until every thread of ``pid`` is stopped: SIGSTOP is delivered asynchronously, and a
    thread still running on the other core could answer one more read (CI saw it once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        if states and all(state in ("T", "t") for state in states):
            return
        time.sleep(0.005)
    raise AssertionError(f"cassandra ({pid}) did not stop within {timeout} s")


@contextlib.contextmanager
def stalled(settings: StackSettings) -> Iterator[int]:
    """Cassandra stopped (every thread) for the ``with`` block; continued however it ends."""
    pid = cassandra_pid(settings)
    os.kill(pid, signal.SIGSTOP)
    try:
        stopped(pid)
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
