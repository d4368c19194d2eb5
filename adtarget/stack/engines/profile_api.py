"""The profile API (``python -m serving``): what the ad server asks, on the stack's Cassandra."""

from __future__ import annotations

import os
import secrets
import urllib.request

from adtarget.profiles.config import CassandraSettings, settings_env
from adtarget.stack.config import StackSettings
from adtarget.stack.engine import Engine, Launch
from adtarget.stack.secret_file import kept_secrets


def profile_api_token(settings: StackSettings) -> str:
    """The ad server's bearer token on embedded defaults: made once per checkout, kept under
    ``var/serving`` (never committed), printed by ``make up``."""
    path = settings.var_dir / "serving" / "secrets.json"
    return kept_secrets(path, lambda: {"token": secrets.token_urlsafe(24)})["token"]


class ProfileApi(Engine):
    """uvicorn with two workers on loopback; ready when Cassandra answers it (``/readyz``)."""

    name = "profile-api"
    requires = ("cassandra",)
    timeout = 60.0

    def ports(self) -> list[int]:
        return [self.settings.profile_api_port]

    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.profile_api_port}/v1/profiles/{{adid}}"

    def launch(self) -> Launch:
        s = self.settings
        argv: list[str | os.PathLike[str]] = [s.venv_bin / "python", "-m", "serving"]
        env = {
            "SERVING_HOST": s.host,
            "SERVING_PORT": str(s.profile_api_port),
            "SERVING_TOKENS": profile_api_token(s),
            # Emptied by `python -m serving` at start: each worker writes its metrics there.
            "PROMETHEUS_MULTIPROC_DIR": str(s.var_dir / "serving" / "metrics"),
            **settings_env(CassandraSettings(hosts=[s.host], port=s.cassandra_port)),
        }
        return Launch(argv=argv, env=env)

    def healthy(self) -> bool:
        url = f"http://{self.settings.host}:{self.settings.profile_api_port}/readyz"
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
