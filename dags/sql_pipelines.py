"""SQL-file pipelines: one Airflow DAG per folder (or file) of ``sql/pipelines/``.

The DAG factory (``adtarget.pipelines``) reads every pipeline, validates its frontmatter and
builds its DAG (``sql_<name>``). A pipeline with a problem is left out here and reported by
``sql_pipeline_errors.py`` as an import error naming its file, line and field: Airflow marks
every DAG of a file that raised as broken, so the error must come from a file with no DAG.
"""

from __future__ import annotations

from adtarget.pipelines.factory import build_all

_dags, _errors = build_all()
globals().update(_dags)
