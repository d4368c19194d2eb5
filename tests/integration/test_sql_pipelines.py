"""SQL-file pipelines run by Airflow (``dag.test()``) over the real HiveServer2 and Spark SQL.

The keyword mart of the platform is checked against an oracle computed in Python from the raw
log; a re-run leaves the partition as it was; a hostile run param lands in the table as a
value; a failing step retries, then mails; one broken pipeline file is an import error of its
own, in the metadata database, and leaves every other pipeline active.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adtarget import testdata
from adtarget.pipelines.factory import build_all
from adtarget.pipelines.settings import PipelineSettings
from adtarget.stack.config import StackSettings
from tests.mailbox import html_part, wait_for_mails
from tests.warehouse import keyword_oracle, keyword_stats, query

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pipelines"
# Days far from any real data a developer may have loaded.
DAY = dt.date(2004, 4, 4)
USERS = 2_000
SEED = 17
HOSTILE = "x'; DROP TABLE adtarget.search_log; --\n${hiveconf:hive.metastore.uris} \\' 한국어 \"q\""


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _forget_dags(*dag_ids: str) -> None:
    """Delete test DAGs from the metadata database, so the Airflow UI is left as it was."""
    from airflow.api.common.delete_dag import delete_dag
    from airflow.exceptions import DagNotFound

    for dag_id in dag_ids:
        with contextlib.suppress(DagNotFound):
            delete_dag(dag_id)


@pytest.fixture(scope="module")
def search_day(stack: Callable[..., None], settings: StackSettings) -> Iterator[dt.date]:
    stack("postgres", "spark-thrift", "smtp", "airflow-api-server")
    testdata.generate(settings, start=DAY, users=USERS, seed=SEED, quiet=True)
    yield DAY
    # dag.test() wrote the fixture pipelines' DAGs into the dags-folder bundle.
    built, _ = build_all(PipelineSettings(dir=FIXTURES))
    _forget_dags(*built)


def _dag(dag_id: str, monkeypatch: pytest.MonkeyPatch, root: Path | None = None) -> Any:
    """The DAG as the dags folder builds it with ``ADTARGET_PIPELINES_DIR`` at ``root``."""
    if root is None:
        monkeypatch.delenv("ADTARGET_PIPELINES_DIR", raising=False)
    else:
        monkeypatch.setenv("ADTARGET_PIPELINES_DIR", str(root))
    dags, errors = build_all(PipelineSettings())
    assert errors == []
    return dags[dag_id]


def test_keyword_stats_equals_the_oracle_and_a_rerun_changes_nothing(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = _dag("sql_keyword_stats", monkeypatch)
    run = dag.test(logical_date=_midnight(search_day))
    assert run.state == "success"
    expected = keyword_oracle(settings, search_day)
    assert len(expected) > 100
    assert keyword_stats(settings, search_day) == expected

    run = dag.test(logical_date=_midnight(search_day))
    assert run.state == "success"
    assert keyword_stats(settings, search_day) == expected  # replaced, not appended


def test_a_hostile_param_is_a_value_and_nothing_else_runs(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = {"dt": search_day.isoformat()}
    raw = query(
        settings, "SELECT count(*), count(DISTINCT adid) FROM adtarget.search_log WHERE dt = %(dt)s", day
    )
    dag = _dag("sql_daily_counts", monkeypatch, FIXTURES)
    run = dag.test(logical_date=_midnight(search_day), run_conf={"label": HOSTILE})
    assert run.state == "success"
    got = query(
        settings, "SELECT label, searches, users FROM adtarget_test.daily_counts WHERE dt = %(dt)s", day
    )
    assert got == [(HOSTILE, *raw[0])]
    # The log is still there, whole.
    assert (
        query(
            settings, "SELECT count(*), count(DISTINCT adid) FROM adtarget.search_log WHERE dt = %(dt)s", day
        )
        == raw
    )


def test_the_spark_sql_engine_writes_the_same_day(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = {"dt": search_day.isoformat()}
    dag = _dag("sql_spark_counts", monkeypatch, FIXTURES)
    run = dag.test(logical_date=_midnight(search_day))
    assert run.state == "success"
    raw = query(
        settings, "SELECT count(*), count(DISTINCT adid) FROM adtarget.search_log WHERE dt = %(dt)s", day
    )
    assert (
        query(settings, "SELECT searches, users FROM adtarget_test.spark_counts WHERE dt = %(dt)s", day)
        == raw
    )


def test_the_campaign_and_volume_marts_equal_the_raw_logs(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = {"dt": search_day.isoformat()}
    for dag_id in ("sql_campaign_stats", "sql_log_volume"):
        assert _dag(dag_id, monkeypatch).test(logical_date=_midnight(search_day)).state == "success"

    # campaign_stats, from the raw events in Python
    totals: dict[int, list[float]] = {}
    for event, campaign, cost in query(
        settings, "SELECT event, campaign_id, cost FROM adtarget.ad_event_log WHERE dt = %(dt)s", day
    ):
        row = totals.setdefault(campaign, [0, 0, 0.0, 0, 0.0])
        row[0] += event == "impression"
        row[1] += event == "click"
        row[2] += cost or 0.0
    for campaign, value in query(
        settings, "SELECT campaign_id, value FROM adtarget.conversion_log WHERE dt = %(dt)s", day
    ):
        row = totals.setdefault(campaign, [0, 0, 0.0, 0, 0.0])
        row[3] += 1
        row[4] += value or 0.0
    got = query(
        settings,
        "SELECT campaign_id, impressions, clicks, ctr, spend, conversions, conversion_value"
        " FROM adtarget.campaign_stats WHERE dt = %(dt)s",
        day,
    )
    assert len(got) == len(totals) > 10
    for campaign, impressions, clicks, ctr, spend, conversions, value in got:
        want = totals[campaign]
        assert (impressions, clicks, conversions) == (want[0], want[1], want[3])
        assert spend == pytest.approx(want[2])
        assert value == pytest.approx(want[4])
        assert ctr == (pytest.approx(clicks / impressions) if impressions else None)

    volume = dict(
        (log, (rows, users))
        for log, rows, users in query(
            settings, "SELECT log, row_count, users FROM adtarget.log_volume WHERE dt = %(dt)s", day
        )
    )
    assert set(volume) == {
        "search_log",
        "ad_event_log",
        "app_install_log",
        "page_visit_log",
        "conversion_log",
    }
    for log, counts in volume.items():
        adids = [r[0] for r in query(settings, f"SELECT adid FROM adtarget.{log} WHERE dt = %(dt)s", day)]  # noqa: S608 - log names from the set above
        assert counts == (len(adids), len(set(adids))), log


def test_segment_sizes_wait_for_the_membership_day_and_count_the_change(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adtarget import hiveql

    for ddl in hiveql.load("warehouse/segments.sql"):
        query(settings, ddl)
    before, today = search_day - dt.timedelta(days=1), search_day
    members = {before: {1: 3, 2: 2}, today: {1: 5, 3: 1}}  # segment -> members
    for day, sizes in members.items():
        rows = [(f"user-{s}-{i}", s) for s, n in sizes.items() for i in range(n)]
        values = ", ".join(f"(%(a{i})s, %(s{i})s, 1)" for i in range(len(rows)))
        params: dict[str, Any] = {"dt": day.isoformat()}
        for i, (adid, segment) in enumerate(rows):
            params[f"a{i}"], params[f"s{i}"] = adid, segment
        query(
            settings,
            f"INSERT OVERWRITE TABLE adtarget.segment_membership PARTITION (dt = %(dt)s) VALUES {values}",  # noqa: S608 - placeholders only
            params,
        )
    run = _dag("sql_segment_size_history", monkeypatch).test(logical_date=_midnight(today))
    assert run.state == "success"
    assert run.get_task_instance("wait_for_adtarget__segment_membership").state == "success"
    got = query(
        settings,
        "SELECT segment_id, members, members_before, change"
        " FROM adtarget.segment_size_history WHERE dt = %(dt)s",
        {"dt": today.isoformat()},
    )
    assert sorted(got) == [(1, 5, 3, 2), (2, 0, 2, -2), (3, 1, 0, 1)]


def test_wait_for_passes_after_the_upstream_run_and_times_out_without_it(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADTARGET_PIPELINES_WAIT_INTERVAL", "1")
    monkeypatch.setenv("ADTARGET_PIPELINES_WAIT_TIMEOUT", "4")
    upstream = _dag("sql_daily_counts", monkeypatch, FIXTURES)
    assert upstream.test(logical_date=_midnight(search_day), run_conf={"label": "waited"}).state == "success"
    run = _dag("sql_waiting", monkeypatch, FIXTURES).test(logical_date=_midnight(search_day))
    assert run.state == "success"
    assert query(
        settings, "SELECT label FROM adtarget_test.waiting WHERE dt = %(dt)s", {"dt": search_day.isoformat()}
    ) == [("waited",)]

    # A day with neither the upstream's run nor the log's partition: both waits time out.
    lonely = dt.date(2004, 9, 9)  # after the start date (earlier runs get no tasks), with no data
    run = _dag("sql_waiting", monkeypatch, FIXTURES).test(logical_date=_midnight(lonely))
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states == {
        "wait_for_daily_counts": "failed",
        "wait_for_adtarget__search_log": "failed",
        "waiting": "upstream_failed",
    }


def test_a_failing_step_retries_then_mails_the_alert_address(
    search_day: dt.date, settings: StackSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = time.time() - 1
    dag = _dag("sql_failing", monkeypatch, FIXTURES)
    run = dag.test(logical_date=_midnight(search_day))
    assert run.state == "failed"
    ti = run.get_task_instance("failing")
    assert ti.state == "failed"
    assert ti.try_number == 2  # the first try and its one retry

    (mail,) = wait_for_mails(
        settings,
        since,
        lambda m: "sql-pipeline-tests@localhost" in m.get("X-Adtarget-Rcpt-To", ""),
        what="alert mail",
        timeout=30,
    )
    assert (
        mail["Subject"] == f"[adtarget] sql_failing.failing failed for {search_day.isoformat()} after 2 tries"
    )
    assert "no_such_column" in html_part(mail)


def test_a_broken_file_is_an_import_error_of_its_own_and_the_others_stay_active(
    stack: Callable[..., None], settings: StackSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's own parse-and-store path, on the real metadata database.

    A separate bundle name keeps the running dag-processor (bundle ``dags-folder``) away from
    the rows this test writes and reads.
    """
    stack("postgres", "airflow-api-server")
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.errors import ParseImportError
    from airflow.utils.session import create_session

    bundle = f"isolation-{time.time_ns()}"
    prefix = f"iso{time.time_ns() % 10**9}_"
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    shutil.copy(FIXTURES / "daily_counts.sql", pipelines / "daily_counts.sql")
    shutil.copytree(FIXTURES / "ordered", pipelines / "ordered")
    broken = pipelines / "broken.sql"
    broken.write_text(
        "/* ---\nschedule: '@daily'\nstart_date: 2026-01-01\nretries: three\n--- */\nSELECT 1;\n"
    )
    monkeypatch.setenv("ADTARGET_PIPELINES_DIR", str(pipelines))
    monkeypatch.setenv("ADTARGET_PIPELINES_DAG_ID_PREFIX", prefix)
    # A dags folder of its own with the two pipeline files only: the platform's other DAGs must
    # not be written under this bundle.
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    for name in ("sql_pipelines.py", "sql_pipeline_errors.py"):
        shutil.copy(settings.root / "dags" / name, dags_folder / name)
    with create_session() as session:
        session.merge(DagBundleModel(name=bundle))

    def parse() -> tuple[dict[str, DagModel], dict[str, str]]:
        bag = BundleDagBag(dag_folder=str(dags_folder), bundle_path=dags_folder, bundle_name=bundle)
        sync_bag_to_db(bag, bundle, None)
        with create_session() as session:
            models = {m.dag_id: m for m in session.query(DagModel).filter(DagModel.dag_id.like(f"{prefix}%"))}
            for m in models.values():
                session.expunge(m)
            errors = {
                str(e.filename): str(e.stacktrace)
                for e in session.query(ParseImportError).filter(ParseImportError.bundle_name == bundle)
            }
        return models, errors

    models, errors = parse()
    good = {f"{prefix}daily_counts", f"{prefix}ordered"}
    assert set(models) == good
    assert all(not m.is_stale and not m.has_import_errors for m in models.values())
    assert list(errors) == ["sql_pipeline_errors.py"]
    assert (
        f"{broken}:4: field 'retries': 'three' is not of type 'integer'" in errors["sql_pipeline_errors.py"]
    )

    broken.write_text("/* ---\nschedule: '@daily'\nstart_date: 2026-01-01\nretries: 3\n--- */\nSELECT 1;\n")
    try:
        models, errors = parse()
        assert set(models) == {*good, f"{prefix}broken"}
        assert all(not m.is_stale and not m.has_import_errors for m in models.values())
        assert errors == {}
    finally:
        _forget_dags(*models)
        with create_session() as session:
            session.query(DagBundleModel).filter(DagBundleModel.name == bundle).delete()
