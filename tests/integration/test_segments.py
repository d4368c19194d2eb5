"""Audience sizes on the real warehouse equal a brute-force count; params are matched literally.

Two generated days of 3,000 users; each template's exact count (HiveQL over the Spark Thrift
server, params staged as tables) is compared with :mod:`tests.audiences`, which recomputes the
audience in Python from the generator's rows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import datasketches
import httpx
import pyarrow as pa
import pytest

from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.segments.estimate import Relation, estimate
from adtarget.segments.params import ParamError, validate
from adtarget.segments.query import build
from adtarget.segments.registry import Outcome, Registry, RegistryError, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.sizing import exact_size
from adtarget.segments.sketch_cache import SketchCache
from adtarget.segments.sketches import LG_K, SketchStore, load
from adtarget.segments.staging import Staging
from adtarget.segments.task import check
from adtarget.segments.templates import TEMPLATES, template
from adtarget.segments.windows import SPANS, Piece
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.warehouse import query

pytestmark = pytest.mark.integration

DAY1, DAY2 = audiences.DAYS
# A day far from any real data a developer may have loaded.
HOSTILE_DAY = dt.date(2003, 7, 9)
CACHE_DAY = dt.date(2003, 6, 11)
SEED = audiences.SEED

#: Params per template, chosen to give non-empty audiences on this data.
SAMPLES: dict[str, dict[str, Any]] = {
    "search_any": {
        "keywords": ["나이키", "running shoes", "ＮＩＫＥ"],
        "exclude_keywords": ["아디다스"],
        "days": 2,
    },
    "search_all": {"keywords": ["나이키", "아디다스"], "days": 2},
    "search_frequency": {
        "keywords": ["나이키", "운동화"],
        "match": "substring",
        "min_searches": 2,
        "days": 2,
    },
    "search_lapsed": {"keywords": ["나이키"], "days": 2, "quiet_days": 1},
    "search_and_click": {"keywords": ["나이키", "아디다스"], "campaign_ids": [1, 2, 3, 4, 5], "days": 2},
    "banner_click": {"banner_ids": [1, 2, 3, 4, 5], "min_clicks": 1, "days": 2},
    "campaign_click": {"campaign_ids": [1, 2, 3], "min_clicks": 2, "days": 2, "genders": ["F"]},
    "impression_no_click": {"campaign_ids": [1, 2], "min_impressions": 2, "days": 2},
    "creative_frequency": {
        "creative_ids": list(range(1, 11)),
        "min_impressions": 2,
        "max_impressions": 3,
        "days": 2,
    },
    "app_install": {"app_ids": [f"app.{i:05d}" for i in range(1, 21)], "days": 2},
    "app_category": {"app_categories": ["game", "finance"], "min_apps": 1, "days": 1},
    "domain_visit": {"domains": ["shop.example.kr", "news.example.com"], "min_visits": 3, "days": 2},
    "path_visit": {"domains": ["shop.example.kr"], "path_prefixes": ["/ca", "/it"], "days": 2},
    "campaign_conversion": {"campaign_ids": list(range(1, 31)), "conversion_types": ["purchase"], "days": 2},
    "clicked_not_converted": {"campaign_ids": [1, 2, 3], "days": 2},
    "high_value": {"min_total_value": 40_000, "days": 2},
    "active_users": {"days": 2, "min_active_days": 2, "regions": ["seoul", "busan"]},
    "lapsed_users": {"days": 2, "quiet_days": 1},
    "demographic": {"age_bands": ["20-29", "30-39"], "devices": ["phone"], "oses": ["ios"]},
}


@pytest.fixture(scope="module")
def logs(audience_logs: audiences.Logs) -> audiences.Logs:
    return audience_logs


@pytest.fixture(scope="module")
def profile_session(logs: audiences.Logs) -> Iterator[Any]:
    profile = CassandraSettings()
    with cluster(profile) as c:
        yield c.connect(profile.keyspace)


@pytest.fixture(scope="module")
def sketch_store(profile_session: Any) -> SketchStore:
    """The two days' sketches, built by the daily job (the ``audience_logs`` fixture)."""
    return SketchStore(profile_session)


