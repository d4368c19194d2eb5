"""Submitting ``spark/load_profiles.py`` for one day, from the Airflow task, tests or benches."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from adtarget import spark_submit
from adtarget.profiles.config import CassandraSettings, settings_env
from adtarget.profiles.loader import DEFAULT_CHUNKS
from adtarget.stack.config import StackSettings


def load_day(
    settings: StackSettings,
    day: dt.date,
    *,
    cassandra: CassandraSettings,
    tables: Sequence[str] = (),
    load_id: str | None = None,
    chunks: int = DEFAULT_CHUNKS,
    rate: float = 0.0,
    adaptive: bool = False,
    restart: bool = False,
    force: bool = False,
    quiet: bool = False,
) -> dict[str, Any]:
    """Load ``day`` into the profile tables; returns the job's summary (rows per table)."""
    args = ["--day", day.isoformat(), "--chunks", str(chunks), "--rate", str(rate)]
    if tables:
        args += ["--tables", *tables]
    if load_id:
        args += ["--load-id", load_id]
    if adaptive:
        args.append("--adaptive")
    if restart:
        args.append("--restart")
    if force:
        args.append("--force")
    out = spark_submit.submit(settings, "load_profiles.py", args, env=settings_env(cassandra), quiet=quiet)
    summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return summary
