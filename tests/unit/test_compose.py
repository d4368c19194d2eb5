"""docker-compose.yaml describes the same stack as `make up`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from adtarget.stack.config import PROJECT_ROOT, StackSettings
from adtarget.stack.engines.airflow import connections

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _published(service: dict[str, Any]) -> set[int]:
    return {int(str(p).split(":")[0]) for p in service.get("ports", [])}


def test_every_engine_of_the_local_stack_has_a_service_on_the_same_port() -> None:
    services = _compose()["services"]
    s = StackSettings()
    expected = {
        "postgres": s.postgres_port,
        "cassandra": s.cassandra_port,
        "kafka": s.kafka_port,
        "smtp": s.smtp_port,
        "spark-thrift": s.hive_port,
        "airflow-api-server": s.airflow_port,
        "bridge": s.bridge_port,
        "report": s.report_port,
        "profile-api": s.profile_api_port,
    }
    for name, port in expected.items():
        assert port in _published(services[name]), name
    for component in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        assert component in services


def test_airflow_gets_the_same_connections_as_the_local_stack() -> None:
    env = _compose()["x-airflow"]["environment"]
    ids = {k.removeprefix("AIRFLOW_CONN_").lower() for k in env if k.startswith("AIRFLOW_CONN_")}
    assert ids == set(connections(StackSettings()))
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_"):
            conn = json.loads(value)
            local = connections(StackSettings())[key.removeprefix("AIRFLOW_CONN_").lower()]
            assert conn["conn_type"] == local["conn_type"], key
    hive = json.loads(env["AIRFLOW_CONN_HIVESERVER2_DEFAULT"])
    assert hive["extra"]["run_set_variable_statements"] is False


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no `docker compose` client on this machine; the structure is checked by the tests above")
    result = subprocess.run(
        [*client, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