@pytest.fixture(scope="module")
def hive(settings: StackSettings) -> Iterator[Any]:
    from pyhive import hive as pyhive

    conn = pyhive.connect(host=settings.host, port=settings.hive_port, username="adtarget", auth="NONE")
    yield conn.cursor()
    conn.close()


@pytest.fixture(scope="module")
def staging(segment_settings: SegmentSettings) -> Staging:
    return Staging(segment_settings.staging_uri)


@pytest.mark.parametrize("template_id", list(SAMPLES))
def test_exact_count_equals_brute_force(
    template_id: str, logs: audiences.Logs, hive: Any, staging: Staging
) -> None:
    tmpl = template(template_id)
    values = validate(tmpl, {**SAMPLES[template_id], "as_of": DAY2.isoformat()})
    expected = audiences.members(logs, template_id, values)
    assert expected, "the sample params should find someone"
    result = exact_size(hive, tmpl, values, staging=staging)
    assert (result.count, result.as_of) == (len(expected), DAY2)


@pytest.mark.parametrize("template_id", list(SAMPLES))
def test_exact_count_reads_only_the_days_of_its_window(
    template_id: str, logs: audiences.Logs, hive: Any, staging: Staging
) -> None:
    """Every warehouse table is scanned with a partition filter on its day, taken from the staged
    params at run time: a range against a joined column would read every day of the logs."""
    tmpl = template(template_id)
    values = validate(tmpl, {**SAMPLES[template_id], "genders": ["F"], "as_of": DAY2.isoformat()})
    audience = build(tmpl, values, DAY2)
    with staging.staged(hive, audience.tables):
        hive.execute("EXPLAIN " + audience.count_sql)
        plan = hive.fetchall()[0][0]
    scans = [line for line in plan.splitlines() if "FileScan parquet spark_catalog.adtarget." in line]
    assert scans, plan
    for scan in scans:
        filters = scan.split("PartitionFilters: [", 1)[1]
        assert "Subquery" in filters, scan


@pytest.mark.parametrize("template_id", list(SAMPLES))
def test_estimate_lies_within_its_stated_bound(
    template_id: str, logs: audiences.Logs, sketch_store: SketchStore
) -> None:
    tmpl = template(template_id)
    values = validate(tmpl, {**SAMPLES[template_id], "as_of": DAY2.isoformat()})
    exact = len(audiences.members(logs, template_id, values))
    result = estimate(tmpl, values, DAY2, sketch_store)
    assert result.relation is not Relation.APPROXIMATE, result.notes
    assert result.lower is None or result.lower <= exact
    assert result.upper is None or exact <= result.upper
    assert result.sketches > 0
    if result.relation is Relation.EXACT:
        # 3,000 users: every sketch is in exact mode, so an exact translation is the count itself.
        assert (round(result.estimate), result.lower, result.upper) == (exact, exact, exact)
    else:
        assert result.notes, "a relaxed translation says what it gave up"


def test_every_day_has_its_window_sketches(sketch_store: SketchStore) -> None:
    assert sketch_store.built(DAY1, DAY2) == (
        [DAY1, DAY2],
        {Piece(s, d) for s in SPANS for d in (DAY1, DAY2)},
    )


@pytest.mark.parametrize("template_id", [t for t, p in SAMPLES.items() if "days" in p])
def test_estimates_over_window_sketches_equal_those_over_dailies_and_the_count(
    template_id: str, logs: audiences.Logs, sketch_store: SketchStore, profile_session: Any
) -> None:
    """Seven days ending on DAY2 are its 7-day window sketch. DAY1 was built after DAY2 (a
    backfill), so this also checks that DAY2's windows were rebuilt to include DAY1."""
    tmpl = template(template_id)
    values = validate(tmpl, {**SAMPLES[template_id], "days": 7, "as_of": DAY2.isoformat()})
    exact = len(audiences.members(logs, template_id, values))
    windowed = estimate(tmpl, values, DAY2, sketch_store)
    dailies = estimate(tmpl, values, DAY2, SketchStore(profile_session, windows=False))
    assert windowed.as_json() | {"sketches": 0, "seconds": 0} == dailies.as_json() | {
        "sketches": 0,
        "seconds": 0,
    }
    assert windowed.lower is None or windowed.lower <= exact
    assert windowed.upper is None or exact <= windowed.upper
    if windowed.relation is Relation.EXACT:
        assert round(windowed.estimate) == exact


