"""A pipeline and its steps, as read from ``sql/pipelines/`` (validated, ready to build a DAG)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Engine = Literal["hiveserver2", "spark"]


@dataclass(frozen=True)
class Step:
    """One ``.sql`` file: its statements (templates, rendered at run time) and how it runs."""

    task_id: str
    path: Path
    statements: tuple[str, ...]
    engine: Engine
    conn_id: str
    retries: int
    retry_delay: int
    timeout: int
    depends_on: tuple[str, ...]
    produces: tuple[str, ...]


@dataclass(frozen=True)
class Pipeline:
    """One folder of step files (or one file): an Airflow DAG named ``dag_id``."""

    name: str
    dag_id: str
    source: Path
    description: str
    schedule: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    catchup: bool
    max_active_runs: int
    owner: str
    tags: tuple[str, ...]
    alert_email: tuple[str, ...]
    wait_for: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the pipeline writes, in step order."""
        return tuple(t for s in self.steps for t in s.produces)
