"""The report as a mail: a plain-text part and the HTML page, sent over SMTP."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


def message(*, sender: str, to: Sequence[str], subject: str, text: str, html: str) -> EmailMessage:
    """``multipart/alternative``: clients that show HTML show the page, others the text."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def send(
    msg: EmailMessage,
    *,
    host: str,
    port: int,
    login: str | None = None,
    password: str | None = None,
    use_ssl: bool = False,
    starttls: bool = False,
    timeout: float = 30.0,
) -> None:
    """Deliver ``msg``; an ``smtplib.SMTPException`` or ``OSError`` when the server refuses."""
    context = ssl.create_default_context()
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        if use_ssl
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    with client:
        if starttls and not use_ssl:
            client.starttls(context=context)
        if login:
            client.login(login, password or "")
        client.send_message(msg)