def test_a_popular_value_over_a_week_is_one_window_sketch(
    logs: audiences.Logs, sketch_store: SketchStore
) -> None:
    tmpl = template("active_users")
    values = validate(tmpl, {"days": 7, "min_active_days": 1, "as_of": DAY2.isoformat()})
    result = estimate(tmpl, values, DAY2, sketch_store)
    assert result.sketches == 1
    assert round(result.estimate) == len(audiences.members(logs, "active_users", values))


def _sketch_of(users: range) -> bytes:
    sketch = datasketches.update_theta_sketch(LG_K)
    for user in users:
        sketch.update(f"cache-user-{user}")
    return bytes(sketch.compact().serialize())


def test_a_cached_store_answers_as_cassandra_does_and_reads_a_rebuilt_day_afresh(
    logs: audiences.Logs, sketch_store: SketchStore, profile_session: Any
) -> None:
    cache = SketchCache(64 * 1024 * 1024)
    cached = SketchStore(profile_session, cache=cache)
    for template_id in ("search_any", "banner_click", "app_category", "demographic"):
        tmpl = template(template_id)
        values = validate(tmpl, {**SAMPLES[template_id], "as_of": DAY2.isoformat()})
        plain = estimate(tmpl, values, DAY2, sketch_store).as_json() | {"seconds": 0}
        misses = cache.stats.misses
        assert estimate(tmpl, values, DAY2, cached).as_json() | {"seconds": 0} == plain
        assert cache.stats.misses > misses, template_id
        hits, misses = cache.stats.hits, cache.stats.misses
        assert estimate(tmpl, values, DAY2, cached).as_json() | {"seconds": 0} == plain
        assert (cache.stats.hits > hits, cache.stats.misses) == (True, misses), template_id

    # A day of its own (far from the shared data): its sketch is rebuilt, and the cache follows.
    day, key = CACHE_DAY, ("keyword", f"cache-probe-{uuid.uuid4().hex[:8]}")
    delete = profile_session.prepare("DELETE FROM attribute_sketches WHERE kind = ? AND value = ? AND dt = ?")
    forget_value = profile_session.prepare(
        "DELETE FROM attribute_values WHERE kind = ? AND dt = ? AND value = ?"
    )
    overwrite = profile_session.prepare(
        "INSERT INTO attribute_sketches (kind, value, dt, users, sketch) VALUES (?, ?, ?, ?, ?)"
    )

    def users() -> float:
        (blob,) = cached.fetch_all([([key], [Piece(1, day)])], cached.markers(day, day))[0][key]
        return float(load(blob).get_estimate())

    try:
        cached.write(day, [(*key, 3, _sketch_of(range(3)))])
        assert users() == 3
        time.sleep(0.01)  # marker times have millisecond precision
        cached.write(day, [(*key, 5, _sketch_of(range(5)))])  # the day rebuilt: marked again
        assert users() == 5
        # The row changed behind the store's back, the marker did not: the kept copy answers,
        # which shows that the read above came from the cache.
        profile_session.execute(overwrite, (*key, day, 7, _sketch_of(range(7))))
        assert users() == 5
        assert SketchStore(profile_session).fetch([key], [Piece(1, day)])[key] == [_sketch_of(range(7))]
    finally:
        sketch_store.forget([Piece(1, day)])
        profile_session.execute(delete, (*key, day))
        profile_session.execute(forget_value, (key[0], day, key[1]))


def test_every_template_but_the_combination_has_a_sample() -> None:
    assert set(SAMPLES) | {"segment_combination"} == set(TEMPLATES)


def test_default_as_of_is_the_newest_day_and_staging_is_cleaned(
    logs: audiences.Logs,
    hive: Any,
    staging: Staging,
    segment_settings: SegmentSettings,
    settings: StackSettings,
) -> None:
    tmpl = template("demographic")
    newest = max(r[0] for r in query(settings, "SHOW PARTITIONS adtarget.user_attributes"))
    result = exact_size(hive, tmpl, validate(tmpl, {}), staging=staging)
    assert result.as_of.isoformat() == newest.removeprefix("dt=")
    # Nothing of the request is left: no view in the shared session, no staged file.
    hive.execute("SHOW VIEWS")
    assert not [v for v in hive.fetchall() if str(v[1]).startswith("p")]
    staged = settings.var_dir / "data" / "staging"
    assert not staged.exists() or not any(staged.iterdir())


