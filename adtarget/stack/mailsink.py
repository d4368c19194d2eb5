"""A local SMTP server (aiosmtpd) that keeps every received mail as an ``.eml`` file.

Run by the stack as ``python -m adtarget.stack.mailsink --port 8025 --dir var/mail``; the daily
report and Airflow's failure alerts are delivered here on embedded defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import os
import signal
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """Writes each message, with its envelope, atomically to ``<dir>/<time>-<id>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        headers = (
            f"X-Adtarget-Mail-From: {envelope.mail_from}\r\n"
            f"X-Adtarget-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
            f"X-Adtarget-Received: {email.utils.formatdate(usegmt=True)}\r\n"
        ).encode()
        name = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}.eml"
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(headers + content)
        # A reader polling the folder never sees half a mail.
        os.replace(tmp, self.directory / name)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP sink that stores every mail as a file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, required=True, help="folder for the .eml files")
    args = parser.parse_args()
    controller = Controller(MaildirHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"mailsink: listening on {args.host}:{args.port}, writing to {args.dir}", flush=True)

    async def wait_for_signal() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait_for_signal())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
