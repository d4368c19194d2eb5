"""The realtime report's Faust worker (``streaming.report_app``): ad events into report windows."""

from __future__ import annotations

import os
import urllib.request

from adtarget.profiles.config import CassandraSettings, settings_env
from adtarget.stack.engine import Engine, Launch


class Report(Engine):
    """``python -m streaming.report_app`` on loopback: Kafka in, Cassandra and the report topic out."""

    name = "report"
    requires = ("kafka", "cassandra")
    timeout = 90.0

    def ports(self) -> list[int]:
        return [self.settings.report_port]

    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.report_port}/report.html"

    def launch(self) -> Launch:
        s = self.settings
        argv: list[str | os.PathLike[str]] = [s.venv_bin / "python", "-m", "streaming.report_app"]
        env = {
            "STREAMING_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "STREAMING_REPORT_HOST": s.host,
            "STREAMING_REPORT_PORT": str(s.report_port),
            "STREAMING_REPORT_DATADIR": str(s.var_dir / "streaming" / "report"),
            **settings_env(CassandraSettings(hosts=[s.host], port=s.cassandra_port)),
        }
        return Launch(argv=argv, env=env)

    def healthy(self) -> bool:
        # /readyz, not just the web server: the worker has its partitions and can count.
        url = f"http://{self.settings.host}:{self.settings.report_port}/readyz"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
