"""Processes of our own, tracked by PID files that we write (never found by matching names).

A PID file holds the PID and the process's start time (from ``/proc``), so a PID reused by
an unrelated process after a crash is never mistaken for ours, let alone signalled.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adtarget.stack.errors import StackError


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3 and on of ``/proc/<pid>/stat`` (index 0 is the state), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields after it are clean.
    return stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time ``pid`` has used so far, in seconds, or None if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # A zombie has exited and its parent has just not reaped it. But a JVM's main thread can
    # exit first while its other threads still shut down (holding its ports): the leader then
    # shows "Z" with num_threads (field 20) above one, and the process is still alive.
    if fields[0] == "Z" and int(fields[17]) <= 1:
        return None
    return fields[19]


@dataclass(frozen=True)
class PidFile:
    """The PID file of one named process under the stack's run folder."""

    path: Path

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started = start_time(pid) or "?"
        self.path.write_text(f"{pid} {started}\n")

    def read(self) -> tuple[int, str] | None:
        try:
            pid_text, started = self.path.read_text().split()
            return int(pid_text), started
        except (OSError, ValueError):
            return None

    def alive_pid(self) -> int | None:
        """The PID if the process that we started is still running, else None."""
        entry = self.read()
        if entry is None:
            return None
        pid, started = entry
        return pid if start_time(pid) == started else None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def as_user(user: str | None) -> dict[str, Any]:
    """Popen arguments that run a child as ``user`` with that user's group only.

    ``user=`` alone would keep root's group, and a folder with ``rwx-----x`` then denies
    access through its (root) group bits before the "others" bits are even read.
    """
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    pid_file: PidFile,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start ``argv`` detached in its own session, output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - argv is built by the launcher, never a shell
            [str(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # its own process group: stopped as a whole, spared our ^C
            **as_user(user),
        )
    pid_file.write(proc.pid)
    return proc.pid


def stop(pid_file: PidFile, *, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> bool:
    """Stop the process group of the PID file: ``sig``, then SIGKILL after ``timeout``.

    Returns True if something of ours was running.
    """
    pid = pid_file.alive_pid()
    if pid is None:
        pid_file.remove()
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_file.alive_pid() is not None:
        _reap(pid)
        time.sleep(0.2)
    if pid_file.alive_pid() is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while pid_file.alive_pid() is not None:
            if time.monotonic() > deadline:  # e.g. stuck in uninterruptible I/O
                raise StackError(f"{pid_file.path.stem}: pid {pid} survives SIGKILL; its PID file is kept")
            _reap(pid)
            time.sleep(0.1)
    # Children that outlived the leader in its group (a JVM's forks, airflow's workers).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    pid_file.remove()
    return True


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child (so it does not linger as a zombie)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the kernel's pick), for a throw-away server."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_open(host: str, port: int, *, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log_file: Path,
    pid_file: PidFile | None = None,
    interval: float = 0.5,
) -> None:
    """Poll ``check`` until it holds; fail with a one-line error naming the engine and its log."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if pid_file is not None and pid_file.alive_pid() is None:
            raise StackError(
                f"{what}: the process exited during start-up; read {log_file} "
                f"(last line: {last_line(log_file)!r})"
            )
        if time.monotonic() > deadline:
            raise StackError(
                f"{what}: not healthy after {timeout:.0f}s; read {log_file}, then "
                f"`make down` and `make up` (or raise ADTARGET_START_TIMEOUT on a slow machine)"
            )
        time.sleep(interval)


def last_line(path: Path) -> str:
    """The last non-empty line of a log file, for error messages."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
