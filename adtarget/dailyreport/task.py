"""What the ``daily_report`` DAG's tasks do: collect a day's figures, render, keep and mail them.

:func:`collect` and :func:`publish` take their sources and their mailer as arguments, so the
tests drive them against the stack's engines directly; :func:`collect_day` and
:func:`publish_day` are the DAG's callables, which open those sources from Airflow connections.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from adtarget.dailyreport import figures as fig
from adtarget.dailyreport import mail, page
from adtarget.dailyreport.settings import DailyReportSettings
from adtarget.hiveql import hive_cursor
from adtarget.profiles.task import parse_day


@dataclass(frozen=True)
class Sources:
    """Where each section's figures come from."""

    query: fig.Query
    registry: fig.RegistryReader
    realtime: fig.RealtimeDay
    runs: fig.RunLister
    metrics_url: str


def collect(day: dt.date, sources: Sources) -> dict[str, Any]:
    """Every section of ``day``'s report (a section whose source failed says why it is missing)."""
    s = sources
    return {
        "day": day.isoformat(),
        "logs": fig.section("logs", lambda: fig.log_volume(s.query, day)),
        "segments": fig.section("segments", lambda: fig.segments(s.query, s.registry, day)),
        "audiences": fig.section("audiences", lambda: fig.audience_requests(s.registry, day)),
        "api": fig.section("api", lambda: fig.api_traffic(s.registry, day, s.metrics_url)),
        "realtime": fig.section("realtime", lambda: fig.realtime(s.realtime, day)),
        "pipelines": fig.section("pipelines", lambda: fig.pipelines(s.runs, day)),
    }


def archive_name(day: str) -> str:
    """The kept page's file name (what the UI's Daily reports view serves)."""
    return f"daily-{parse_day(day).isoformat()}.html"


def archive_path(settings: DailyReportSettings, day: str) -> Path:
    return settings.archive_dir / archive_name(day)


def publish(
    figures: Mapping[str, Any],
    settings: DailyReportSettings,
    deliver: Callable[[EmailMessage], None],
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Render the page, keep it as the day's copy (replacing a re-run's), and mail it."""
    day = str(figures["day"])
    url = settings.archive_url.rstrip("/") + "/" + archive_name(day)
    content = page.html(dict(figures), archive=url, made_at=now or dt.datetime.now(dt.UTC))
    path = archive_path(settings, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(content, encoding="utf-8")
    os.replace(tmp, path)  # a browser never opens half a page
    failed = [k for k, v in figures.items() if isinstance(v, dict) and "missing" in v]
    subject = f"[adtarget] daily report {day}" + (f" ({len(failed)} part(s) missing)" if failed else "")
    deliver(
        mail.message(
            sender="adtarget@localhost",
            to=settings.recipients,
            subject=subject,
            text=page.text(dict(figures)) + f"\nThe page: {url}\n",
            html=content,
        )
    )
    return {"day": day, "path": str(path), "url": url, "to": settings.recipients, "missing": failed}


# --- The DAG's callables: sources from Airflow connections -------------------------------------


def _hive_query(conn_id: str) -> fig.Query:
    def query(sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        with hive_cursor(conn_id) as cursor:
            cursor.execute(sql, dict(params))  # bound by the driver, never formatted here
            return [tuple(r) for r in cursor.fetchall()]

    return query


@contextmanager
def airflow_sources(settings: DailyReportSettings) -> Iterator[Sources]:
    """The sources of a report run inside Airflow, closed afterwards."""
    from airflow.sdk import BaseHook

    from adtarget.airflow_client import AirflowClient
    from adtarget.profiles.config import settings_from_connection
    from adtarget.segments.registry import Registry
    from adtarget.segments.settings import SegmentSettings
    from streaming.report_store import ReportStore

    api = BaseHook.get_connection(settings.airflow_api_conn_id)
    store = ReportStore(settings_from_connection(settings.cassandra_conn_id))
    with (
        Registry(SegmentSettings().registry_url) as registry,
        AirflowClient(f"http://{api.host}:{api.port}", api.login or "", api.password or "") as runs,
    ):
        try:
            yield Sources(
                _hive_query(settings.hive_conn_id), registry, store, runs, settings.profile_api_metrics_url
            )
        finally:
            store.close()


def collect_day(ds: str | None) -> dict[str, Any]:
    """The ``collect`` task: the figures of the run's day (``ds``), returned as its XCom."""
    settings = DailyReportSettings()
    with airflow_sources(settings) as sources:
        return collect(parse_day(ds), sources)


def smtp_deliver(conn_id: str) -> Callable[[EmailMessage], None]:
    """Send through the Airflow SMTP connection ``conn_id`` (host, port, login, ssl/tls extras)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson

    def deliver(msg: EmailMessage) -> None:
        if extra.get("from_email"):
            msg.replace_header("From", str(extra["from_email"]))
        mail.send(
            msg,
            host=conn.host or "localhost",
            port=conn.port or 25,
            login=conn.login,
            password=conn.password,
            use_ssl=not extra.get("disable_ssl", False),
            starttls=not extra.get("disable_tls", False),
        )

    return deliver


def publish_day(figures: Mapping[str, Any]) -> dict[str, Any]:
    """The ``publish`` task: render, keep and mail the collected figures."""
    settings = DailyReportSettings()
    return publish(figures, settings, smtp_deliver(settings.smtp_conn_id))
