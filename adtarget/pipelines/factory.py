"""Turning pipelines into Airflow DAGs.

Each step becomes a :class:`SqlStepOperator`; ``wait_for`` becomes sensors in reschedule mode
before the first steps (a pipeline's run of the same day, or a table's partition of the day);
``produces`` becomes the step's outlet Assets, and the last steps publish the pipeline's own
Asset. A cron or preset schedule is a data-interval timetable, so ``{{ ds }}`` is the day the run
covers (complete when the run starts), as the old scheduler's day-partitioned queries expect.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import DAG, Asset, BaseOperator, CronDataIntervalTimetable

from adtarget.alerts import StepFailureMail
from adtarget.pipelines import catalog
from adtarget.pipelines.errors import PipelineError, Problem
from adtarget.pipelines.model import Pipeline
from adtarget.pipelines.operator import PartitionSensor, SqlStepOperator
from adtarget.pipelines.settings import PipelineSettings

log = logging.getLogger(__name__)

#: Presets as the cron expressions of their data intervals.
PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def table_asset(table: str) -> Asset:
    """The Asset of a warehouse table ``db.table`` (the Hive provider's URI form)."""
    db, name = table.split(".", 1)
    return Asset(name=table, uri=f"hive://warehouse/{db}/{name}")


def pipeline_asset(name: str) -> Asset:
    """The Asset a pipeline publishes when its last step of a day succeeded."""
    return Asset(name=f"pipeline.{name}", uri=f"adtarget-pipeline://{name}")


def _utc(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _schedule(pipeline: Pipeline) -> Any:
    schedule = pipeline.schedule
    if schedule is None or schedule in ("@once", "@continuous"):
        return schedule
    return CronDataIntervalTimetable(PRESETS.get(schedule, schedule), timezone="UTC")


def _doc(pipeline: Pipeline) -> str:
    lines = [
        pipeline.description or f"SQL pipeline `{pipeline.name}`.",
        "",
        f"Source: `{pipeline.source}`",
        "",
    ]
    for step in pipeline.steps:
        after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
        writes = f", writes {', '.join(step.produces)}" if step.produces else ""
        lines.append(f"- `{step.path.name}`: {step.engine}{after}{writes}")
    if pipeline.wait_for:
        lines += ["", "Waits for: " + ", ".join(f"`{w}`" for w in pipeline.wait_for)]
    return "\n".join(lines)


def dag_defaults() -> dict[str, Any]:
    """The DAG settings Airflow reads from its config, read once for a whole parse.

    Left unset, each DAG reads them itself: five config lookups that each scan the environment,
    half the build time of a one-step pipeline.
    """
    from airflow.sdk.configuration import conf

    return {
        "max_active_tasks": conf.getint("core", "max_active_tasks_per_dag"),
        "max_consecutive_failed_dag_runs": conf.getint("core", "max_consecutive_failed_dag_runs_per_dag"),
        "disable_bundle_versioning": conf.getboolean("dag_processor", "disable_bundle_versioning"),
    }


def build(
    pipeline: Pipeline, settings: PipelineSettings | None = None, defaults: dict[str, Any] | None = None
) -> DAG:
    """The DAG of one pipeline."""
    settings = settings or PipelineSettings()
    defaults = defaults if defaults is not None else dag_defaults()
    alert = StepFailureMail(pipeline.alert_email)
    dag = DAG(
        dag_id=pipeline.dag_id,
        description=(pipeline.description.splitlines() or [f"SQL pipeline {pipeline.name}"])[0][:200],
        doc_md=_doc(pipeline),
        schedule=_schedule(pipeline),
        start_date=_utc(pipeline.start_date),
        end_date=_utc(pipeline.end_date),
        catchup=pipeline.catchup,
        max_active_runs=pipeline.max_active_runs,
        tags={"sql-pipeline", *pipeline.tags},
        default_args={"owner": pipeline.owner},
        **defaults,
    )
    # The last steps (no other step runs after them) publish the pipeline's own Asset.
    upstream_of_any = {dep for step in pipeline.steps for dep in step.depends_on}
    tasks: dict[str, BaseOperator] = {}
    for step in pipeline.steps:
        outlets = [table_asset(t) for t in step.produces]
        if step.task_id not in upstream_of_any:
            outlets.append(pipeline_asset(pipeline.name))
        tasks[step.task_id] = SqlStepOperator(
            task_id=step.task_id,
            dag=dag,
            sql=step.statements,
            engine=step.engine,
            conn_id=step.conn_id,
            retries=step.retries,
            retry_delay=dt.timedelta(seconds=step.retry_delay),
            execution_timeout=dt.timedelta(seconds=step.timeout),
            outlets=outlets,
            on_failure_callback=alert,
            doc_md=f"`{step.path}`",
            # One day at a time per step, backfills included: Spark stages a table's writes in
            # one `_temporary` folder under its root, so two days written at once clash there.
            max_active_tis_per_dag=1,
        )
    for step in pipeline.steps:
        for dep in step.depends_on:
            tasks[dep] >> tasks[step.task_id]
    roots = [tasks[s.task_id] for s in pipeline.steps if not s.depends_on]
    for target in pipeline.wait_for:
        wait = _wait(target, dag, settings, alert)
        for root in roots:
            wait >> root
    return dag


def _wait(target: str, dag: DAG, settings: PipelineSettings, alert: Any) -> BaseOperator:
    kind, _, name = target.partition(":")
    common: dict[str, Any] = {
        "dag": dag,
        "mode": "reschedule",
        "poke_interval": settings.wait_interval,
        "timeout": settings.wait_timeout,
        "retries": 0,
        "on_failure_callback": alert,
    }
    if kind == "pipeline":
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

        return ExternalTaskSensor(
            task_id=f"wait_for_{name}",
            external_dag_id=settings.dag_id_prefix + name,
            external_task_id=None,
            allowed_states=["success"],
            failed_states=["failed"],
            inlets=[pipeline_asset(name)],
            **common,
        )
    return PartitionSensor(
        task_id="wait_for_" + name.replace(".", "__"),
        table=name,
        conn_id=settings.hiveserver2_conn_id,
        inlets=[table_asset(name)],
        **common,
    )


def build_all(settings: PipelineSettings | None = None) -> tuple[dict[str, DAG], list[PipelineError]]:
    """The DAG of every valid pipeline, by ``dag_id``, and the errors of the others."""
    settings = settings or PipelineSettings()
    pipelines, errors = catalog.load_all(settings)
    dags: dict[str, DAG] = {}
    defaults = dag_defaults()
    for pipeline in pipelines:
        try:
            dags[pipeline.dag_id] = build(pipeline, settings, defaults)
        except Exception as exc:  # Airflow refused it; the others still load
            # The catalog's checks should make this unreachable; if not, the dag-processor log
            # names the pipeline (sql_pipeline_errors.py only runs the catalog's checks).
            log.exception("SQL pipeline %s: Airflow refused its DAG", pipeline.name)
            errors.append(
                PipelineError(
                    pipeline.name, [Problem(pipeline.source, 1, "", f"{type(exc).__name__}: {exc}")]
                )
            )
    return dags, errors
