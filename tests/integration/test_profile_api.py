"""The profile API served by uvicorn over the real Cassandra: answers, errors, deadlines, faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings, cluster, settings_env
from adtarget.profiles.tables import PROFILE_TABLES, ProfileTable
from adtarget.stack import registry
from adtarget.stack.config import StackSettings
from adtarget.stack.process import free_port
from serving.store import ProfileStore
from tests.stall import stalled

pytestmark = pytest.mark.integration

KEYSPACE = f"adtarget_api_{os.getpid()}"
TOKEN = "test-token-" + uuid.uuid4().hex
KNOWN = str(uuid.UUID(int=1))
SEGMENTS = {101: 1, 202: 3, 303: 1}
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)

ROWS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "demographics": ("adid, age_band, gender, updated_day", (KNOWN, "25-34", "f", "2026-11-27")),
    "segment_memberships": ("adid, segments, loaded_day, expires_at", (KNOWN, SEGMENTS, "2026-11-27", NOW)),
    "interests": ("adid, category, score, updated_day", (KNOWN, "travel", 0.5, "2026-11-27")),
    "search_keywords": ("adid, keyword, searches, last_at", (KNOWN, "제주 호텔", 3, NOW)),
    "banner_clicks": ("adid, banner_id, clicks, last_at", (KNOWN, 7, 2, NOW)),
    "app_installs": ("adid, app_id, category, installed_at", (KNOWN, "app.00001", "game", NOW)),
    "conversions": ("adid, campaign_id, conversions, value, last_at", (KNOWN, 4, 1, 12000.0, NOW)),
    "devices": ("adid, device, os, updated_day", (KNOWN, "phone", "android", "2026-11-27")),
    "geo": ("adid, region, updated_day", (KNOWN, "seoul", "2026-11-27")),
    "frequency_caps": ("adid, day, campaign_id, impressions", (KNOWN, "2026-11-27", 4, 9)),
    "last_seen": ("adid, at, source", (KNOWN, NOW, "ad")),
}


@pytest.fixture(scope="module")
def cassandra(stack: Callable[..., None]) -> Iterator[CassandraSettings]:
    stack("cassandra")
    profile = CassandraSettings(keyspace=KEYSPACE)
    with cluster(profile) as c:
        session = c.connect()
        migrations.migrate(session, profile)
        session.set_keyspace(KEYSPACE)
        for table, (columns, values) in ROWS.items():
            marks = ", ".join("?" for _ in values)
            insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - test constants
            session.execute(session.prepare(insert), values)
        session.execute(
            session.prepare(
                "UPDATE ad_counters SET impressions = impressions + 5, clicks = clicks + 1 "
                "WHERE adid = ? AND campaign_id = 4"
            ),
            (KNOWN,),
        )
        session.execute(
            session.prepare("INSERT INTO ids_by_bid (bid, adid) VALUES (?, ?)"), ("b000000000001", KNOWN)
        )
    yield profile
    with cluster(profile) as c:
        c.connect().execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}")


@pytest.fixture(scope="module")
def server(cassandra: CassandraSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **settings_env(cassandra),
        "SERVING_PORT": str(port),
        "SERVING_TOKENS": f"other-token,{TOKEN}",
        "SERVING_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
    }
    proc = subprocess.Popen([sys.executable, "-m", "serving"], env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, "the server exited"
        time.sleep(0.3)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the profile API did not become ready in 60 s")
    try:
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _get(base: str, path: str, token: str | None = TOKEN, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{base}{path}", headers=headers, params=params, timeout=5)


def test_a_known_user_gets_every_table_and_the_segments(server: str) -> None:
    resp = _get(server, f"/v1/profiles/{KNOWN.upper()}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["adid"] == KNOWN
    assert body["segments"] == sorted(SEGMENTS)
    assert (body["partial"], body["missing"], body["errors"]) == (False, [], {})
    assert set(body["profile"]) == {t.name for t in PROFILE_TABLES}
    assert body["profile"]["search_keywords"] == [
        {"keyword": "제주 호텔", "searches": 3, "last_at": "2026-11-27T12:00:00"}
    ]
    assert body["profile"]["ad_counters"] == [{"campaign_id": 4, "impressions": 5, "clicks": 1}]
    assert body["profile"]["geo"] == {"region": "seoul"}
    by_bid = _get(server, "/v1/profiles/by-bid/b000000000001")
    assert by_bid.status_code == 200
    assert by_bid.json()["segments"] == sorted(SEGMENTS)


@pytest.mark.parametrize(
    ("path", "token", "params", "status", "message"),
    [
        (f"/v1/profiles/{uuid.UUID(int=2)}", TOKEN, {}, 404, "is unknown"),
        ("/v1/profiles/by-bid/b-nobody", TOKEN, {}, 404, "bid: 'b-nobody' is unknown"),
        ("/v1/profiles/not-a-uuid", TOKEN, {}, 400, "adid: 'not-a-uuid' is not a UUID"),
        (f"/v1/profiles/{KNOWN}", TOKEN, {"deadline_ms": "500"}, 400, "deadline_ms: 500 is outside"),
        (f"/v1/profiles/{KNOWN}", TOKEN, {"deadline_ms": "soon"}, 400, "deadline_ms: 'soon' is not a number"),
        (f"/v1/profiles/{KNOWN}", None, {}, 401, "authorization"),
        (f"/v1/profiles/{KNOWN}", "wrong", {}, 401, "authorization"),
    ],
)
def test_errors_name_the_field_and_value(
    server: str, path: str, token: str | None, params: dict[str, str], status: int, message: str
) -> None:
    resp = _get(server, path, token, **params)
    assert resp.status_code == status
    assert message in resp.json()["error"]


def test_health_metrics_and_openapi(server: str) -> None:
    assert _get(server, "/healthz", None).json() == {"status": "ok"}
    assert _get(server, "/readyz", None).json() == {"ready": True}
    for _ in range(5):
        _get(server, f"/v1/profiles/{KNOWN}")
    text = _get(server, "/metrics", None).text
    assert 'profile_requests_total{route="adid",status="200"}' in text
    assert 'profile_table_seconds_bucket{le="0.09",table="ad_counters"}' in text
    assert "profile_timeouts_total" in text
    paths = _get(server, "/openapi.json", None).json()["paths"]
    assert set(paths) == {
        "/v1/profiles/{adid}",
        "/v1/profiles/by-bid/{bid}",
        "/v1/audiences/estimate",
        "/healthz",
        "/readyz",
        "/metrics",
    }


def test_a_stalled_cassandra_gives_a_partial_answer_within_the_deadline(
    server: str, settings: StackSettings
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server, headers=headers, timeout=5) as http:  # made before the clock starts
        for _ in range(4):
            http.get(f"/v1/profiles/{KNOWN}")  # warm both workers' connections
        with stalled(settings):
            started = time.perf_counter()
            resp = http.get(f"/v1/profiles/{KNOWN}")
            elapsed = time.perf_counter() - started
    assert resp.status_code == 200
    body = resp.json()
    assert body["partial"] is True
    assert sorted(body["missing"]) == sorted(t.name for t in PROFILE_TABLES)
    print(f"stalled answer: {elapsed * 1000:.1f} ms")
    assert elapsed < 0.100, f"answered in {elapsed * 1000:.1f} ms (server: {body['elapsed_ms']} ms)"


class SlowTableStore(ProfileStore):
    """Latency injected at the driver boundary for one table; the reads themselves are real."""

    slow = "ad_counters"

    async def _read_table(self, table: str, adid: str) -> list[dict[str, Any]]:
        rows = await super()._read_table(table, adid)
        if table == self.slow:
            await asyncio.sleep(0.5)
        return rows


def test_one_slow_table_is_reported_missing_and_the_rest_arrive(cassandra: CassandraSettings) -> None:
    async def run() -> tuple[Any, float]:
        store = SlowTableStore(cassandra)
        await store.start()
        try:
            await store.read(KNOWN, 0.09)  # warm
            started = time.perf_counter()
            read = await store.read(KNOWN, 0.09)
            return read, time.perf_counter() - started
        finally:
            await store.close()

    read, elapsed = asyncio.run(run())
    assert read.missing == ["ad_counters"]
    assert read.errors == {}
    assert len(read.parts) == 11
    # The answer comes at the 90 ms deadline, not when the slow table does (500 ms). The margin
    # is the event loop's on a busy machine (CI saw 106 ms once); the over-HTTP answer under
    # 100 ms is the stalled-Cassandra test's, and latency under load is bench/profile_api.py's.
    assert 0.08 <= elapsed < 0.3, elapsed


def test_a_driver_error_on_one_table_fails_only_that_table(cassandra: CassandraSettings) -> None:
    doomed = ProfileTable("doomed", "dropped after prepare", ("note",))

    async def run() -> Any:
        store = ProfileStore(cassandra, tables=(*PROFILE_TABLES, doomed))
        with cluster(cassandra) as c:
            c.connect(KEYSPACE).execute(
                "CREATE TABLE IF NOT EXISTS doomed (adid text PRIMARY KEY, note text)"
            )
            await store.start()
            c.connect(KEYSPACE).execute("DROP TABLE doomed")
        try:
            return await store.read(KNOWN, 0.5)
        finally:
            await store.close()

    read = asyncio.run(run())
    assert list(read.errors) == ["doomed"]
    assert len(read.parts) == 12


@pytest.fixture(scope="module")
def api_schema(server: str) -> Any:
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json")
    schema.config.generation.update(max_examples=25)
    return schema


fuzzed = schemathesis.pytest.from_fixture("api_schema")


@fuzzed.parametrize()
def test_schemathesis_finds_no_server_error(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=[not_a_server_error])


def test_cassandra_down_gives_503_fast_and_the_api_recovers(server: str, settings: StackSettings) -> None:
    assert _get(server, f"/v1/profiles/{KNOWN}").status_code == 200
    registry.down(settings, ["cassandra"])
    try:
        fast = None
        with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5) as http:
            for _ in range(50):
                started = time.perf_counter()
                resp = http.get(f"/v1/profiles/{KNOWN}")
                elapsed = time.perf_counter() - started
                if resp.status_code == 503:
                    fast = elapsed
                    break
                time.sleep(0.2)
        assert fast is not None, "no 503 while Cassandra was down"
        assert fast < 0.1
        assert _get(server, "/readyz", None).status_code == 503
    finally:
        registry.up(settings, ["cassandra"])
    # Each uvicorn worker reconnects on its own: recovered means every answer is good again.
    deadline = time.monotonic() + 60
    while True:
        answers = [_get(server, f"/v1/profiles/{KNOWN}").status_code for _ in range(6)]
        answers += [_get(server, "/readyz", None).status_code for _ in range(4)]
        if set(answers) == {200}:
            break
        assert time.monotonic() < deadline, f"not recovered 60 s after Cassandra's return: {answers}"
        time.sleep(0.5)
