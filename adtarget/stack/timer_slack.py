"""Timer slack: run a command whose every thread may wake up to N ns late from a timed sleep.

Cassandra's request threads (its shared executor pool) do not park when they run out of work:
each keeps sleeping 10 us to 1 ms at a time, up to about 10 ms, waiting for the next request.
Under a light, bursty load such as the profile API's (12 reads per request) that spinning costs
more than the reads: on the 2-core dev machine a node spent 46-73 % of a core at any rate from 25
to 400 API requests/s. Linux rounds a timed sleep up by the thread's *timer slack* (50 us by
default), so a slack of 1 ms turns the spinning into a few wake-ups per burst: 20-30 % of a core
at 100-300 requests/s. Only timeouts are delayed; a thread woken by work (a request, a signal, a
lock) is not.

Usage: ``python -m adtarget.stack.timer_slack NANOSECONDS COMMAND [ARG...]``. The slack is set
on this process and kept across ``exec``, and threads inherit it from their creator, so the whole
command runs with it. Where ``prctl`` is missing (not Linux) the command runs unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Sequence

#: ``PR_SET_TIMERSLACK`` of <linux/prctl.h>.
PR_SET_TIMERSLACK = 29


def set_timer_slack(nanoseconds: int) -> bool:
    """Set this thread's timer slack; False where the platform has no ``prctl``."""
    if nanoseconds < 0:
        raise ValueError(f"nanoseconds: {nanoseconds!r} must be 0 (the default) or more")
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(nanoseconds), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_TIMERSLACK, {nanoseconds}): {os.strerror(err)}")
    return True


def wrap(argv: Sequence[str | os.PathLike[str]], nanoseconds: int) -> list[str | os.PathLike[str]]:
    """``argv`` run under this module with ``nanoseconds`` of slack (unchanged for 0)."""
    if nanoseconds <= 0:
        return list(argv)
    return [sys.executable, "-m", "adtarget.stack.timer_slack", str(nanoseconds), *argv]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 2 or not args[0].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    set_timer_slack(int(args[0]))
    os.execvp(args[1], args[1:])  # noqa: S606 - the launcher's own argv, never a shell


if __name__ == "__main__":
    raise SystemExit(main())
