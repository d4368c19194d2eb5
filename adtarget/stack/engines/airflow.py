"""Airflow 3 on PostgreSQL with the LocalExecutor: api-server, scheduler, dag-processor, triggerer.

Each component is an engine of its own (own PID file and log), so ``make status`` shows which
one is down. The api-server's preparation migrates the metadata database, writes the login and
imports the connections to every engine of the stack, so nothing is created by hand.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from adtarget.profiles.config import CassandraSettings
from adtarget.stack.config import StackSettings
from adtarget.stack.engine import Engine, Launch
from adtarget.stack.engines.spark import spark_job_env, write_spark_conf
from adtarget.stack.errors import StackError
from adtarget.stack.secret_file import kept_secrets

#: The login of the Airflow UI on embedded defaults (SimpleAuthManager).
ADMIN_USER = "admin"


def _secrets(settings: StackSettings) -> dict[str, str]:
    """Secrets generated once per checkout and kept under ``var/airflow`` (never committed)."""
    return kept_secrets(
        settings.airflow_home / "secrets.json",
        lambda: {
            "jwt_secret": secrets.token_urlsafe(32),
            "fernet_key": Fernet.generate_key().decode(),
            "admin_password": secrets.token_urlsafe(12),
        },
    )


def admin_password(settings: StackSettings) -> str:
    return _secrets(settings)["admin_password"]


def airflow_env(settings: StackSettings) -> dict[str, str]:
    """Environment of every Airflow process, the CLI and the tests (``airflow`` reads it at import)."""
    s = settings
    sec = _secrets(s)
    home = s.airflow_home
    base = f"http://{s.host}:{s.airflow_port}"
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(s.root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(s.root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(s.airflow_parallelism),
        "AIRFLOW__CORE__FERNET_KEY": sec["fernet_key"],
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": s.postgres_url,
        "AIRFLOW__API__HOST": s.host,
        "AIRFLOW__API__PORT": str(s.airflow_port),
        "AIRFLOW__API__BASE_URL": base,
        # One api-server worker: four (the default) cost ~1 GB on a 2-core machine.
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": sec["jwt_secret"],
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        # A new DAG file shows up within 30 s instead of 5 min; an unchanged one (a new SQL
        # pipeline changes no .py file) is parsed again every airflow_parse_interval seconds.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(s.airflow_parse_interval),
        "AIRFLOW__EMAIL__EMAIL_CONN_ID": "smtp_default",
        "AIRFLOW__EMAIL__FROM_EMAIL": "adtarget@localhost",
        # The segment registry and the staging folder of audience params (SegmentSettings).
        "ADTARGET_SEGMENTS_REGISTRY_URL": f"postgresql://adtarget@{s.host}:{s.postgres_port}/adtarget",
        "ADTARGET_SEGMENTS_STAGING_URI": (s.data_dir / "staging").as_uri(),
        "ADTARGET_SEGMENTS_RESEARCH_URI": (s.data_dir / "research").as_uri(),
        # The daily report (DailyReportSettings): its kept pages, where the UI shows them, and
        # the profile API it samples.
        "ADTARGET_REPORT_ARCHIVE_DIR": str(s.var_dir / "reports"),
        "ADTARGET_REPORT_ARCHIVE_URL": f"{base}/adtarget-reports/",
        "ADTARGET_REPORT_PROFILE_API_METRICS_URL": f"http://{s.host}:{s.profile_api_port}/metrics",
        # spark-submit, beeline and our own tools come from the project's venv.
        "PATH": f"{s.venv_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
    }
    # SparkSubmitOperator runs spark-submit itself: its jobs get the environment ours get.
    env.update(spark_job_env(s))
    return env


def connections(settings: StackSettings) -> dict[str, dict[str, Any]]:
    """The Airflow connections to every engine of the local stack."""
    s = settings
    return {
        "spark_default": {
            "conn_type": "spark",
            "host": s.spark_master,
            "extra": json.dumps({"deploy-mode": "client", "spark-binary": "spark-submit"}),
        },
        "hiveserver2_default": {
            "conn_type": "hiveserver2",
            "host": s.host,
            "port": s.hive_port,
            "schema": "default",
            "login": "adtarget",
            # The Spark Thrift server does not know Hive's `set airflow.ctx.*` variables.
            "extra": json.dumps({"auth_mechanism": "NONE", "run_set_variable_statements": False}),
        },
        "cassandra_default": {
            "conn_type": "cassandra",
            "host": s.host,
            "port": s.cassandra_port,
            # The profile keyspace, created by the migrations when Cassandra starts.
            "schema": CassandraSettings().keyspace,
        },
        "kafka_default": {
            "conn_type": "kafka",
            "extra": json.dumps({"bootstrap.servers": s.kafka_bootstrap, "group.id": "adtarget-airflow"}),
        },
        # Airflow's own REST API, for tasks that read runs (the daily report's pipeline section).
        "airflow_api": {
            "conn_type": "http",
            "host": s.host,
            "port": s.airflow_port,
            "login": ADMIN_USER,
            "password": admin_password(s),
        },
        "smtp_default": {
            "conn_type": "smtp",
            "host": s.host,
            "port": s.smtp_port,
            "extra": json.dumps(
                {"disable_ssl": True, "disable_tls": True, "from_email": "adtarget@localhost"}
            ),
        },
    }


def run_airflow_cli(settings: StackSettings, *args: str) -> str:
    """Run ``airflow <args>`` in the stack's environment; a failure names the command."""
    env = dict(os.environ)
    env.update(airflow_env(settings))
    result = subprocess.run(  # noqa: S603
        [str(settings.venv_bin / "airflow"), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        log = settings.log_dir / "airflow-cli.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr)
        raise StackError(f"airflow: `airflow {' '.join(args)}` failed; read {log}")
    return result.stdout


def health(settings: StackSettings) -> dict[str, Any]:
    """``GET /api/v2/monitor/health`` of the api-server (no login needed)."""
    url = f"http://{settings.host}:{settings.airflow_port}/api/v2/monitor/health"
    with urllib.request.urlopen(url, timeout=3) as resp:
        body: dict[str, Any] = json.load(resp)
    return body


class _AirflowComponent(Engine):
    component: str = ""
    #: The key of this component in the health answer.
    health_key: str = ""
    requires: tuple[str, ...] = ("postgres", "airflow-api-server")

    def ports(self) -> list[int]:
        return []

    def endpoint(self) -> str:
        return f"component of http://{self.settings.host}:{self.settings.airflow_port}"

    def launch(self) -> Launch:
        return Launch(
            argv=[self.settings.venv_bin / "airflow", self.component],
            env=airflow_env(self.settings),
            cwd=self.settings.airflow_home,
        )

    def healthy(self) -> bool:
        return bool(health(self.settings)[self.health_key]["status"] == "healthy")


class AirflowApiServer(_AirflowComponent):
    """The UI and REST API; its preparation migrates the DB and imports the connections."""

    name = "airflow-api-server"
    component = "api-server"
    health_key = "metadatabase"
    requires = ("postgres",)
    timeout = 240.0

    def ports(self) -> list[int]:
        return [self.settings.airflow_port]

    def endpoint(self) -> str:
        return f"http://{self.settings.host}:{self.settings.airflow_port} (login {ADMIN_USER})"

    def prepare(self) -> None:
        s = self.settings
        home: Path = s.airflow_home
        home.mkdir(parents=True, exist_ok=True)
        write_spark_conf(s)
        (home / "passwords.json").write_text(json.dumps({ADMIN_USER: admin_password(s)}))
        print("  airflow: migrating the metadata database", flush=True)
        run_airflow_cli(s, "db", "migrate")
        conns = home / "connections.json"
        conns.write_text(json.dumps(connections(s), indent=2))
        run_airflow_cli(s, "connections", "import", "--overwrite", str(conns))


class AirflowScheduler(_AirflowComponent):
    name = "airflow-scheduler"
    component = "scheduler"
    health_key = "scheduler"


class AirflowDagProcessor(_AirflowComponent):
    name = "airflow-dag-processor"
    component = "dag-processor"
    health_key = "dag_processor"


class AirflowTriggerer(_AirflowComponent):
    name = "airflow-triggerer"
    component = "triggerer"
    health_key = "triggerer"
