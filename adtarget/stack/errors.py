"""The one exception of the stack launcher: a message a person can act on."""

from __future__ import annotations


class StackError(Exception):
    """An engine could not be set up, started or stopped.

    The message is one line naming the engine, what went wrong, the log file to read and what
    to do; the CLI prints it as it is and exits non-zero.
    """
