"""The operators of SQL-file pipelines: run a step's statements, wait for a table's day.

Hooks are built in ``execute``/``poke``, so building a DAG of many pipelines imports no
provider and opens no connection.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import jinja2
from airflow.sdk import BaseOperator, BaseSensorOperator

from adtarget.hiveql import hive_cursor
from adtarget.pipelines import literals
from adtarget.pipelines.model import Engine


class SqlStepOperator(BaseOperator):
    """Run one step's SQL statements, in order, on HiveServer2 or with ``spark-sql``.

    ``sql`` holds the statements as templates; :meth:`render_template_fields` renders each
    ``{{ ... }}`` as a SQL literal (see :mod:`adtarget.pipelines.literals`), and the rendered
    statements are what the Airflow UI shows under "Rendered Template".
    """

    template_fields: Sequence[str] = ("sql",)
    template_ext: Sequence[str] = ()
    template_fields_renderers = {"sql": "sql"}  # noqa: RUF012 - Airflow's class attribute
    ui_color = "#cdebf7"

    def __init__(self, *, sql: Sequence[str], engine: Engine, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sql = list(sql)
        self.engine = engine
        self.conn_id = conn_id

    def render_template_fields(self, context: Any, jinja_env: jinja2.Environment | None = None) -> None:
        super().render_template_fields(context, jinja_env=literals.environment())

    def execute(self, context: Any) -> int:
        """Run the rendered statements; returns how many ran."""
        if self.engine == "spark":
            self._run_spark_sql()
        else:
            self._run_hiveserver2()
        return len(self.sql)

    def _run_hiveserver2(self) -> None:
        with hive_cursor(self.conn_id) as cursor:
            for i, statement in enumerate(self.sql, 1):
                started = time.monotonic()
                self.log.info("statement %d/%d:\n%s", i, len(self.sql), statement)
                cursor.execute(statement)
                self.log.info("statement %d/%d done in %.1f s", i, len(self.sql), time.monotonic() - started)

    def _run_spark_sql(self) -> None:
        from airflow.providers.apache.spark.hooks.spark_sql import SparkSqlHook

        # A file, not `-e`: no argument-length limit, and the hook treats text ending in .sql as a path.
        fd, path = tempfile.mkstemp(prefix=f"{self.task_id}-", suffix=".sql")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(";\n".join(self.sql) + ";\n")
            self.log.info("spark-sql -f %s:\n%s", path, ";\n".join(self.sql))
            SparkSqlHook(
                sql=path, conn_id=self.conn_id, name=f"{self.dag_id}.{self.task_id}", verbose=False
            ).run_query()
        finally:
            os.unlink(path)


class PartitionSensor(BaseSensorOperator):
    """Wait until ``table`` (``db.table``, partitioned by ``dt``) has the run's day, over HiveServer2."""

    template_fields: Sequence[str] = ()

    def __init__(self, *, table: str, conn_id: str, partition_column: str = "dt", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.conn_id = conn_id
        self.partition_column = partition_column

    def poke(self, context: Any) -> bool:
        day = str(context["ds"])
        # The schema allowed only word characters in db.table; the day goes in as a literal.
        sql = f"SHOW PARTITIONS {self.table} PARTITION ({self.partition_column} = {literals.quote(day)})"
        with hive_cursor(self.conn_id) as cursor:
            try:
                cursor.execute(sql)
            except Exception as exc:
                if "TABLE_OR_VIEW_NOT_FOUND" in str(exc) or "Table or view not found" in str(exc):
                    self.log.warning("%s does not exist yet; waiting", self.table)
                    return False
                raise
            found = bool(cursor.fetchall())
        self.log.info("%s %s partition %s", self.table, "has" if found else "has no", day)
        return found
