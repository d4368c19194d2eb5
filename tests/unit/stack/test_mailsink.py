from __future__ import annotations

import asyncio
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.smtp import Envelope

from adtarget.stack.mailsink import MaildirHandler


def test_each_mail_is_kept_as_one_eml_file_with_its_envelope(tmp_path: Path) -> None:
    handler = MaildirHandler(tmp_path / "mail")
    envelope = Envelope()
    envelope.mail_from = "report@adtarget"
    envelope.rcpt_tos = ["sales@example.com", "ops@example.com"]
    envelope.original_content = b"Subject: daily report\r\n\r\n<h1>ok</h1>\r\n"

    reply = asyncio.run(handler.handle_DATA(None, None, envelope))  # type: ignore[arg-type]

    assert reply.startswith("250")
    files = list((tmp_path / "mail").iterdir())
    assert [f.suffix for f in files] == [".eml"]
    msg = message_from_bytes(files[0].read_bytes())
    assert msg["Subject"] == "daily report"
    assert msg["X-Adtarget-Rcpt-To"] == "sales@example.com, ops@example.com"
    assert msg["X-Adtarget-Mail-From"] == "report@adtarget"