HOSTILE = [
    'it\'s "quoted"',
    "back\\slash \\' end",
    "'; DROP TABLE adtarget.search_log; --",
    "${hiveconf:hive.root.logger}",
    "${env:HOME} x",
    "line\nbreak",
    "100% off_sale",
    "ＮＩＫＥ 운동화",
    "emoji 🎯 target",
    "tab\tand space",
]


def _stage_hostile_day(hive: Any, staging: Staging) -> list[dict[str, Any]]:
    """One day of searches whose text is hostile, written through a staged table (no SQL text)."""
    rows = [
        {
            "adid": str(uuid.UUID(int=i + 1)),
            "bid": f"hostile{i}",
            "ts": dt.datetime(2003, 7, 9, 12, i, tzinfo=dt.UTC),
            "query": text,
        }
        for i, text in enumerate([*HOSTILE, "nike shoes", "1000 offsale", "plain text"])
    ]
    table = pa.table(
        {
            "adid": pa.array([r["adid"] for r in rows], pa.string()),
            "bid": pa.array([r["bid"] for r in rows], pa.string()),
            "ts": pa.array([r["ts"] for r in rows], pa.timestamp("us", tz="UTC")),
            "query": pa.array([r["query"] for r in rows], pa.string()),
        }
    )
    view = f"p{uuid.uuid4().hex[:16]}_hostile"
    with staging.staged(hive, {view: table}):
        # Only a constant day and the generated view name are in the text; the rows are staged.
        sql = (
            f"INSERT OVERWRITE TABLE adtarget.search_log PARTITION (dt='{HOSTILE_DAY}') SELECT * FROM {view}"  # noqa: S608
        )
        hive.execute(sql)
    for r in rows:
        r["dt"] = HOSTILE_DAY.isoformat()
    return rows


@pytest.mark.parametrize("match", ["token", "substring"])
def test_hostile_values_are_matched_literally_and_nothing_else_runs(
    match: str, logs: audiences.Logs, hive: Any, staging: Staging, settings: StackSettings
) -> None:
    rows = _stage_hostile_day(hive, staging)
    day1 = query(
        settings, "SELECT count(*) FROM adtarget.search_log WHERE dt = %(d)s", {"d": DAY1.isoformat()}
    )

    rng = random.Random(5)  # noqa: S311 - reproducible filler, not a secret
    filler = [f"zz{rng.getrandbits(64):x}" for _ in range(10_000 - len(HOSTILE) - 2)]
    keywords = [*HOSTILE, "1_0", "nike", *filler]
    assert len(keywords) == 10_000
    tmpl = template("search_any")
    values = validate(
        tmpl, {"keywords": keywords, "match": match, "days": 1, "as_of": HOSTILE_DAY.isoformat()}
    )
    hostile_logs = audiences.Logs(SEED, 0, [])
    hostile_logs.add("search_log", rows)
    expected = audiences.members(hostile_logs, "search_any", values)
    result = exact_size(hive, tmpl, values, staging=staging)
    assert result.count == len(expected)
    # Every hostile text finds its own row (and "1_0" is no LIKE pattern: "1000 offsale" is not hit).
    assert len(expected) == len(HOSTILE) + 1

    # Nothing else ran: the table and its other days are intact.
    assert (
        query(settings, "SELECT count(*) FROM adtarget.search_log WHERE dt = %(d)s", {"d": DAY1.isoformat()})
        == day1
    )
    assert day1[0][0] > 0


