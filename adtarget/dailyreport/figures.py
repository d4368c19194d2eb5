"""The figures of one day's report, each section read from the system that owns it.

Sections are collected independently: one whose source fails (the profile API down, Airflow's API
refusing) is kept as ``{"missing": "<why>"}`` and the report still goes out, saying so, rather
than nobody getting a report. Every figure is a pure function of the day and the stores, so a
re-run of the day renders the same figures (the profile API's traffic is sampled once per day and
the sample kept; see :mod:`adtarget.dailyreport.traffic`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import statistics
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from adtarget.dailyreport import traffic

log = logging.getLogger(__name__)

#: ``query(sql, params)``: rows of a HiveQL query over HiveServer2, values bound, never formatted.
Query = Callable[[str, Mapping[str, Any]], list[tuple[Any, ...]]]
#: Days of log volume the trend chart shows (the report's day included).
TREND_DAYS = 7
#: Rows of the "largest", "movers" and "campaigns" tables.
TOP = 10

LOGS = ("search_log", "ad_event_log", "app_install_log", "page_visit_log", "conversion_log")


class RegistryReader(Protocol):
    """What the report reads from the segment registry (:class:`adtarget.segments.registry.Registry`)."""

    def names(self, segment_ids: list[int]) -> dict[int, str]: ...

    def size_requests(self, since: dt.datetime, until: dt.datetime | None = None) -> list[dict[str, Any]]: ...

    def keep_api_sample(self, day: dt.date, sample: dict[str, Any]) -> dict[str, Any]: ...

    def api_sample(self, day: dt.date) -> dict[str, Any] | None: ...


class RunLister(Protocol):
    """Airflow's REST API (:class:`adtarget.airflow_client.AirflowClient`)."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...


class RealtimeDay(Protocol):
    """The realtime report's rows of a day (:class:`streaming.report_store.ReportStore`)."""

    async def connected(self) -> None: ...

    async def day(self, day: dt.date) -> dict[Any, Any]: ...


async def _realtime_rows(store: RealtimeDay, day: dt.date) -> dict[Any, Any]:
    await store.connected()
    return await store.day(day)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def log_volume(query: Query, day: dt.date) -> dict[str, Any]:
    """Rows and users per log on ``day`` and the day before, and each log's rows over the trend."""
    first = day - dt.timedelta(days=TREND_DAYS - 1)
    rows = query(
        "SELECT dt, log, row_count, users FROM adtarget.log_volume WHERE dt >= %(first)s AND dt <= %(day)s",
        {"first": first.isoformat(), "day": day.isoformat()},
    )
    by_day: dict[str, dict[str, tuple[int, int]]] = {}
    for when, name, count, users in rows:
        by_day.setdefault(str(when), {})[str(name)] = (int(count), int(users))
    today = by_day.get(day.isoformat())
    if not today:
        return {"missing": f"adtarget.log_volume has no rows for {day} (the sql_log_volume pipeline)"}
    before = by_day.get((day - dt.timedelta(days=1)).isoformat(), {})
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(TREND_DAYS)]
    names = [n for n in LOGS if n in today] + sorted(set(today) - set(LOGS))
    return {
        "logs": [
            {
                "log": n,
                "rows": today[n][0],
                "users": today[n][1],
                "rows_before": before[n][0] if n in before else None,
            }
            for n in names
        ],
        "total_rows": sum(r for r, _ in today.values()),
        "total_rows_before": sum(r for r, _ in before.values()) if before else None,
        "trend_days": days,
        "trend": {n: [by_day.get(d, {}).get(n, (None, None))[0] for d in days] for n in names},
    }


STATS = """SELECT dt, segment_id, template, members, joined, left_segment
             FROM adtarget.segment_stats WHERE dt >= %(before)s AND dt <= %(day)s"""


def segments(query: Query, registry: RegistryReader, day: dt.date) -> dict[str, Any]:
    """Segments delivered on ``day``, their members, the change since the day before, the
    largest segments and the biggest movers (joined + left), from ``adtarget.segment_stats``."""
    before_day = day - dt.timedelta(days=1)
    rows = query(STATS, {"before": before_day.isoformat(), "day": day.isoformat()})
    days: dict[str, list[dict[str, Any]]] = {}
    for when, segment_id, template, members, joined, left in rows:
        days.setdefault(str(when), []).append(
            {
                "segment_id": int(segment_id),
                "template": str(template),
                "members": int(members),
                "joined": int(joined),
                "left": int(left),
            }
        )
    today = days.get(day.isoformat())
    if not today:
        return {"missing": f"adtarget.segment_stats has no rows for {day} (the segment_extraction DAG)"}
    before = days.get(before_day.isoformat())
    largest = sorted(today, key=lambda s: (-s["members"], s["segment_id"]))[:TOP]
    movers = sorted(today, key=lambda s: (-(s["joined"] + s["left"]), s["segment_id"]))[:TOP]
    movers = [m for m in movers if m["joined"] + m["left"]]
    names = registry.names(sorted({s["segment_id"] for s in largest + movers}))
    for s in largest + movers:
        s["name"] = names.get(s["segment_id"], f"segment {s['segment_id']}")
    return {
        "segments": len(today),
        "segments_before": len(before) if before else None,
        "memberships": sum(s["members"] for s in today),
        "memberships_before": sum(s["members"] for s in before) if before else None,
        "empty": sum(1 for s in today if not s["members"]),
        "by_template": dict(sorted(Counter(s["template"] for s in today).items())),
        "largest": largest,
        "movers": movers,
    }


