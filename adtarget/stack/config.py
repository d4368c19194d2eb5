"""Settings of the local engine stack: every port, memory cap, version and folder in one place.

Each field can be set from the environment with the ``ADTARGET_`` prefix, e.g.
``ADTARGET_KAFKA_PORT=19092`` or ``ADTARGET_CASSANDRA_HEAP=2G``.
"""

from __future__ import annotations

import os
import shutil
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.stack.errors import StackError

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    """Where the local engines live, which ports they take and how much memory they may use."""

    model_config = SettingsConfigDict(env_prefix="ADTARGET_", extra="forbid", frozen=True)

    root: Path = Field(PROJECT_ROOT, description="The checkout; dags/, sql/ ... are read from it.")
    var_dir: Path = Field(
        PROJECT_ROOT / "var",
        description="Data, logs, PID files, downloaded jars and the venv (git-ignored).",
    )
    venv_dir: Path = Field(PROJECT_ROOT / "var" / "venv", description="The project's virtualenv.")
    cache_dir: Path = Field(
        PROJECT_ROOT / "var" / "cache", description="Maven and its downloaded jars (shared by stacks)."
    )
    host: str = Field("127.0.0.1", description="Address every engine binds to.")
    java_home: Path | None = Field(None, description="JDK 17 home; default: JAVA_HOME, then PATH.")

    # Ports.
    postgres_port: int = 5432
    cassandra_port: int = 9042
    cassandra_storage_port: int = 7000
    cassandra_jmx_port: int = 7199
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    hive_port: int = Field(10000, description="HiveServer2-compatible Spark Thrift server.")
    spark_ui_port: int = 4040
    airflow_port: int = 8080
    smtp_port: int = 8025
    bridge_port: int = Field(9009, description="Socket-to-Kafka bridge (ad-server events).")
    bridge_metrics_port: int = 9109
    report_port: int = Field(6066, description="Realtime report worker: /report, /report.html, /metrics.")
    profile_api_port: int = Field(8000, description="Profile API (serving/): /v1/profiles, /metrics.")

    # Memory: the whole stack is sized to stay under 8 GB.
    cassandra_heap: str = Field("1G", description="Cassandra -Xmx/-Xms.")
    cassandra_timer_slack_us: int = Field(
        1000,
        ge=0,
        description="Timer slack of Cassandra's threads in us (0: the kernel's 50 us): its idle request "
        "threads spin in 10 us sleeps, which a 1 ms slack makes a few wake-ups (adtarget.stack.timer_slack).",
    )
    kafka_heap: str = Field("512M", description="Kafka broker -Xmx/-Xms.")
    spark_driver_memory: str = Field("1g", description="Thrift server driver (local mode).")
    spark_master: str = Field("local[2]", description="Master for the Thrift server and jobs.")
    spark_submit_java_options: str = Field(
        "",
        description="JVM options of the driver of the Spark jobs (adtarget.spark_submit's and Airflow's, "
        "as SPARK_SUBMIT_OPTS); -XX:TieredStopAtLevel=1 starts small jobs ~20-30% faster (the tests and "
        "CI set it), big ones run slower.",
    )
    spark_class_archive: bool = Field(
        True,
        description="Spark jobs run by adtarget.spark_submit map the classes their driver loads from "
        "a class-data-sharing archive, written by the first job into var_dir (170-220 MB): a no-op "
        "job takes about 60 % of the time.",
    )
    airflow_parallelism: int = Field(4, description="Airflow [core] parallelism (task slots).")
    airflow_parse_interval: int = Field(
        120,
        ge=1,
        description="Seconds between two parses of an unchanged DAG file (Airflow's "
        "min_file_process_interval; an edited .py file is parsed at once). Each parse of the 22 "
        "audience DAGs costs 6-7 s of CPU: at Airflow's default of 30 s the dag processor took a "
        "third of a core on an idle stack.",
    )

    # Versions fetched from Maven Central.
    maven_version: str = "3.9.16"
    cassandra_version: str = "5.0.9"
    kafka_version: str = "4.1.1"
    postgres_jdbc_version: str = "42.7.14"
    maven_repository: str = Field(
        "https://repo.maven.apache.org/maven2",
        description="Maven repository used to fetch Maven itself and the engines' jars.",
    )

    # How long each engine may take to become healthy, seconds.
    start_timeout: float = Field(180.0, description="Upper bound for any engine's start.")

    @cached_property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @cached_property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @cached_property
    def data_dir(self) -> Path:
        return self.var_dir / "data"

    @cached_property
    def conf_dir(self) -> Path:
        return self.var_dir / "conf"

    @cached_property
    def venv_bin(self) -> Path:
        return self.venv_dir / "bin"

    @cached_property
    def mail_dir(self) -> Path:
        return self.var_dir / "mail"

    @cached_property
    def spark_conf_dir(self) -> Path:
        return self.conf_dir / "spark"

    @cached_property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"

    @cached_property
    def airflow_home(self) -> Path:
        return self.var_dir / "airflow"

    def java(self) -> Path:
        """The ``java`` executable the JVM engines run with."""
        home = self.java_home or (Path(os.environ["JAVA_HOME"]) if "JAVA_HOME" in os.environ else None)
        if home is not None:
            return home / "bin" / "java"
        found = shutil.which("java")
        if found is None:
            raise StackError("java: no JDK found; install a JDK 17 and put it on PATH or set JAVA_HOME")
        return Path(found)

    @property
    def postgres_url(self) -> str:
        """SQLAlchemy URL of the Airflow metadata database."""
        return f"postgresql+psycopg2://adtarget@{self.host}:{self.postgres_port}/airflow"

    @property
    def metastore_jdbc_url(self) -> str:
        """JDBC URL of the Hive metastore database."""
        return f"jdbc:postgresql://{self.host}:{self.postgres_port}/metastore"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"
