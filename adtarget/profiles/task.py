"""What the ``profile_load`` DAG's task does, importable and testable outside Airflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adtarget.profiles import migrations
from adtarget.profiles.config import cluster, settings_from_connection
from adtarget.profiles.job import load_day
from adtarget.stack.config import StackSettings


def load_day_task(
    ds: str | None, *, rate: float = 0.0, force: bool = False, conn_id: str = "cassandra_default"
) -> dict[str, Any]:
    """Apply pending migrations, then load day ``ds``; returns the load's summary (an XCom).

    The load id is the day, so Airflow's retries resume from the last checkpointed chunk.
    """
    if not ds:
        raise ValueError("day: a manual run needs the param 'day' (YYYY-MM-DD); the run has no logical date")
    try:
        day = dt.date.fromisoformat(ds)
    except ValueError:
        raise ValueError(f"day: {ds!r} is not a date (YYYY-MM-DD)") from None
    cassandra = settings_from_connection(conn_id)
    with cluster(cassandra) as c:
        migrations.migrate(c.connect(), cassandra)
    summary = load_day(StackSettings(), day, cassandra=cassandra, rate=rate, force=force)
    loaded = [t for t in summary["tables"].values() if "rows" in t]
    if loaded and not any(t["rows"] or t["chunks_skipped"] for t in loaded):
        raise LookupError(f"day: {ds} has no rows in the warehouse yet (nothing was loaded)")
    return summary
