"""The SMTP sink's folder as tests read it: wait for the mails that match, written since a time."""

from __future__ import annotations

import email
import email.policy
import time
from collections.abc import Callable
from email.message import EmailMessage

from adtarget.stack.config import StackSettings


def mails(settings: StackSettings, since: float, match: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
    """The mails in the sink's folder written at or after ``since`` (epoch seconds) that ``match``."""
    found = []
    for path in sorted(settings.mail_dir.glob("*.eml")):
        if path.stat().st_mtime < since:
            continue
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if isinstance(message, EmailMessage) and match(message):
            found.append(message)
    return found


def wait_for_mails(
    settings: StackSettings,
    since: float,
    match: Callable[[EmailMessage], bool],
    *,
    what: str,
    timeout: float = 60,
) -> list[EmailMessage]:
    """:func:`mails` once there is at least one; fails naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := mails(settings, since, match)):
        assert time.monotonic() < deadline, f"no {what} in {settings.mail_dir} after {timeout:g} s"
        time.sleep(0.2)
    return found


def html_part(message: EmailMessage) -> str:
    """The text of a mail's HTML part (fails when it has none)."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None, f"mail {message['Subject']!r} has no HTML part"
    return str(part.get_content())
