from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from adtarget.stack.config import PROJECT_ROOT, StackSettings


def test_defaults_keep_everything_under_var() -> None:
    s = StackSettings()
    assert s.var_dir == PROJECT_ROOT / "var"
    for folder in (s.log_dir, s.run_dir, s.data_dir, s.conf_dir, s.mail_dir, s.airflow_home):
        assert folder.is_relative_to(s.var_dir)


def test_environment_overrides_ports_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADTARGET_KAFKA_PORT", "19092")
    monkeypatch.setenv("ADTARGET_CASSANDRA_HEAP", "2G")
    s = StackSettings()
    assert s.kafka_port == 19092
    assert s.kafka_bootstrap == "127.0.0.1:19092"
    assert s.cassandra_heap == "2G"


def test_a_bad_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADTARGET_KAFKA_PORT", "nine")
    with pytest.raises(ValidationError, match="kafka_port"):
        StackSettings()


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="kafka_prot"):
        StackSettings(kafka_prot=1)  # type: ignore[call-arg]


def test_urls_follow_host_and_ports(tmp_path: Path) -> None:
    s = StackSettings(host="127.0.0.2", postgres_port=6543, var_dir=tmp_path)
    assert s.postgres_url == "postgresql+psycopg2://adtarget@127.0.0.2:6543/airflow"
    assert s.metastore_jdbc_url == "jdbc:postgresql://127.0.0.2:6543/metastore"
    assert s.warehouse_dir == tmp_path / "data" / "warehouse"
