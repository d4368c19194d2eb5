"""What the ``profile_load`` DAG's task does, importable and testable outside Airflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from adtarget.hiveql import hive_cursor
from adtarget.profiles import migrations
from adtarget.profiles.config import cluster, settings_from_connection
from adtarget.profiles.job import load_day
from adtarget.profiles.loader import DEFAULT_CHUNKS
from adtarget.profiles.tables import PROFILE_TABLES
from adtarget.stack.config import StackSettings

#: What the ``profile_load`` DAG writes: every table but the memberships, which the
#: ``segment_extraction`` DAG loads once the day's extraction is done (loaded before it, an
#: empty day would remove everyone's memberships).
PROFILE_LOAD_TABLES = ("ids_by_bid", *(t.name for t in PROFILE_TABLES if t.name != "segment_memberships"))

SNAPSHOT_ROWS = "SELECT count(*) FROM adtarget.user_attributes WHERE dt = %(dt)s"


def parse_day(ds: str | None) -> dt.date:
    """The day of a run, from its param or data interval; an error names the bad value."""
    if not ds:
        raise ValueError("day: a manual run needs the param 'day' (YYYY-MM-DD); the run has no logical date")
    try:
        return dt.date.fromisoformat(ds)
    except ValueError:
        raise ValueError(f"day: {ds!r} is not a date (YYYY-MM-DD)") from None


def run_day(params: Mapping[str, Any] | None, data_interval_start: Any) -> str:
    """The day a run loads: the ``day`` param, else the day its data interval starts on
    (a scheduled daily run loads yesterday, never the day still running)."""
    day = (params or {}).get("day") or (data_interval_start and data_interval_start.date().isoformat())
    return parse_day(day).isoformat()


def day_in_warehouse(ds: str | None, conn_id: str = "hiveserver2_default") -> bool:
    """True once the day's user attributes snapshot is in the warehouse (over HiveServer2)."""
    with hive_cursor(conn_id) as cursor:
        cursor.execute(SNAPSHOT_ROWS, {"dt": parse_day(ds).isoformat()})
        rows = cursor.fetchall()
    return bool(rows and rows[0][0])


def load_day_task(
    ds: str | None,
    *,
    run_id: str,
    rate: float = 0.0,
    adaptive: bool = False,
    force: bool = False,
    chunks: int = DEFAULT_CHUNKS,
    tables: Sequence[str] = (),
    conn_id: str = "cassandra_default",
) -> dict[str, Any]:
    """Apply pending migrations, then load day ``ds``; returns the load's summary (an XCom).

    ``tables`` limits the load to some profile tables (default: all); ``chunks`` is how many
    checkpointed chunks each table is written in (see ``spark/load_profiles.py``); ``adaptive``
    backs off below ``rate`` while profile reads slow down (ignored without a cap). The load id
    is the day and the DAG run: a retry of the run resumes from its last checkpointed chunk, a
    new run of the day writes it all again.
    """
    day = parse_day(ds)
    cassandra = settings_from_connection(conn_id)
    with cluster(cassandra) as c:
        migrations.migrate(c.connect(), cassandra)
    # The job keys each table's checkpoints by load id and table: no table in the id.
    load_id = f"profiles-{day.isoformat()}-{run_id}"
    return load_day(
        StackSettings(),
        day,
        cassandra=cassandra,
        tables=tables,
        load_id=load_id,
        chunks=chunks,
        rate=rate,
        adaptive=adaptive and rate > 0,  # nothing to back off below without a cap
        force=force,
    )
