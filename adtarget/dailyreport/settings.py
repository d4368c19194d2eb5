"""The daily report's settings: one object, read from ``ADTARGET_REPORT_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.settings_types import CommaList


class DailyReportSettings(BaseSettings):
    """Where the report's figures come from, where it is kept and who gets it."""

    model_config = SettingsConfigDict(env_prefix="ADTARGET_REPORT_", extra="forbid")

    #: Who gets the mail (comma-separated).
    recipients: CommaList = Field(default_factory=lambda: ["ad-ops@localhost"])
    #: The copy of every day's page is kept here as ``daily-<day>.html``.
    archive_dir: Path = Path("var/reports")
    #: Where a browser opens the kept copies (the Airflow UI's "Daily reports" view on the stack).
    archive_url: str = "http://127.0.0.1:8080/adtarget-reports/"
    #: The profile API's Prometheus page, sampled once per report day.
    profile_api_metrics_url: str = "http://127.0.0.1:8000/metrics"
    hive_conn_id: str = "hiveserver2_default"
    smtp_conn_id: str = "smtp_default"
    cassandra_conn_id: str = "cassandra_default"
    #: An ``http`` connection to Airflow's own REST API (login and password), for the day's runs.
    airflow_api_conn_id: str = "airflow_api"
