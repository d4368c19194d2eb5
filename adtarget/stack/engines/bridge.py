"""The socket-to-Kafka bridge (``streaming.bridge``): the ad server's events into Kafka."""

from __future__ import annotations

import os
import socket

from adtarget.stack.engine import Engine, Launch


class Bridge(Engine):
    """``python -m streaming.bridge`` on loopback, writing to the stack's Kafka."""

    name = "bridge"
    requires = ("kafka",)
    timeout = 60.0

    def ports(self) -> list[int]:
        return [self.settings.bridge_port, self.settings.bridge_metrics_port]

    def endpoint(self) -> str:
        s = self.settings
        return f"tcp://{s.host}:{s.bridge_port} -> kafka (metrics :{s.bridge_metrics_port})"

    def launch(self) -> Launch:
        s = self.settings
        argv: list[str | os.PathLike[str]] = [s.venv_bin / "python", "-m", "streaming.bridge"]
        env = {
            "STREAMING_KAFKA_BOOTSTRAP": s.kafka_bootstrap,
            "STREAMING_BRIDGE_HOST": s.host,
            "STREAMING_BRIDGE_PORT": str(s.bridge_port),
            "STREAMING_BRIDGE_METRICS_PORT": str(s.bridge_metrics_port),
        }
        return Launch(argv=argv, env=env)

    def healthy(self) -> bool:
        with socket.create_connection((self.settings.host, self.settings.bridge_port), timeout=2):
            return True
