"""The timer-slack launcher: the command it runs, and every thread that command starts, has it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adtarget.stack import timer_slack

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timer slack is Linux's")

# A child that reports its main thread's slack and the slack of a thread it starts.
REPORT = (
    "import ctypes, threading\n"
    "def slack(): return ctypes.CDLL(None).prctl(30, 0, 0, 0, 0)  # PR_GET_TIMERSLACK\n"
    "seen = []\n"
    "t = threading.Thread(target=lambda: seen.append(slack())); t.start(); t.join()\n"
    "print(slack(), seen[0])\n"
)


def test_the_command_and_its_threads_run_with_the_slack() -> None:
    argv = timer_slack.wrap([sys.executable, "-c", REPORT], 1_234_000)
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert out == ["1234000", "1234000"]


def test_no_slack_leaves_the_command_alone() -> None:
    argv = [sys.executable, "-c", REPORT]
    assert timer_slack.wrap(argv, 0) == argv
    default = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert default[0] != "1234000"


def test_a_negative_slack_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="nanoseconds: -1"):
        timer_slack.set_timer_slack(-1)


def test_usage_errors_print_the_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "adtarget.stack.timer_slack", "soon", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Usage" in done.stderr
