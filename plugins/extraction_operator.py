"""``SegmentExtractionOperator``: the daily extraction of every segment, as an Airflow task.

A :class:`SparkSubmitOperator` (master, deploy mode and binary from the ``spark_default``
connection: ``local[*]`` on one machine, a cluster master by config) that runs
``spark/extract_segments.py`` for one day. The day is checked before anything is submitted,
and each outlet asset gets an event naming the day, so DAGs scheduled on the memberships know
which day arrived.

    extract = SegmentExtractionOperator(task_id="extract", day="{{ ds }}", outlets=[MEMBERSHIPS])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from adtarget.profiles.task import parse_day
from adtarget.stack.config import PROJECT_ROOT

JOB = PROJECT_ROOT / "spark" / "extract_segments.py"


class SegmentExtractionOperator(SparkSubmitOperator):
    """Extract the members of every active segment for ``day`` (templated, YYYY-MM-DD)."""

    template_fields: Sequence[str] = (*SparkSubmitOperator.template_fields, "day")
    ui_color = "#e8d5f5"

    def __init__(self, *, day: str = "{{ ds }}", conn_id: str = "spark_default", **kwargs: Any) -> None:
        kwargs.setdefault("name", "adtarget-extract-segments")
        # Two days written at once would clash in Spark's staging folder of the same tables.
        kwargs.setdefault("max_active_tis_per_dag", 1)
        super().__init__(application=str(JOB), conn_id=conn_id, **kwargs)
        self.day = day

    def execute(self, context: Any) -> None:
        day = parse_day(self.day).isoformat()  # a bad day fails here, before Spark starts
        self.application_args = ["--day", day]
        super().execute(context)
        for outlet in self.outlets:
            context["outlet_events"][outlet].extra = {"day": day}
