from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from adtarget.stack import process
from adtarget.stack.errors import StackError


def _spawn(tmp_path: Path, *argv: str) -> process.PidFile:
    pid_file = process.PidFile(tmp_path / "run" / "thing.pid")
    process.spawn(list(argv), pid_file=pid_file, log_file=tmp_path / "log" / "thing.log")
    return pid_file


def test_pid_file_tracks_a_running_process_and_stop_ends_it(tmp_path: Path) -> None:
    pid_file = _spawn(tmp_path, "sleep", "60")
    pid = pid_file.alive_pid()
    assert pid is not None
    assert os.getpgid(pid) == pid  # its own process group

    assert process.stop(pid_file, timeout=5) is True
    assert pid_file.alive_pid() is None
    assert not pid_file.path.exists()
    assert process.stop(pid_file) is False  # stopping twice is harmless


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    pid_file = _spawn(tmp_path, "sh", "-c", f"sleep 60 & echo $! > {marker}; wait")
    deadline = time.monotonic() + 5
    while not marker.exists() or not marker.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(marker.read_text())

    process.stop(pid_file, timeout=5)

    deadline = time.monotonic() + 5
    while process.start_time(child) is not None:
        assert time.monotonic() < deadline, "the group's child outlived stop()"
        time.sleep(0.05)


def test_a_reused_pid_is_not_mistaken_for_ours(tmp_path: Path) -> None:
    pid_file = process.PidFile(tmp_path / "x.pid")
    # Our own PID, but with another start time: what a stale file after a reboot looks like.
    pid_file.path.write_text(f"{os.getpid()} 1\n")
    assert pid_file.alive_pid() is None
    assert process.stop(pid_file) is False
    assert not pid_file.path.exists()


def test_garbage_pid_file_reads_as_not_running(tmp_path: Path) -> None:
    pid_file = process.PidFile(tmp_path / "x.pid")
    pid_file.path.write_text("not a pid\n")
    assert pid_file.alive_pid() is None


def test_port_open() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        assert process.port_open("127.0.0.1", port)
    assert not process.port_open("127.0.0.1", port)


def test_wait_until_names_the_engine_and_log_on_timeout(tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    with pytest.raises(StackError) as err:
        process.wait_until(lambda: False, timeout=0.3, what="slowdb", log_file=log, interval=0.05)
    assert str(err.value).startswith("slowdb: not healthy after 0s")
    assert str(log) in str(err.value)


def test_wait_until_reports_a_process_that_died_with_its_last_log_line(tmp_path: Path) -> None:
    pid_file = process.PidFile(tmp_path / "run" / "thing.pid")
    log = tmp_path / "log" / "thing.log"
    process.spawn(
        [sys.executable, "-c", "print('FATAL: bad config line 7'); raise SystemExit(1)"],
        pid_file=pid_file,
        log_file=log,
    )
    with pytest.raises(StackError) as err:
        process.wait_until(lambda: False, timeout=10, what="thing", log_file=log, pid_file=pid_file)
    message = str(err.value)
    assert message.startswith("thing: the process exited during start-up")
    assert "FATAL: bad config line 7" in message


def test_checks_that_raise_count_as_not_yet_healthy(tmp_path: Path) -> None:
    calls = []

    def check() -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError
        return True

    process.wait_until(check, timeout=5, what="x", log_file=tmp_path / "x.log", interval=0.01)
    assert len(calls) == 3


def test_last_line_skips_blank_lines(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\ntwo\n\n\n")
    assert process.last_line(log) == "two"
    assert process.last_line(tmp_path / "missing.log") == ""


def test_spawned_process_output_goes_to_the_log(tmp_path: Path) -> None:
    pid_file = _spawn(tmp_path, "sh", "-c", "echo hello-from-child")
    pid = pid_file.read()
    assert pid is not None
    deadline = time.monotonic() + 5
    log = tmp_path / "log" / "thing.log"
    while "hello-from-child" not in log.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
