"""Every DAG file imports cleanly."""

from __future__ import annotations

import pytest

from adtarget.stack.config import StackSettings


def test_dagbag_has_no_import_errors(settings: StackSettings) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.root / "dags"))
    assert bag.import_errors == {}
    assert "platform_health" in bag.dag_ids
    dag = bag.get_dag("platform_health")
    assert dag is not None
    assert sorted(dag.task_ids) == ["cassandra", "hiveserver2", "kafka", "smtp"]
    assert dag.catchup is False

    load = bag.get_dag("profile_load")
    assert load is not None
    assert sorted(load.task_ids) == ["day_in_warehouse", "load"]
    assert set(load.params) == {"day", "rate", "force"}


pytestmark = pytest.mark.integration
