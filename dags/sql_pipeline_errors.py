"""Import errors of the SQL-file pipelines (the DAGs are built by ``sql_pipelines.py``).

This file holds no DAG: it raises when a pipeline of ``sql/pipelines/`` is not valid, so the
Airflow UI lists the error (file, line, field of each problem) while every other pipeline, and
``sql_pipelines.py`` itself, stays loaded and scheduled. It runs the same checks as
``make lint-sql``, without building DAGs, so it costs a fraction of a parse of the pipelines.
"""

from __future__ import annotations

from adtarget.pipelines.catalog import load_all
from adtarget.pipelines.errors import BrokenPipelines

_pipelines, _errors = load_all()
if _errors:
    raise BrokenPipelines(_errors)
