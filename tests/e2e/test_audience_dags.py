"""Sales' path through Airflow's REST API: size and register a segment, bad params refused early."""

from __future__ import annotations

import datetime as dt
import os
import re
import struct
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from adtarget.airflow_client import AirflowApiError, AirflowClient
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.segments.form import params_schema
from adtarget.segments.params import validate
from adtarget.segments.registry import Registry, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.sketches import SketchStore, load
from adtarget.segments.templates import template
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password, airflow_env
from tests import audiences

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
        page.goto(f"{base}/")
        page.fill("input[name=username]", ADMIN_USER)
        page.fill("input[name=password]", admin_password(settings))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "login" not in url)
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


def test_segment_extraction_dag_delivers_the_day(
    api: AirflowClient, registry_url: str, audience_logs: audiences.Logs
) -> None:
    """The daily DAG on the real scheduler: extraction, Cassandra load, sketches, stats."""
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
        for adid in checked:
            session.execute(session.prepare("DELETE FROM segment_memberships WHERE adid = ?"), (adid,))
        api.wait_for_dag("segment_extraction", timeout=180)
        api.set_paused("segment_extraction", False)
        for old in api.dag_runs("segment_extraction"):  # a run of the day from an earlier test run
            if str(old["logical_date"]).startswith(DAY.isoformat()):
                api.delete_run("segment_extraction", old["dag_run_id"])
        # force: a newer day loaded into Cassandra (a developer's data) must not skip this one.
        run = api.trigger(
            "segment_extraction", {"rate": 0, "force": True}, logical_date=f"{DAY.isoformat()}T00:00:00Z"
        )
        assert api.wait_for_run("segment_extraction", run, timeout=900) == "success"

        select = session.prepare("SELECT segments FROM segment_memberships WHERE adid = ?")
        for adid in checked:
            row = session.execute(select, (adid,)).one()
            assert row is not None, adid
            assert row.segments[segment.segment_id] == segment.version
        store = SketchStore(session)
        (blob,) = store.fetch([("region", "seoul")], DAY, DAY)[("region", "seoul")]
        assert load(blob).get_estimate() == len(seoul)
    summary = api.xcom("segment_extraction", run, "publish_stats")
    assert summary["day"] == DAY.isoformat()
    with closing(Registry(registry_url)) as registry:
        delivered = {d["segment_id"]: d["members"] for d in registry.deliveries(DAY)}
    assert delivered[segment.segment_id] == len(expected)
