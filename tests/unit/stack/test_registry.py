from __future__ import annotations

import socket
from pathlib import Path

import pytest

from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.smtp import Smtp
from adtarget.stack.errors import StackError


def test_engines_adds_what_the_named_ones_require_in_start_order() -> None:
    names = [e.name for e in registry.engines(StackSettings(), ["airflow-scheduler"])]
    assert names == ["postgres", "airflow-api-server", "airflow-scheduler"]


def test_all_engines_when_none_named() -> None:
    assert [e.name for e in registry.engines(StackSettings())] == list(registry.NAMES)


def test_unknown_engine_is_named_in_the_error() -> None:
    with pytest.raises(StackError, match=r"unknown engine\(s\) \['kafak'\]"):
        registry.engines(StackSettings(), ["kafak"])
    with pytest.raises(StackError, match="kafak"):
        registry.dependents(["kafak"])


def test_stopping_postgres_also_stops_what_needs_it() -> None:
    assert registry.dependents(["postgres"]) == {
        "postgres",
        "spark-thrift",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    }
    assert registry.dependents(["kafka"]) == {"kafka", "bridge", "report"}
    assert registry.dependents(["cassandra"]) == {"cassandra", "report", "profile-api"}


def test_missing_jdk_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(StackError) as err:
        registry.check_java(StackSettings(java_home=tmp_path / "no-jdk"))
    message = str(err.value)
    assert message.startswith("java: cannot run ")
    assert "JDK 17" in message
    assert "\n" not in message


def test_old_jdk_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "jdk" / "bin" / "java"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(StackError, match="version 11; the engines need a JDK 17"):
        registry.check_java(StackSettings(java_home=tmp_path / "jdk"))


def test_a_taken_port_is_named_with_the_engine(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        engine = Smtp(StackSettings(var_dir=tmp_path, smtp_port=port))
        with pytest.raises(StackError) as err:
            engine.start()
    assert str(err.value).startswith(f"smtp: port {port} on 127.0.0.1 is taken by another process")
    assert not engine.pid_file.path.exists()
