"""Daily report: yesterday's figures from every system as one HTML page, kept and mailed.

Every morning at 06:00 UTC, for the day that ended at midnight:

    collect -> publish

- ``collect`` reads each section from the system that owns it: log volume and segment stats
  from the warehouse (HiveServer2), audience-size requests from the registry, the profile API's
  traffic from its ``/metrics`` (sampled once per day), the realtime report's totals from
  Cassandra, and the day's DAG runs from Airflow's REST API. A section whose source fails is
  marked missing and the report still goes out, saying so.
- ``publish`` renders the page (inline SVG charts, no external asset, readable on a phone),
  keeps it as ``daily-<day>.html`` (the Airflow UI's **Daily reports** view lists them) and
  mails it through ``smtp_default``.

A re-run of a day renders the same figures, replaces its kept copy and mails it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, CronDataIntervalTimetable, dag, task

from adtarget.alerts import failure_mail

PAGE = Asset("file://adtarget/daily_report")


@dag(
    dag_id="daily_report",
    schedule=CronDataIntervalTimetable("0 6 * * *", timezone="UTC"),
    start_date=datetime(2000, 1, 1),
    catchup=False,
    max_active_runs=1,
    # A report nobody has to switch on: active from the first parse, like the alerts.
    is_paused_upon_creation=False,
    tags=["report", "mail"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "execution_timeout": timedelta(minutes=30),
    },
    on_failure_callback=failure_mail("daily_report"),
)
def daily_report() -> None:
    @task
    def collect(ds: str | None = None) -> dict[str, Any]:
        from adtarget.dailyreport.task import collect_day

        return collect_day(ds)

    @task(outlets=[PAGE])
    def publish(figures: Any) -> dict[str, Any]:  # the collected figures (an XCom when wired)
        from adtarget.dailyreport.task import publish_day

        return publish_day(figures)

    publish(collect())


daily_report()