def test_registry_registers_once_versions_and_changes_status(segment_settings: SegmentSettings) -> None:
    tmpl = template("banner_click")
    a = validate(tmpl, {"banner_ids": [3, 1, 2]})
    same = validate(tmpl, {"banner_ids": [1, 2, 3]})
    other = validate(tmpl, {"banner_ids": [1, 2, 3], "min_clicks": 2})
    name = f"clickers {uuid.uuid4().hex[:6]}"
    with closing(Registry(segment_settings.registry_url)) as registry:
        first, outcome = registry.register(tmpl, a, name=name, owner="kim")
        assert (outcome, first.version, first.status) == (Outcome.CREATED, 1, Status.ACTIVE)
        again, outcome = registry.register(tmpl, same, name="any other name", owner="lee")
        assert (outcome, again.segment_id, again.version) == (Outcome.EXISTING, first.segment_id, 1)
        newer, outcome = registry.register(tmpl, other, name=name.upper(), owner="kim")
        assert (outcome, newer.segment_id, newer.version) == (Outcome.NEW_VERSION, first.segment_id, 2)
        assert registry.resolve(first.segment_id)[1]["min_clicks"] == 2

        day = dt.date.today()
        assert first.segment_id in [s.segment_id for s in registry.active(day)]
        registry.set_status(first.segment_id, Status.PAUSED)
        assert first.segment_id not in [s.segment_id for s in registry.active(day)]
        registry.set_status(first.segment_id, Status.ACTIVE)

        short, _ = registry.register(
            tmpl, validate(tmpl, {"banner_ids": [9]}), name=f"short {name}", owner="kim", expires_on=day
        )
        assert short.segment_id in [s.segment_id for s in registry.active(day)]
        assert short.segment_id not in [s.segment_id for s in registry.active(day + dt.timedelta(days=1))]
        assert [s.segment_id for s in registry.expire_due(day + dt.timedelta(days=1))] == [short.segment_id]
        with pytest.raises(RegistryError, match="expired segments cannot become active"):
            registry.set_status(short.segment_id, Status.ACTIVE)
        # Its definition is free again once expired: registering it makes a new segment.
        fresh, outcome = registry.register(
            tmpl, validate(tmpl, {"banner_ids": [9]}), name=f"short {name}", owner="kim"
        )
        assert outcome is Outcome.CREATED
        assert fresh.segment_id != short.segment_id


def test_combination_of_registered_segments_equals_set_algebra(
    logs: audiences.Logs,
    hive: Any,
    staging: Staging,
    segment_settings: SegmentSettings,
    sketch_store: SketchStore,
) -> None:
    as_of = {"as_of": DAY2.isoformat()}
    picks = ["search_any", "banner_click", "domain_visit", "app_install", "demographic"]
    with closing(Registry(segment_settings.registry_url)) as registry:
        ids, sets = {}, {}
        for template_id in picks:
            tmpl = template(template_id)
            values = validate(tmpl, SAMPLES[template_id])
            segment, _ = registry.register(
                tmpl, values, name=f"{template_id} {uuid.uuid4().hex[:6]}", owner="t"
            )
            ids[template_id] = segment.segment_id
            sets[template_id] = audiences.members(logs, template_id, {**values, "as_of": DAY2})
        combo = template("segment_combination")
        params = {
            "all_of": [ids["search_any"], ids["demographic"]],
            "any_of": [ids["banner_click"], ids["domain_visit"]],
            "none_of": [ids["app_install"]],
            "genders": ["M"],
            **as_of,
        }
        values = validate(combo, params)
        expected = (sets["search_any"] & sets["demographic"]) & (sets["banner_click"] | sets["domain_visit"])
        expected -= sets["app_install"]
        expected = audiences.filtered(logs, values, expected)
        assert expected
        assert exact_size(hive, combo, values, staging=staging, resolve=registry.resolve).count == len(
            expected
        )

        # A combination of a combination works, and a reference to an unknown segment is refused
        # before any query, naming the field and the value.
        nested, _ = registry.register(combo, values, name=f"combo {uuid.uuid4().hex[:6]}", owner="t")
        outer = validate(combo, {"any_of": [nested.segment_id], **as_of})
        assert exact_size(hive, combo, outer, staging=staging, resolve=registry.resolve).count == len(
            expected
        )
    with pytest.raises(
        ParamError, match=r"segment_combination: any_of: segment 999999: not registered \(got 999999\)"
    ):
        check("segment_combination", {"any_of": [999_999]}, segment_settings)


