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
    assert set(load.params) == {"day", "rate", "adaptive", "force", "chunks"}

    # The SQL-file pipelines of sql/pipelines/, one DAG each.
    assert {"sql_keyword_stats", "sql_log_volume", "sql_campaign_stats", "sql_segment_size_history"} <= set(
        bag.dag_ids
    )
    # One audience DAG per template, with the template's params and the registration fields.
    from adtarget.segments.form import CONTROL
    from adtarget.segments.templates import TEMPLATES

    for template_id, tmpl in TEMPLATES.items():
        audience = bag.get_dag(f"audience_{template_id}")
        assert audience is not None, template_id
        assert sorted(audience.task_ids) == ["check", "estimate", "exact_size", "register"]
        assert set(audience.params) == set(tmpl.properties) | set(CONTROL)
    assert {"segment_admin", "segment_expiry"} <= set(bag.dag_ids)

    # The daily extraction: the operator from plugins/, the assets each step updates.
    extraction = bag.get_dag("segment_extraction")
    assert extraction is not None
    assert type(extraction.get_task("extract")).__name__ == "SegmentExtractionOperator"
    # A backfill's runs extract one day at a time: two days never write the same tables at once.
    assert extraction.get_task("extract").max_active_tis_per_dag == 1
    assert extraction.get_task("publish_stats").upstream_task_ids == {"load_memberships", "build_sketches"}
    assert extraction.get_task("load_memberships").upstream_task_ids == {"extract"}
    outlets = {t.task_id: [a.uri for a in t.outlets] for t in extraction.tasks if t.outlets}
    assert outlets["extract"] == ["warehouse://adtarget/segment_membership"]

    campaign = bag.get_dag("sql_campaign_stats")
    assert campaign is not None
    assert campaign.get_task("020_campaign_totals").upstream_task_ids == {"010_creative_delivery"}


pytestmark = pytest.mark.integration