def audience_requests(registry: RegistryReader, day: dt.date) -> dict[str, Any]:
    """Audience-size requests answered on ``day`` (UTC): how many, for which templates, how fast."""
    start = _midnight(day)
    rows = registry.size_requests(start, start + dt.timedelta(days=1))
    seconds = [float(r["seconds"]) for r in rows]
    return {
        "requests": len(rows),
        "registered": sum(1 for r in rows if r.get("segment_id") is not None),
        "by_template": dict(Counter(str(r["template"]) for r in rows).most_common()),
        "median_seconds": round(statistics.median(seconds), 2) if seconds else None,
        "max_seconds": round(max(seconds), 2) if seconds else None,
    }


def api_traffic(registry: RegistryReader, day: dt.date, metrics_url: str) -> dict[str, Any]:
    """The profile API's traffic since the previous report day's sample.

    The day's sample is taken once (the first run of the day's report) and kept in the
    registry, so a re-run reads the same sample instead of the counters of its own moment.
    """
    kept = registry.api_sample(day)
    if kept is None:
        try:
            sample = traffic.scrape(metrics_url)
        except OSError as exc:
            return {"missing": f"the profile API at {metrics_url} did not answer: {exc}"}
        kept = registry.keep_api_sample(day, sample.as_json())
    previous = registry.api_sample(day - dt.timedelta(days=1))
    result = traffic.between(
        traffic.Sample.from_json(previous) if previous else None, traffic.Sample.from_json(kept)
    ).as_json()
    result["since_start"] = previous is None  # no sample the day before: since the API started
    return result


def realtime(store: RealtimeDay, day: dt.date) -> dict[str, Any]:
    """The realtime report's totals of ``day`` (UTC), by hour and by campaign."""
    rows = asyncio.run(_realtime_rows(store, day))
    hourly = [0] * 24
    campaigns: dict[int, list[int]] = {}
    totals = [0, 0, 0, 0, 0]  # impressions, clicks, conversions, spend (micros), late
    for key, t in rows.items():
        hour = dt.datetime.fromtimestamp(key.window_start_ms / 1000, dt.UTC).hour
        hourly[hour] += t.impressions
        c = campaigns.setdefault(key.campaign_id, [0, 0, 0, 0])
        for i, v in enumerate((t.impressions, t.clicks, t.conversions, t.spend_micros)):
            c[i] += v
        for i, v in enumerate((t.impressions, t.clicks, t.conversions, t.spend_micros, t.late)):
            totals[i] += v
    top = sorted(campaigns.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP]
    return {
        "impressions": totals[0],
        "clicks": totals[1],
        "conversions": totals[2],
        "spend": totals[3] / 1_000_000,
        "late": totals[4],
        "ctr": totals[1] / totals[0] if totals[0] else None,
        "campaigns_total": len(campaigns),
        "hourly_impressions": hourly,
        "campaigns": [
            {
                "campaign_id": cid,
                "impressions": v[0],
                "clicks": v[1],
                "conversions": v[2],
                "spend": v[3] / 1_000_000,
                "ctr": v[1] / v[0] if v[0] else None,
            }
            for cid, v in top
        ],
    }


#: DAG runs listed per API page; the report walks every page of the day.
PAGE = 100


def pipelines(api: RunLister, day: dt.date) -> dict[str, Any]:
    """DAG runs that finished on ``day`` (UTC), by DAG: successes, failures, the failed runs."""
    start = _midnight(day)
    params: dict[str, Any] = {
        "end_date_gte": start.isoformat(),
        "end_date_lt": (start + dt.timedelta(days=1)).isoformat(),
        "limit": PAGE,
        "order_by": "end_date",
    }
    runs: list[dict[str, Any]] = []
    while True:
        page = api.request("GET", "/api/v2/dags/~/dagRuns", params={**params, "offset": len(runs)})
        runs += page["dag_runs"]
        total = page.get("total_entries")
        if len(page["dag_runs"]) < PAGE or (total is not None and len(runs) >= total):
            break
    by_dag: dict[str, Counter[str]] = {}
    for r in runs:
        by_dag.setdefault(r["dag_id"], Counter())[r["state"]] += 1
    failed = [
        {"dag_id": r["dag_id"], "run_id": r["dag_run_id"], "end_date": r["end_date"]}
        for r in runs
        if r["state"] == "failed"
    ]
    return {
        "runs": len(runs),
        "succeeded": sum(c["success"] for c in by_dag.values()),
        "failed": len(failed),
        "by_dag": [
            {"dag_id": d, "success": c["success"], "failed": c["failed"]} for d, c in sorted(by_dag.items())
        ],
        "failed_runs": failed,
    }


def section(name: str, collect: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``collect()``, or ``{"missing": why}`` when its source failed (logged with the traceback)."""
    try:
        return collect()
    except Exception as exc:  # one source down must not cost the whole report
        log.exception("daily report: the %s section could not be collected", name)
        return {"missing": f"{type(exc).__name__}: {exc}"[:500]}
