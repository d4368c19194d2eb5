from __future__ import annotations

import json
from pathlib import Path

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import admin_password, airflow_env, connections


def test_a_connection_for_every_engine(tmp_path: Path) -> None:
    conns = connections(StackSettings(var_dir=tmp_path, kafka_port=19092))
    assert {k: v["conn_type"] for k, v in conns.items()} == {
        "spark_default": "spark",
        "hiveserver2_default": "hiveserver2",
        "cassandra_default": "cassandra",
        "kafka_default": "kafka",
        "smtp_default": "smtp",
        "airflow_api": "http",
    }
    assert json.loads(conns["kafka_default"]["extra"])["bootstrap.servers"] == "127.0.0.1:19092"
    # Without it the Hive provider sends `set airflow.ctx.*` that the Spark Thrift server rejects.
    assert json.loads(conns["hiveserver2_default"]["extra"])["run_set_variable_statements"] is False
    # Without a spark_default, SparkSubmitOperator silently tries YARN.
    assert conns["spark_default"]["host"] == "local[2]"


def test_secrets_are_generated_once_and_kept(tmp_path: Path) -> None:
    s = StackSettings(var_dir=tmp_path)
    first = airflow_env(s)
    assert airflow_env(s)["AIRFLOW__API_AUTH__JWT_SECRET"] == first["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert admin_password(s) == admin_password(s)
    assert (s.airflow_home / "secrets.json").stat().st_mode & 0o077 == 0


def test_airflow_uses_postgres_local_executor_and_our_folders(tmp_path: Path) -> None:
    s = StackSettings(var_dir=tmp_path)
    env = airflow_env(s)
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(s.root / "dags")
    assert env["AIRFLOW__CORE__PARALLELISM"] == "4"
    assert env["PYSPARK_PYTHON"] == str(s.venv_bin / "python")


def test_airflow_spark_jobs_get_the_jobs_java_options(tmp_path: Path) -> None:
    # SparkSubmitOperator runs spark-submit itself: the options reach it as SPARK_SUBMIT_OPTS.
    fast = StackSettings(var_dir=tmp_path, spark_submit_java_options=" -XX:TieredStopAtLevel=1 ")
    assert airflow_env(fast)["SPARK_SUBMIT_OPTS"] == "-XX:TieredStopAtLevel=1"
    default = StackSettings(var_dir=tmp_path, spark_submit_java_options="")
    assert "SPARK_SUBMIT_OPTS" not in airflow_env(default)
