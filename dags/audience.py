"""Audience DAGs, the sales interface: one per template, triggered with params from its form.

``audience_<template>``: the trigger form shows the template's params (with descriptions) and
the registration fields. A run checks the params (a bad one fails the run before any query,
naming the field and the value; the REST API refuses a conf that breaks the schema with 400),
estimates it from the daily theta sketches in Cassandra (``cassandra_default``), counts it
exactly over HiveServer2, and registers the segment when ``register`` is on. The run's result
(the last task's return value) holds the count, the estimate and the segment.

``segment_admin``: pause, activate or expire a registered segment. ``segment_expiry``: daily,
expires the segments past their last day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from adtarget.alerts import failure_mail
from adtarget.segments.templates import TEMPLATES, Template


def _user(dag_run: Any) -> str:
    return getattr(dag_run, "triggering_user_name", None) or "airflow"


def audience_dag(tmpl: Template) -> None:
    from adtarget.segments.form import params_schema

    params: dict[str, Any] = {name: Param(**spec) for name, spec in params_schema(tmpl).items()}

    @dag(
        dag_id=f"audience_{tmpl.id}",
        description=tmpl.title,
        doc_md=f"**{tmpl.title}**: {tmpl.description}",
        schedule=None,
        start_date=datetime(2026, 11, 1),
        catchup=False,
        max_active_runs=4,
        # Sales trigger it from the form: it must not wait for someone to unpause it.
        is_paused_upon_creation=False,
        tags=["segments", "sales"],
        params=params,
        default_args={"retries": 1, "retry_delay": timedelta(seconds=30)},
    )
    def audience() -> None:
        @task(retries=0)
        def check(params: dict[str, Any] | None = None) -> dict[str, Any]:
            from adtarget.segments.task import check

            return check(tmpl.id, dict(params or {}))

        @task(retries=0, execution_timeout=timedelta(minutes=5))
        def estimate(params: dict[str, Any] | None = None) -> dict[str, Any]:
            from adtarget.segments.task import estimate_in_airflow

            return estimate_in_airflow(tmpl.id, dict(params or {}))

        @task(execution_timeout=timedelta(hours=1))
        def exact_size(
            params: dict[str, Any] | None = None,
            run_id: str | None = None,
            dag_run: Any = None,
        ) -> dict[str, Any]:
            from adtarget.segments.task import size_in_airflow

            return size_in_airflow(tmpl.id, dict(params or {}), run_id=run_id, requested_by=_user(dag_run))

        @task
        def register(
            params: dict[str, Any] | None = None,
            run_id: str | None = None,
            dag_run: Any = None,
            ti: Any = None,
        ) -> dict[str, Any]:
            from adtarget.segments.task import register

            sized = ti.xcom_pull(task_ids="exact_size")
            estimated = ti.xcom_pull(task_ids="estimate")
            conf = dict(params or {})
            return register(
                tmpl.id, conf, sized=sized, estimated=estimated, run_id=run_id, requested_by=_user(dag_run)
            )

        # The estimate comes first: it answers in a second, the exact count takes longer.
        check() >> estimate() >> exact_size() >> register()

    audience()


for _template in TEMPLATES.values():
    audience_dag(_template)


@dag(
    dag_id="segment_admin",
    description="Pause, activate or expire a registered segment",
    schedule=None,
    start_date=datetime(2026, 11, 1),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["segments", "sales"],
    params={
        "segment_id": Param(
            type="integer", minimum=1, title="Segment id", description="The registered segment."
        ),
        "action": Param(
            "pause",
            enum=["pause", "activate", "expire"],
            title="Action",
            description="pause: leave it out of the daily delivery; activate: deliver it again; "
            "expire: end it for good.",
        ),
    },
)
def segment_admin() -> None:
    @task(retries=0)
    def change(params: dict[str, Any] | None = None) -> dict[str, Any]:
        from adtarget.segments.task import change_status

        params = params or {}
        return change_status(int(params["segment_id"]), str(params["action"]))

    change()


segment_admin()


@dag(
    dag_id="segment_expiry",
    description="Expire the segments past their last day",
    # Data-interval days: the run of day D starts after D is over and works on D.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=datetime(2026, 11, 1),
    catchup=False,
    is_paused_upon_creation=False,
    tags=["segments"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    on_failure_callback=failure_mail("segment_expiry"),
)
def segment_expiry() -> None:
    @task
    def expire(data_interval_end: Any = None) -> list[int]:
        from adtarget.segments.task import expire_due

        # A segment's last day is the day its expiry names: it expires once that day is over.
        return expire_due(data_interval_end.date())

    expire()


segment_expiry()
