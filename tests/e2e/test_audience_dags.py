"""Through Airflow's REST API on the real scheduler: sales size and register a segment (bad params
refused early), the daily extraction delivers the day, and the daily report mails it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from adtarget.airflow_client import AirflowApiError, AirflowClient
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.segments.form import params_schema
from adtarget.segments.params import validate
from adtarget.segments.registry import Registry, Segment, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.sketches import SketchStore, load
from adtarget.segments.templates import template
from adtarget.segments.windows import SPANS, Piece
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password, airflow_env
from adtarget.stack.engines.profile_api import profile_api_token
from tests import audiences
from tests.mailbox import wait_for_mails

pytestmark = pytest.mark.e2e

DAY = audiences.DAYS[-1]
USERS = audiences.USERS
SEED = audiences.SEED


@pytest.fixture(scope="module")
def api(
    stack: Callable[..., None], settings: StackSettings, audience_logs: audiences.Logs
) -> Iterator[AirflowClient]:
    stack()
    with AirflowClient(
        f"http://{settings.host}:{settings.airflow_port}", ADMIN_USER, admin_password(settings)
    ) as c:
        yield c


@pytest.fixture(scope="module")
def registry_url(settings: StackSettings) -> str:
    """The registry the Airflow workers use."""
    return SegmentSettings(registry_url=airflow_env(settings)["ADTARGET_SEGMENTS_REGISTRY_URL"]).registry_url


def test_size_then_register_through_the_trigger_api(api: AirflowClient, registry_url: str) -> None:
    dag_id = "audience_banner_click"
    details = api.wait_for_dag(dag_id, timeout=180)
    assert details["is_paused"] is False
    name = f"e2e clickers {uuid.uuid4().hex[:8]}"
    conf = {"banner_ids": [1, 2, 3], "days": 1, "as_of": DAY.isoformat(), "genders": ["F", "M"]}
    tmpl = template("banner_click")
    expected = len(audiences.members(audiences.Logs(SEED, USERS, [DAY]), tmpl.id, validate(tmpl, conf)))
    assert expected > 0

    # The size-only run and the registering run are independent: run them side by side.
    sized_run = api.trigger(dag_id, conf)
    run = api.trigger(dag_id, {**conf, "register": True, "name": name, "owner": "sales-kim"})
    assert api.wait_for_run(dag_id, sized_run, timeout=600) == "success"
    result = api.xcom(dag_id, sized_run, "register")
    assert result["exact_count"] == expected
    assert result["as_of"] == DAY.isoformat()
    assert result["registered"] is False
    # The instant estimate: 3,000 users keep every sketch exact, so it is the count itself.
    assert result["estimate"]["available"] is True
    assert result["estimate"]["relation"] == "exact"
    assert result["estimate"]["estimate"] == expected

    assert api.wait_for_run(dag_id, run, timeout=600) == "success"
    result = api.xcom(dag_id, run, "register")
    assert (result["exact_count"], result["outcome"]) == (expected, "created")
    segment = result["segment"]
    assert (segment["name"], segment["owner"], segment["version"], segment["status"]) == (
        name,
        "sales-kim",
        1,
        "active",
    )

    # The same definition again (lists in another order): the registry keeps one segment.
    again = api.trigger(dag_id, {**conf, "banner_ids": [3, 2, 1], "register": True, "name": name + " bis"})
    assert api.wait_for_run(dag_id, again, timeout=600) == "success"
    repeat = api.xcom(dag_id, again, "register")
    assert (repeat["outcome"], repeat["segment"]["segment_id"]) == ("existing", segment["segment_id"])

    with closing(Registry(registry_url)) as registry:
        stored = registry.get(segment["segment_id"])
        assert stored.params["banner_ids"] == [1, 2, 3]
        assert stored.segment_id in [s.segment_id for s in registry.active(dt.date.today())]
        asked = [
            r for r in registry.size_requests(stored.created_at - dt.timedelta(hours=1)) if r["run_id"] == run
        ]
        assert [(r["exact_count"], r["as_of"], r["segment_id"]) for r in asked] == [
            (expected, DAY, segment["segment_id"])
        ]

    # segment_admin expires it: out of the daily delivery for good.
    admin = api.trigger("segment_admin", {"segment_id": segment["segment_id"], "action": "expire"})
    assert api.wait_for_run("segment_admin", admin, timeout=300) == "success"
    with closing(Registry(registry_url)) as registry:
        assert registry.get(segment["segment_id"]).status is Status.EXPIRED


def test_bad_params_are_refused_before_any_query(api: AirflowClient) -> None:
    api.wait_for_dag("audience_lapsed_users", timeout=180)
    # A schema violation: the REST API answers 400 and names the param.
    with pytest.raises(AirflowApiError, match=r"HTTP 400.*banner_ids"):
        api.trigger("audience_banner_click", {"banner_ids": ["x"]})
    with pytest.raises(AirflowApiError, match="HTTP 400"):
        api.trigger("audience_search_any", {"keywords": []})
    # A rule across params: the run fails in its check, and the query never starts.
    run = api.trigger("audience_lapsed_users", {"days": 2, "quiet_days": 2, "as_of": DAY.isoformat()})
    assert api.wait_for_run("audience_lapsed_users", run, timeout=300) == "failed"
    states = api.task_states("audience_lapsed_users", run)
    assert states == {
        "check": "failed",
        "estimate": "upstream_failed",
        "exact_size": "upstream_failed",
        "register": "upstream_failed",
    }


def _browser(playwright: Any) -> Any:
    """The system Chromium (Debian's ``chromium``; ``ADTARGET_CHROMIUM`` names another)."""
    path = os.environ.get("ADTARGET_CHROMIUM", "/usr/bin/chromium")
    assert os.path.exists(path), f"no Chromium at {path}: install it (apt-get install chromium)"
    # Without the network flags Chromium keeps calling Google's hosts, which this machine refuses.
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    return playwright.chromium.launch(executable_path=path, args=[*flags, "--disable-sync", "--no-first-run"])


def _sign_in(page: Any, base: str, settings: StackSettings) -> None:
    """Log in to the Airflow UI at ``base`` as the stack's admin."""
    page.goto(f"{base}/")
    page.fill("input[name=username]", ADMIN_USER)
    page.fill("input[name=password]", admin_password(settings))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "login" not in url)


