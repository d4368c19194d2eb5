"""The DAGs built from the fixture pipelines: tasks, order, schedule, retries, waits, Assets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from adtarget.pipelines import factory
from adtarget.pipelines.settings import PipelineSettings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipelines"


@pytest.fixture(scope="module")
def dags() -> dict[str, Any]:
    built, errors = factory.build_all(PipelineSettings(dir=FIXTURES))
    assert errors == []
    return dict(built)


def test_one_dag_per_pipeline(dags: dict[str, Any]) -> None:
    assert sorted(dags) == [
        "sql_daily_counts",
        "sql_failing",
        "sql_ordered",
        "sql_spark_counts",
        "sql_waiting",
    ]


def test_steps_run_in_file_order_unless_depends_on_says(dags: dict[str, Any]) -> None:
    dag = dags["sql_ordered"]
    stage, report, publish = (dag.get_task(t) for t in ("010_stage", "020_report", "030_publish"))
    assert stage.downstream_task_ids == {"020_report", "030_publish"}
    assert report.upstream_task_ids == {"010_stage"}
    assert publish.upstream_task_ids == {"010_stage"}
    assert (stage.retries, stage.retry_delay, stage.execution_timeout) == (
        4,
        dt.timedelta(minutes=2),
        dt.timedelta(hours=1),
    )
    assert (report.retries, report.engine, publish.execution_timeout) == (
        0,
        "hiveserver2",
        dt.timedelta(seconds=90),
    )
    assert stage.engine == "spark"
    assert stage.conn_id == "spark_default"
    assert stage.owner == "marts-team"
    assert stage.max_active_tis_per_dag == 1  # one day at a time per step
    assert dag.tags == {"sql-pipeline", "test", "ordering"}
    assert dag.start_date == dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert dag.end_date == dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    assert dag.timetable.expression == "0 * * * *"
    notifier = stage.on_failure_callback[0]
    assert notifier.to == ["a@example.com", "b@example.com"]


def test_outlets_are_the_produced_tables_and_the_pipeline(dags: dict[str, Any]) -> None:
    dag = dags["sql_ordered"]
    outlets = {t.task_id: sorted(a.name for a in t.outlets) for t in dag.tasks}
    assert outlets == {
        "010_stage": ["adtarget_test.stage"],
        "020_report": ["pipeline.ordered"],
        "030_publish": ["pipeline.ordered"],
    }
    stage = dag.get_task("010_stage")
    assert stage.outlets[0].uri == "hive://warehouse/adtarget_test/stage"


def test_wait_for_becomes_reschedule_sensors_before_the_first_step(dags: dict[str, Any]) -> None:
    dag = dags["sql_waiting"]
    assert sorted(dag.task_ids) == ["wait_for_adtarget__search_log", "wait_for_daily_counts", "waiting"]
    step = dag.get_task("waiting")
    assert step.upstream_task_ids == {"wait_for_adtarget__search_log", "wait_for_daily_counts"}
    upstream = dag.get_task("wait_for_daily_counts")
    assert (upstream.external_dag_id, upstream.mode, upstream.external_task_id) == (
        "sql_daily_counts",
        "reschedule",
        None,
    )
    assert [a.name for a in upstream.inlets] == ["pipeline.daily_counts"]
    table = dag.get_task("wait_for_adtarget__search_log")
    assert (table.table, table.mode) == ("adtarget.search_log", "reschedule")
    assert dag.catchup is True
    assert dag.max_active_runs == 4
    assert dag.timetable.expression == "0 6 * * *"


def test_daily_runs_cover_the_previous_day(dags: dict[str, Any]) -> None:
    """A data-interval timetable: the run at midnight of the 29th has ds = the 28th."""
    dag = dags["sql_daily_counts"]
    from airflow.serialization.encoders import coerce_to_core_timetable

    info: Any = coerce_to_core_timetable(dag.timetable).next_dagrun_info(
        last_automated_data_interval=None,
        restriction=_restriction(dt.datetime(2026, 11, 28, tzinfo=dt.UTC)),
    )
    assert info.data_interval.start == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert info.run_after == dt.datetime(2026, 11, 29, tzinfo=dt.UTC)


def _restriction(earliest: dt.datetime) -> Any:
    import pendulum
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=pendulum.instance(earliest), latest=None, catchup=True)


def test_manual_only_pipelines_have_no_schedule(dags: dict[str, Any]) -> None:
    assert dags["sql_failing"].timetable.__class__.__name__ == "NullTimetable"
