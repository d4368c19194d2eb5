"""SQL-file pipelines: each folder (or single ``.sql`` file) of ``sql/pipelines/`` is an Airflow DAG.

``catalog`` reads and validates the files (frontmatter against ``frontmatter.schema.json``),
``factory`` turns a valid pipeline into a DAG, ``operator`` runs a step's SQL over HiveServer2
or Spark SQL with Airflow's context rendered as SQL literals, and ``cli`` is ``adtarget-pipelines``
(``make lint-sql``). The DAG files ``dags/sql_pipelines.py`` and ``dags/sql_pipeline_errors.py``
only wire these.
"""
