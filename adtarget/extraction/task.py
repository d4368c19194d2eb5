"""What the ``segment_extraction`` DAG's Python tasks do, importable and testable outside Airflow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adtarget.hiveql import hive_cursor
from adtarget.profiles.task import parse_day
from adtarget.segments.registry import Registry
from adtarget.segments.settings import SegmentSettings

STATS = """SELECT segment_id, segment_version, template, members, joined, left_segment
             FROM adtarget.segment_stats WHERE dt = %(dt)s"""
#: How many segments the run's summary lists as the day's biggest movers.
MOVERS = 10


def read_stats(day: str, conn_id: str = "hiveserver2_default") -> list[dict[str, Any]]:
    """The day's ``adtarget.segment_stats`` rows over HiveServer2 (values bound on the cursor)."""
    with hive_cursor(conn_id) as cursor:
        cursor.execute(STATS, {"dt": parse_day(day).isoformat()})
        names = [d[0].split(".")[-1] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def summarize(day: dt.date, stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's result: totals and the segments that moved most since the day before."""
    movers = sorted(stats, key=lambda s: (-(s["joined"] + s["left_segment"]), s["segment_id"]))
    return {
        "day": day.isoformat(),
        "segments": len(stats),
        "memberships": sum(s["members"] for s in stats),
        "empty_segments": sum(1 for s in stats if not s["members"]),
        "movers": [
            {k: s[k] for k in ("segment_id", "template", "members", "joined", "left_segment")}
            for s in movers[:MOVERS]
        ],
    }


def publish_stats(ds: str | None, conn_id: str = "hiveserver2_default") -> dict[str, Any]:
    """Copy the day's per-segment counts into the registry (where sales tools read sizes) and
    return the day's summary; a re-run of the day writes the same rows."""
    day = parse_day(ds)
    stats = read_stats(day.isoformat(), conn_id)
    with Registry(SegmentSettings().registry_url) as registry:
        registry.record_deliveries(day, stats)
    return summarize(day, stats)