def test_trigger_form_shows_the_template_fields_and_triggers_a_run(
    api: AirflowClient, settings: StackSettings, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    dag_id = "audience_search_any"
    api.wait_for_dag(dag_id, timeout=180)
    base = f"http://{settings.host}:{settings.airflow_port}"
    shot = tmp_path / "trigger_form.png"
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        _sign_in(page, base, settings)
        page.goto(f"{base}/dags/{dag_id}")
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        # Every field of the template is there, in its section, with its title and description.
        # (The sections are an accordion: one open at a time.)
        fields = params_schema(template("search_any")).values()
        for section in ("Demographic filters", "Registration", "Audience"):
            dialog.get_by_role("button", name=section).click()
            for spec in [f for f in fields if f["section"] == section]:
                # A required field's label ends with an asterisk.
                label = re.compile(rf"^{re.escape(spec['title'])}\s*\*?$")
                expect(dialog.get_by_text(label)).to_be_visible()
                expect(dialog.get_by_text(spec["description"], exact=True)).to_be_visible()
        page.fill("#element_keywords", "나이키\nnike")
        page.fill("input[name=element_days]", "1")
        page.fill("#element_as_of", DAY.isoformat())
        page.screenshot(path=str(shot), full_page=True)
        dialog.get_by_role("button", name="Trigger").click()
        expect(dialog).to_be_hidden()
        browser.close()

    image = shot.read_bytes()
    assert image.startswith(b"\x89PNG")
    width, height = struct.unpack(">II", image[16:24])
    assert (width, height) >= (1280, 1000)
    assert len(image) > 50_000  # a rendered form, not a blank page

    # The run the form started carries the typed params and succeeds.
    runs = [r for r in api.dag_runs(dag_id) if (r.get("conf") or {}).get("keywords") == ["나이키", "nike"]]
    assert runs, "the trigger form started no run with the typed keywords"
    run = max(runs, key=lambda r: r["run_after"])
    assert api.wait_for_run(dag_id, run["dag_run_id"], timeout=600) == "success"
    result = api.xcom(dag_id, run["dag_run_id"], "register")
    tmpl = template("search_any")
    values = validate(tmpl, {"keywords": ["나이키", "nike"], "days": 1, "as_of": DAY.isoformat()})
    assert result["exact_count"] == len(
        audiences.members(audiences.Logs(SEED, USERS, [DAY]), tmpl.id, values)
    )


@dataclass(frozen=True)
class Extraction:
    """A backfill of the daily ``segment_extraction`` DAG ending on ``DAY`` (``run``), with what
    it must deliver."""

    run: str
    segment: Segment
    expected: set[str]
    checked: list[str]
    seoul: set[str]
    #: Members of the segment as of the first day, backfilled before ``DAY``.
    first_day_members: int


@pytest.fixture(scope="module")
def extraction(api: AirflowClient, registry_url: str, audience_logs: audiences.Logs) -> Extraction:
    """The daily DAG on the real scheduler, backfilled over the module's days, with one more
    segment registered."""
    tmpl = template("domain_visit")
    raw = {"domains": ["shop.example.kr"], "min_visits": 2, "days": 2}
    with closing(Registry(registry_url)) as registry:
        segment, _ = registry.register(
            tmpl, validate(tmpl, raw), name=f"e2e-daily-{uuid.uuid4().hex[:6]}", owner="e2e"
        )
    expected = audiences.members(audience_logs, tmpl.id, validate(tmpl, {**raw, "as_of": DAY.isoformat()}))
    checked = sorted(expected)[:2]
    seoul = {
        r["adid"]
        for r in audience_logs.rows("user_attributes", DAY.isoformat(), DAY.isoformat())
        if r["region"] == "seoul"
    }
    profile = CassandraSettings()
    with cluster(profile) as c:
        session = c.connect(profile.keyspace)
        delete = session.prepare("DELETE FROM attribute_sketches WHERE kind = ? AND value = ? AND dt = ?")
        for key in (("region", "seoul"), ("user", "all")):  # so only this run can have written them
            session.execute(delete, (*key, DAY))
        SketchStore(session).forget(Piece(span, DAY) for span in (1, *SPANS))
        for adid in checked:
            session.execute(session.prepare("DELETE FROM segment_memberships WHERE adid = ?"), (adid,))
    api.wait_for_dag("segment_extraction", timeout=180)
    api.set_paused("segment_extraction", False)
    days = {d.isoformat() for d in audiences.DAYS}
    for old in api.dag_runs("segment_extraction"):  # runs of the days from an earlier test run
        if str(old["logical_date"])[:10] in days:
            api.delete_run("segment_extraction", old["dag_run_id"])
    # The days as an operator backfills a gap: one run at a time, oldest first. force: each day
    # is loaded into Cassandra although a newer one may be there (a developer's data), so the
    # newest day is the one loaded last.
    backfill = api.backfill(
        "segment_extraction",
        audiences.DAYS[0].isoformat(),
        DAY.isoformat(),
        reprocess="none",
        max_active_runs=1,
        conf={"rate": 0, "force": True},
    )
    api.wait_for_backfill(backfill["id"], timeout=900 * len(days))
    runs = api.dag_runs(
        "segment_extraction",
        run_type="backfill",
        logical_date_gte=f"{audiences.DAYS[0].isoformat()}T00:00:00Z",
        logical_date_lte=f"{DAY.isoformat()}T00:00:00Z",
    )
    assert {r["logical_date"][:10]: r["state"] for r in runs} == dict.fromkeys(sorted(days), "success")
    run = next(r["dag_run_id"] for r in runs if r["logical_date"].startswith(DAY.isoformat()))
    first = audiences.members(
        audience_logs, tmpl.id, validate(tmpl, {**raw, "as_of": audiences.DAYS[0].isoformat()})
    )
    return Extraction(run, segment, set(expected), checked, seoul, len(first))


def test_segment_extraction_dag_delivers_the_day(
    api: AirflowClient, registry_url: str, extraction: Extraction
) -> None:
    """The daily DAG on the real scheduler, backfilled over two days: extraction, Cassandra
    load, sketches, stats."""
    segment, run = extraction.segment, extraction.run
    profile = CassandraSettings()
    with cluster(profile) as c:
        session = c.connect(profile.keyspace)
        select = session.prepare("SELECT segments FROM segment_memberships WHERE adid = ?")
        for adid in extraction.checked:
            row = session.execute(select, (adid,)).one()
            assert row is not None, adid
            assert row.segments[segment.segment_id] == segment.version
        store = SketchStore(session)
        (blob,) = store.fetch([("region", "seoul")], [Piece(1, DAY)])[("region", "seoul")]
        assert load(blob).get_estimate() == len(extraction.seoul)
        assert store.built(DAY, DAY) == ([DAY], {Piece(span, DAY) for span in SPANS})
    summary = api.xcom("segment_extraction", run, "publish_stats")
    assert summary["day"] == DAY.isoformat()
    with closing(Registry(registry_url)) as registry:
        delivered = {d["segment_id"]: d["members"] for d in registry.deliveries(DAY)}
        first = {d["segment_id"]: d["members"] for d in registry.deliveries(audiences.DAYS[0])}
    assert delivered[segment.segment_id] == len(extraction.expected)
    # The backfill's first day was delivered as of that day (its window holds one day of logs).
    assert first[segment.segment_id] == extraction.first_day_members
    assert 0 < extraction.first_day_members < len(extraction.expected)


def _mail(settings: StackSettings, subject: str, since: float, timeout: float = 60) -> EmailMessage:
    """The first mail in the sink's folder with ``subject`` written after ``since``."""
    return wait_for_mails(
        settings, since, lambda m: m["Subject"] == subject, what=f"mail {subject!r}", timeout=timeout
    )[0]


def test_daily_report_mails_the_day_with_the_warehouse_numbers(
    api: AirflowClient, settings: StackSettings, registry_url: str, extraction: Extraction, tmp_path: Path
) -> None:
    """The daily_report DAG for DAY on the real scheduler: the mail reaches the SMTP sink with its
    HTML part, its numbers are the warehouse's and Cassandra's, and Chromium renders the page."""
    from playwright.sync_api import sync_playwright

    from adtarget.dailyreport.figures import pipelines as figures_pipelines
    from adtarget.dailyreport.settings import DailyReportSettings
    from streaming.report import Totals, WindowKey
    from streaming.report_store import ReportStore
    from tests.warehouse import query

    env = airflow_env(settings)
    day = DAY.isoformat()
    # The day's log volume (the SQL-file pipeline the report reads), on the real scheduler too.
    api.wait_for_dag("sql_log_volume", timeout=180)
    for old in api.dag_runs("sql_log_volume"):
        if str(old["logical_date"]).startswith(day):
            api.delete_run("sql_log_volume", old["dag_run_id"])
    # A paused DAG's triggered run waits: active for the test (its latest daily run may start too).
    api.set_paused("sql_log_volume", False)
    volume_run = api.trigger("sql_log_volume", logical_date=f"{day}T00:00:00Z")

    # Realtime rows of the day, known totals; the day is the test's own (2003). Rows are written
    # with USING TIMESTAMP = source offset + 1 (see report_store), so writing them again in a later
    # run changes nothing, and a DELETE would shadow them for good: none is made.
    profile = CassandraSettings()
    noon = int(dt.datetime(DAY.year, DAY.month, DAY.day, 12, tzinfo=dt.UTC).timestamp() * 1000)
    rows = {
        WindowKey(noon, 501, 1): Totals(1000, 25, 3, 4_500_000, 0, 1, 0),
        WindowKey(noon + 3_600_000, 502, 2): Totals(400, 4, 0, 1_250_000, 2, 1, 1),
    }

    async def write() -> None:
        store = ReportStore(profile)
        await store.connected()
        await store.upsert(rows)
        store.close()

    asyncio.run(write())

    # Traffic for the profile API section: the day's sample is taken afresh by this run.
    with psycopg.connect(registry_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM api_traffic_sample WHERE day IN (%s, %s)", (DAY, DAY - dt.timedelta(days=1))
        )
    token = profile_api_token(settings)
    base_api = f"http://{settings.host}:{settings.profile_api_port}"
    with httpx.Client(base_url=base_api, headers={"Authorization": f"Bearer {token}"}) as client:
        for adid in extraction.checked:
            assert client.get(f"/v1/profiles/{adid}").status_code == 200

    try:
        assert api.wait_for_run("sql_log_volume", volume_run, timeout=600) == "success"
    finally:
        api.set_paused("sql_log_volume", True)
    details = api.wait_for_dag("daily_report", timeout=180)
    assert details["is_paused"] is False  # a new checkout mails its report without a click
    for old in api.dag_runs("daily_report"):
        if str(old["logical_date"]).startswith(day):
            api.delete_run("daily_report", old["dag_run_id"])
    started = time.time()
    run = api.trigger("daily_report", logical_date=f"{day}T06:00:00Z")
    assert api.wait_for_run("daily_report", run, timeout=600) == "success"
    figures = api.xcom("daily_report", run, "collect")
    published = api.xcom("daily_report", run, "publish")
    assert published["missing"] == [], {k: figures[k] for k in published["missing"]}

    # The numbers are the warehouse's.
    volume = {
        log: (n, users)
        for log, n, users in query(
            settings, "SELECT log, row_count, users FROM adtarget.log_volume WHERE dt = %(dt)s", {"dt": day}
        )
    }
    assert {r["log"]: (r["rows"], r["users"]) for r in figures["logs"]["logs"]} == volume
    assert figures["logs"]["total_rows"] == sum(n for n, _ in volume.values()) > 0
    stats = query(settings, "SELECT members FROM adtarget.segment_stats WHERE dt = %(dt)s", {"dt": day})
    assert figures["segments"]["segments"] == len(stats) > 0
    assert figures["segments"]["memberships"] == sum(m for (m,) in stats)
    realtime = figures["realtime"]
    assert (realtime["impressions"], realtime["clicks"], realtime["conversions"], realtime["late"]) == (
        1400,
        29,
        3,
        2,
    )
    assert realtime["spend"] == pytest.approx(5.75)
    assert realtime["hourly_impressions"][12:14] == [1000, 400]
    assert figures["api"]["requests"] >= len(extraction.checked)
    assert figures["api"]["p99_ms"] is not None

    # The pipeline section's figures for today (the runs above ended today) equal the
    # metadata database's, read directly; a run finishing in between gets a second look.
    today = dt.datetime.now(dt.UTC).date()
    midnight = dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC)
    airflow_db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("postgresql+psycopg2://", "postgresql://")
    for attempt in range(3):
        listed = figures_pipelines(api, today)
        with psycopg.connect(airflow_db) as conn:
            counted = conn.execute(
                """SELECT dag_id, state, count(*) FROM dag_run
                    WHERE end_date >= %s AND end_date < %s GROUP BY dag_id, state""",
                (midnight, midnight + dt.timedelta(days=1)),
            ).fetchall()
        by_dag = {(d["dag_id"], s): d[s] for d in listed["by_dag"] for s in ("success", "failed") if d[s]}
        if by_dag == {(d, s): n for d, s, n in counted if s in ("success", "failed")} or attempt == 2:
            break
    assert by_dag == {(d, s): n for d, s, n in counted if s in ("success", "failed")}
    assert by_dag[("sql_log_volume", "success")] >= 1

    # The mail reached the sink, with its HTML part: the kept page.
    msg = _mail(settings, f"[adtarget] daily report {day}", started)
    html = msg.get_body(("html",))
    assert html is not None
    assert msg.get_body(("plain",)) is not None
    kept = Path(published["path"])
    assert (
        kept.parent
        == Path(env["ADTARGET_REPORT_ARCHIVE_DIR"])
        == DailyReportSettings(archive_dir=Path(env["ADTARGET_REPORT_ARCHIVE_DIR"])).archive_dir
    )
    page_html = kept.read_text()
    # SMTP carries CRLF line ends: the same page, line for line.
    assert html.get_content().splitlines() == page_html.splitlines()
    for shown in (f"{figures['logs']['total_rows']:,}", f"{figures['segments']['memberships']:,}", "1,400"):
        assert shown in page_html, shown

    # The Airflow UI serves the kept copies to a logged-in user only.
    base = f"http://{settings.host}:{settings.airflow_port}"
    assert httpx.get(f"{base}/adtarget-reports/").status_code == 401
    shot = tmp_path / "daily_report.png"
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        _sign_in(page, base, settings)
        page.goto(f"{base}/adtarget-reports/")
        page.get_by_role("link", name=day).click()
        page.wait_for_load_state("load")
        assert page.url.endswith(f"/adtarget-reports/daily-{day}.html")
        expect(page.get_by_role("heading", name="adtarget daily report")).to_be_visible()
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || !i.naturalWidth).length"
        )
        assert broken == 0
        charts = page.evaluate(
            "Array.from(document.querySelectorAll('svg')).map(s => s.getBoundingClientRect().width)"
        )
        assert len(charts) == 3, charts
        assert all(w > 100 for w in charts), charts
        # Readable on a phone: nothing wider than the screen but the tables' own scroll boxes.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 390
    assert height > 844