class _Client:
    """An async HTTP client over an ASGI app, called synchronously on its own event loop."""

    def __init__(self, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client, self._loop = client, loop

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, **kwargs))


@contextmanager
def _served(app: Any) -> Iterator[_Client]:
    """``app`` with its lifespan, on an event loop of this thread.

    Not Starlette's TestClient, which runs the app on a thread of its own: the profile API's
    driver (acsylla) serves the event loops of one thread per process, and this process's
    other tests already used it on the main thread.
    """
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    loop.run_until_complete(lifespan.__aenter__())
    try:
        yield _Client(client, loop)
    finally:
        loop.run_until_complete(client.aclose())
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()


def _estimate_cache_hits(client: Any) -> float:
    hit = r'^estimate_sketch_lookups_total\{outcome="hit"\} (\S+)$'
    found = re.search(hit, client.get("/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def test_estimate_endpoint_of_the_serving_app(
    logs: audiences.Logs,
    sketch_store: SketchStore,
    segment_settings: SegmentSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from serving.app import create_app
    from serving.settings import ServingSettings

    app = create_app(ServingSettings(tokens="booking"))
    auth = {"Authorization": "Bearer booking"}
    tmpl = template("app_install")
    params = {**SAMPLES["app_install"], "as_of": DAY2.isoformat()}
    exact = len(audiences.members(logs, tmpl.id, validate(tmpl, params)))
    with _served(app) as client:
        ok = client.post("/v1/audiences/estimate", json={"template": tmpl.id, "params": params}, headers=auth)
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert (body["estimate"], body["lower"], body["upper"], body["relation"]) == (
            exact,
            exact,
            exact,
            "exact",
        )
        assert body["as_of"] == DAY2.isoformat()
        # The same question again is answered from the worker's sketch cache.
        hits = _estimate_cache_hits(client)
        asked = {"template": tmpl.id, "params": params}
        again = client.post("/v1/audiences/estimate", json=asked, headers=auth)
        assert again.json() | {"seconds": 0} == body | {"seconds": 0}
        assert _estimate_cache_hits(client) > hits

        bad = client.post(
            "/v1/audiences/estimate", json={"template": tmpl.id, "params": {"app_ids": [7]}}, headers=auth
        )
        assert bad.status_code == 400
        assert bad.json()["error"] == "app_install: app_ids[0]: is not of type 'string' (got 7)"
        unknown = client.post("/v1/audiences/estimate", json={"template": "nope"}, headers=auth)
        assert unknown.status_code == 400
        assert "template: 'nope' is not a template" in unknown.json()["error"]
        no_day = client.post(
            "/v1/audiences/estimate",
            json={"template": "demographic", "params": {"as_of": "2000-01-01"}},
            headers=auth,
        )
        assert no_day.status_code == 404
        assert client.post("/v1/audiences/estimate", json={"template": tmpl.id}).status_code == 401

        # A combination of registered segments, found in the registry.
        monkeypatch.setenv("ADTARGET_SEGMENTS_REGISTRY_URL", segment_settings.registry_url)
        members, ids = set(), []
        with closing(Registry(segment_settings.registry_url)) as registry:
            for template_id in ("app_install", "banner_click"):
                part = template(template_id)
                values = validate(part, SAMPLES[template_id])
                segment, _ = registry.register(
                    part, values, name=f"http {template_id} {uuid.uuid4().hex[:6]}", owner="t"
                )
                ids.append(segment.segment_id)
                members |= audiences.members(logs, template_id, {**values, "as_of": DAY2})
        combo = {"any_of": ids, "as_of": DAY2.isoformat()}
        ok = client.post(
            "/v1/audiences/estimate", json={"template": "segment_combination", "params": combo}, headers=auth
        )
        assert ok.status_code == 200, ok.text
        assert (ok.json()["estimate"], ok.json()["relation"]) == (len(members), "exact")
        unknown_segment = {"any_of": [999_999], "as_of": DAY2.isoformat()}
        bad = client.post(
            "/v1/audiences/estimate",
            json={"template": "segment_combination", "params": unknown_segment},
            headers=auth,
        )
        assert bad.status_code == 400
        assert "any_of: segment 999999: not registered" in bad.json()["error"]
