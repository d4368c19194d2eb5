"""The profile store on the real Cassandra: migrations, membership loads and the Spark loader."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adtarget import spark_submit, synthetic
from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings, cluster, settings_env
from adtarget.profiles.errors import MigrationError
from adtarget.profiles.job import load_day
from adtarget.profiles.loader import (
    Checkpoints,
    MembershipChange,
    MembershipStatements,
    diff_memberships,
    load_memberships,
)
from adtarget.profiles.tables import PROFILE_TABLES
from adtarget.profiles.writer import BulkWriter
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.stall import stalled

pytestmark = pytest.mark.integration

KEYSPACE = f"adtarget_test_{os.getpid()}"
# The segment tests' two generated days (far from any real data; no other test day lies within
# the 30 days the counters read), so no generation of its own.
DAYS = audiences.DAYS
USERS = audiences.USERS
SEED = audiences.SEED


@pytest.fixture(scope="module")
def cassandra(stack: Callable[..., None]) -> CassandraSettings:
    stack("cassandra")
    return CassandraSettings(keyspace=KEYSPACE)


@pytest.fixture(scope="module")
def session(cassandra: CassandraSettings) -> Iterator[Any]:
    with cluster(cassandra) as c:
        s = c.connect()
        migrations.migrate(s, cassandra)
        yield s
        s.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}")


def _members(session: Any, adids: list[str]) -> dict[str, dict[int, int]]:
    from cassandra.concurrent import execute_concurrent_with_args

    select = session.prepare("SELECT adid, segments FROM segment_memberships WHERE adid = ?")
    found = {}
    for ok, result in execute_concurrent_with_args(session, select, [(a,) for a in adids], concurrency=64):
        assert ok, result
        row = result.one()
        if row is not None:
            found[row.adid] = dict(row.segments)
    return found


def _population(n: int, seed: int) -> dict[str, set[int]]:
    import random

    rnd = random.Random(seed)  # noqa: S311 - test data
    return {str(uuid.UUID(int=rnd.getrandbits(128))): set(rnd.sample(range(1, 5000), 4)) for _ in range(n)}


def test_migrations_are_idempotent_and_refuse_a_changed_file(
    session: Any, cassandra: CassandraSettings, tmp_path: Path
) -> None:
    assert migrations.migrate(session, cassandra) == []
    tables = set(session.cluster.metadata.keyspaces[KEYSPACE].tables)
    assert {t.name for t in PROFILE_TABLES} <= tables
    assert len(PROFILE_TABLES) == 12

    changed = tmp_path / "cql"
    shutil.copytree(migrations.MIGRATIONS_DIR, changed)
    first = sorted(changed.glob("*.cql"))[0]
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match=r"changed after it was applied"):
        migrations.migrate(session, cassandra, changed)


def test_load_reload_and_shrink(session: Any) -> None:
    session.set_keyspace(KEYSPACE)
    day1 = _population(2_000, 1)
    report = load_memberships(
        session, diff_memberships(day1), load_id="t-load-1", day="2002-06-01", writer=BulkWriter(session)
    )
    assert report.rows == 8_000
    assert report.chunks_written == report.chunks_total
    state = _members(session, list(day1))
    assert state == {a: dict.fromkeys(s, 1) for a, s in day1.items()}

    # Loading the same day again (a new run) leaves the same state.
    load_memberships(
        session, diff_memberships(day1), load_id="t-load-1b", day="2002-06-01", writer=BulkWriter(session)
    )
    assert _members(session, list(day1)) == state

    # Next day: some users lose a segment, some lose all, new users join.
    users = list(day1)
    day2 = {a: set(sorted(day1[a])[:2]) for a in users[:1_000]}
    day2.update(_population(300, 2))
    load_memberships(
        session,
        diff_memberships(day2, previous=day1, versions={s: 2 for s in range(5000)}),
        load_id="t-load-2",
        day="2002-06-02",
        writer=BulkWriter(session),
    )
    after = _members(session, users + list(day2))
    assert after == {a: dict.fromkeys(s, 2) for a, s in day2.items()}
    assert not set(users[1_000:]) & set(after), "users in no segment any more must be deleted"


def test_memberships_expire_with_their_ttl(session: Any) -> None:
    session.set_keyspace(KEYSPACE)
    statements = MembershipStatements(session, day="2002-06-01", ttl=2)
    adid = str(uuid.uuid4())
    statement, _ = statements.statement(MembershipChange(adid, {7: 1}))
    session.execute(statement)
    assert _members(session, [adid]) == {adid: {7: 1}}
    time.sleep(3)
    assert _members(session, [adid]) == {}


def test_checkpointed_chunks_are_skipped(session: Any) -> None:
    session.set_keyspace(KEYSPACE)
    people = _population(500, 3)
    first = load_memberships(
        session,
        diff_memberships(people),
        load_id="t-ckpt",
        day="2002-06-01",
        chunks=8,
        writer=BulkWriter(session),
    )
    again = load_memberships(
        session,
        diff_memberships(people),
        load_id="t-ckpt",
        day="2002-06-01",
        chunks=8,
        writer=BulkWriter(session),
    )
    assert first.chunks_written == 8
    assert (again.chunks_skipped, again.chunks_written, again.rows) == (8, 0, 0)
    Checkpoints(session, "t-ckpt").reset()
    assert Checkpoints(session, "t-ckpt").done() == {}


def test_an_adaptive_load_backs_off_while_reads_stall_and_writes_everything(
    cassandra: CassandraSettings, session: Any, settings: StackSettings
) -> None:
    from adtarget.profiles import partition_writer
    from adtarget.profiles.partition_writer import TableLoad, write_partition

    people = _population(2_000, 11)  # 8,000 membership rows
    rows = [{"adid": a, "segments": dict.fromkeys(segs, 1)} for a, segs in sorted(people.items())]
    load = TableLoad(
        settings=cassandra,
        table="segment_memberships",
        columns=(),
        load_id=f"t-adaptive-{uuid.uuid4().hex[:8]}",
        day="2002-06-02",
        rate=4_000.0,  # starts at 1,000 rows/s: the load outlasts the stall below
        adaptive=True,
    )
    partition_writer._baselines.clear()  # this test measures its own idle baseline
    done: dict[str, Any] = {}
    writing = threading.Thread(target=lambda: done.update(write_partition(load, 0, rows)))
    writing.start()
    time.sleep(3.0)  # the baseline, then a first interval of fast reads
    with stalled(settings):
        time.sleep(1.5)  # probe reads wait for the stalled node: a slow interval
    writing.join(timeout=120)
    assert not writing.is_alive(), "the adaptive load did not finish in 120 s"

    probe = done["probe"]
    assert probe["backoffs"] >= 1, probe
    assert probe["read_p95_idle_ms"] > 0, probe
    assert 0 < probe["read_p95_limit_ms"] <= 20.0, probe
    history = probe["rate_history"]
    # From a quarter of the cap: one step (cap / 20) up after a fast interval, halved after a slow one.
    assert history[0] in (1_000 + 200, 500), history
    assert max(history) <= 4_000, history
    assert done["rows"] == 8_000
    # The baseline is the worker's: a later task of this worker starts from it.
    assert partition_writer._baselines[cassandra.model_dump_json()] == pytest.approx(
        probe["read_p95_idle_ms"] / 1000, abs=1e-5
    )
    session.set_keyspace(KEYSPACE)
    assert _members(session, list(people)) == {a: dict.fromkeys(s, 1) for a, s in people.items()}


@pytest.fixture(scope="module")
def warehouse(audience_logs: audiences.Logs, settings: StackSettings) -> StackSettings:
    """The stack's warehouse with ``DAYS`` generated (by the session's ``audience_logs``)."""
    return settings


def _counter_totals(adid_chunk: int, adid: str) -> dict[int, tuple[int, int]]:
    """The 30-day impression/click totals of one user, straight from the generator."""
    totals: dict[int, list[int]] = {}
    for day in DAYS:
        log = synthetic.ad_event_log(SEED, day, adid_chunk, USERS).to_pylist()
        for row in log:
            if row["adid"] == adid:
                t = totals.setdefault(row["campaign_id"], [0, 0])
                t[0 if row["event"] == "impression" else 1] += 1
    return {k: (v[0], v[1]) for k, v in totals.items()}


def test_spark_load_matches_the_warehouse_and_reruns_change_nothing(
    warehouse: StackSettings, cassandra: CassandraSettings, session: Any
) -> None:
    tables = ["ids_by_bid", "demographics", "ad_counters", "frequency_caps"]
    first = load_day(
        warehouse,
        DAYS[1],
        cassandra=cassandra,
        tables=tables,
        chunks=4,
        rate=100_000,
        adaptive=True,
        quiet=True,
    )
    assert first["tables"]["demographics"]["rows"] == USERS
    # Every table's tasks ran a read probe (adaptive below the cap), and the summary says so.
    assert all(first["tables"][t]["adaptive"]["read_p95_idle_ms"] > 0 for t in tables), first

    session.set_keyspace(KEYSPACE)
    users = synthetic.users(SEED, 0, USERS)
    for i in (0, 17, 2_999):
        adid, bid = str(users.adid[i]), str(users.bid[i])
        row = session.execute(session.prepare("SELECT adid FROM ids_by_bid WHERE bid = ?"), (bid,)).one()
        assert row.adid == adid
        demo = session.execute(
            session.prepare("SELECT age_band, gender FROM demographics WHERE adid = ?"), (adid,)
        )
        assert tuple(demo.one()) == (users.age_band[i], users.gender[i])
        counters = session.execute(
            session.prepare("SELECT campaign_id, impressions, clicks FROM ad_counters WHERE adid = ?"),
            (adid,),
        )
        assert {r.campaign_id: (r.impressions, r.clicks) for r in counters} == _counter_totals(0, adid)

    # A fresh run of the same day: the counters already hold the totals, so no increment is sent.
    rerun = load_day(
        warehouse, DAYS[1], cassandra=cassandra, tables=["ad_counters"], chunks=4, restart=True, quiet=True
    )
    assert rerun["tables"]["ad_counters"]["rows"] == 0
    # An older day does not overwrite the newer one.
    older = load_day(warehouse, DAYS[0], cassandra=cassandra, tables=["demographics"], chunks=4, quiet=True)
    assert older["tables"]["demographics"] == {"skipped": "newer day loaded"}


def test_a_killed_load_resumes_where_it_stopped(
    warehouse: StackSettings, cassandra: CassandraSettings, session: Any
) -> None:
    session.set_keyspace(KEYSPACE)
    load_id = f"crash-{uuid.uuid4().hex[:8]}"
    args = ["--day", DAYS[1].isoformat(), "--tables", "frequency_caps", "--chunks", "8", "--load-id", load_id]
    # Slow enough (rows/s) that the job is still writing when it is killed.
    argv = spark_submit.submit_argv(warehouse, "load_profiles.py", [*args, "--rate", "400", "--force"])
    env = spark_submit.submit_env(warehouse, settings_env(cassandra))
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    checkpoints = Checkpoints(session, f"{load_id}:frequency_caps")
    deadline = time.monotonic() + 180
    while not checkpoints.done() and time.monotonic() < deadline:
        assert proc.poll() is None, "the load ended before it could be killed"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job: JVM and Python workers, mid-write
    proc.wait()
    done_before = checkpoints.done()
    assert 0 < len(done_before) < 8

    out = spark_submit.submit(
        warehouse, "load_profiles.py", [*args, "--force"], env=settings_env(cassandra), quiet=True
    )
    summary = json.loads(out.strip().splitlines()[-1])["tables"]["frequency_caps"]
    assert summary["chunks_skipped"] == len(done_before)
    assert len(checkpoints.done()) == 8
    count = session.execute("SELECT count(*) FROM frequency_caps").one()[0]
    expected = sum(
        len(
            {
                (r["adid"], r["campaign_id"])
                for r in synthetic.ad_event_log(SEED, DAYS[1], c, USERS).to_pylist()
                if r["event"] == "impression"
            }
        )
        for c in range(synthetic.chunk_count(USERS))
    )
    assert count == expected
