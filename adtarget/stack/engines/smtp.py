"""The local SMTP sink: every mail the platform sends lands as a file under ``var/mail``."""

from __future__ import annotations

import os
import smtplib

from adtarget.stack.engine import Engine, Launch


class Smtp(Engine):
    """aiosmtpd on loopback, run from the project's venv."""

    name = "smtp"
    timeout = 30.0

    def ports(self) -> list[int]:
        return [self.settings.smtp_port]

    def endpoint(self) -> str:
        return f"smtp://{self.settings.host}:{self.settings.smtp_port} -> {self.settings.mail_dir}"

    def launch(self) -> Launch:
        s = self.settings
        argv: list[str | os.PathLike[str]] = [
            s.venv_bin / "python",
            "-m",
            "adtarget.stack.mailsink",
            "--host",
            s.host,
            "--port",
            str(s.smtp_port),
            "--dir",
            str(s.mail_dir),
        ]
        return Launch(argv=argv)

    def healthy(self) -> bool:
        with smtplib.SMTP(self.settings.host, self.settings.smtp_port, timeout=2) as smtp:
            code, _ = smtp.noop()
            return code == 250
