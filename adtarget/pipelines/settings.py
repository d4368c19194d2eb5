"""Settings of the SQL-file pipelines, read from ``ADTARGET_PIPELINES_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.alerts import ALERT_TO
from adtarget.hiveql import SQL_DIR
from adtarget.settings_types import CommaList


class PipelineSettings(BaseSettings):
    """Where the pipelines are and the defaults a pipeline's frontmatter may override."""

    model_config = SettingsConfigDict(env_prefix="ADTARGET_PIPELINES_", extra="forbid")

    #: The folder of pipelines: each sub-folder, and each ``.sql`` file directly in it, is one.
    dir: Path = SQL_DIR / "pipelines"
    #: Prefix of the DAG ids (``sql_keyword_stats``), so they never clash with hand-written DAGs.
    dag_id_prefix: str = "sql_"
    #: Who is mailed when a step fails for good, unless the pipeline says ``alert_email``.
    alert_email: CommaList = Field(default_factory=lambda: [ALERT_TO])
    #: The owner shown in the Airflow UI, unless the pipeline says ``owner``.
    owner: str = "data-engineering"
    #: Connections of the two engines, unless a step says ``conn_id``.
    hiveserver2_conn_id: str = "hiveserver2_default"
    spark_conn_id: str = "spark_default"
    #: Retries of a step and the delay between them (seconds), unless the frontmatter says.
    retries: int = Field(default=2, ge=0)
    retry_delay: int = Field(default=300, ge=0)
    #: A step running longer than this (seconds) fails (and retries).
    timeout: int = Field(default=6 * 3600, gt=0)
    #: Poke interval (seconds) of the waits of ``wait_for``; they give their slot back in between.
    wait_interval: int = Field(default=300, gt=0)
    #: How long a wait of ``wait_for`` may last (seconds) before the run fails.
    wait_timeout: int = Field(default=12 * 3600, gt=0)
