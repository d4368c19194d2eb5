"""Bulk-loading segment memberships into Cassandra: our loader vs a naive one, in one run.

(a) ours: ``load_memberships`` (one statement per user holding all its segments, token-aware,
    ``--concurrency`` writes in flight, checkpointed chunks), unthrottled;
(b) naive: one synchronous INSERT per membership row into a row-per-membership table (the
    seed's shape), timed on the first ``--naive-rows`` rows and reported as rows/s;
(c) the profile API (2 uvicorn workers) under an open-loop load of ``--api-rate`` req/s on
    the loaded users: idle, during our unthrottled load, and during our load under the
    adaptive throttle (a probe reading the 12 tables as the API does + AIMD, from a quarter of
    the unthrottled rate); each load runs in its own process, and idle is measured before,
    between and after the loads.

Writes bench/results/cassandra_load.json. Needs Cassandra (``make up`` or
``adtarget-stack up cassandra``). Run: ``var/venv/bin/python bench/cassandra_load.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import time
import uuid
from pathlib import Path
from typing import Any

from _loadgen import (
    latency_figures,
    offered_load,
    settle,
    start_server,
    stop_server,
    warm_reads,
    write_result,
)

from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.loader import diff_memberships, load_memberships
from adtarget.profiles.probe import ReadProbe
from adtarget.profiles.throttle import RateLimiter
from adtarget.profiles.writer import BulkWriter
from adtarget.stack.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "cassandra_load.json"
NAIVE_TABLE = (
    "CREATE TABLE IF NOT EXISTS naive_memberships "
    "(adid text, segment_id int, PRIMARY KEY ((adid), segment_id))"
)
NAIVE_INSERT = "INSERT INTO naive_memberships (adid, segment_id) VALUES (?, ?)"


def population(rows: int, per_user: int, segments: int, seed: int) -> dict[str, set[int]]:
    rnd = random.Random(seed)  # noqa: S311 - test data
    return {
        str(uuid.UUID(int=rnd.getrandbits(128))): set(rnd.sample(range(1, segments + 1), per_user))
        for _ in range(rows // per_user)
    }


def _load_in_child(settings_json: str, members: dict[str, set[int]], adaptive_max: float, out: Any) -> None:
    """A load in its own process (so it does not share the load generator's GIL)."""
    settings = CassandraSettings.model_validate_json(settings_json)
    with cluster(settings) as c:
        session = c.connect(settings.keyspace)
        # A slow start, as the job's adaptive tasks make (adtarget.profiles.partition_writer).
        limiter = RateLimiter(adaptive_max / 4) if adaptive_max else None
        writer = BulkWriter(session, concurrency=256, limiter=limiter)
        report: dict[str, Any] = {}
        started = time.perf_counter()
        probe = None
        if limiter is not None:
            probe = ReadProbe(session, list(members)[:5_000], limiter, maximum=adaptive_max)
        with probe or contextlib.nullcontext():
            done = load_memberships(
                session,
                diff_memberships(members),
                load_id=f"api-{time.time_ns()}",
                day="2026-11-28",
                writer=writer,
            )
        if probe is not None:
            report.update(probe.report())
        report["rows_per_s"] = round(done.rows / (time.perf_counter() - started))
        out.put(report)


def _ended(child: Any) -> Any:
    def ended() -> bool:
        return not child.is_alive()

    return ended


def api_during_loads(
    settings: CassandraSettings, members: dict[str, set[int]], full_rate: float, args: argparse.Namespace
) -> dict[str, Any]:
    """The profile API's latency idle, during an unthrottled load and during an adaptive one.

    Idle is measured in three windows, before, between and after the loads, and judged on all
    of them together: on a shared machine one window's p99 moved 2x within minutes, so a load's
    ratio to one idle window said as much about the neighbours as about the load.
    """
    proc, base = start_server(settings, "concurrent", 2)
    keys = list(members)[:50_000]
    found: dict[str, Any] = {"offered_rps": args.api_rate, "idle_windows": []}
    idle: list[float] = []

    def idle_window() -> None:
        found["settle_seconds"] = found.get("settle_seconds", 0.0) + settle(settings)
        window = asyncio.run(offered_load(base, args.api_rate, args.api_seconds, keys, keep=idle))
        found["idle_windows"].append(window)
        print(f"    idle: p99 {window['p99_ms']} ms, >100 ms {window['over_100ms_ratio']:.3%}")

    try:
        warm_reads(settings, keys)  # Cassandra's JIT, as on a node that has served a while
        asyncio.run(offered_load(base, 50, 2, keys))  # the API's connections
        idle_window()
        context = multiprocessing.get_context("spawn")
        for mode, adaptive_max in (("unthrottled", 0.0), ("adaptive", full_rate)):
            queue = context.Queue()
            child = context.Process(
                target=_load_in_child, args=(settings.model_dump_json(), members, adaptive_max, queue)
            )
            settle(settings)
            child.start()
            during = asyncio.run(offered_load(base, args.api_rate, 0, keys, until=_ended(child)))
            child.join()
            found[mode] = {"api": during, "loader": queue.get(timeout=10)}
            idle_window()
        found["idle"] = latency_figures(idle)
        print(f"    idle, the three windows together: p99 {found['idle']['p99_ms']} ms")
        for mode in ("unthrottled", "adaptive"):
            during, loader = found[mode]["api"], found[mode]["loader"]
            found[mode]["p99_vs_idle"] = round(during["p99_ms"] / found["idle"]["p99_ms"], 2)
            print(
                f"    during {mode} load ({loader['rows_per_s']:,} rows/s): p99 {during['p99_ms']} ms "
                f"({found[mode]['p99_vs_idle']}x idle), >100 ms {during['over_100ms_ratio']:.3%}"
            )
    finally:
        stop_server(proc)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="membership rows (default 1M)")
    parser.add_argument("--per-user", type=int, default=5, help="segments per user")
    parser.add_argument("--segments", type=int, default=4_000)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows timed for the naive loader")
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--api-rate", type=float, default=100.0, help="profile API req/s during (c)")
    parser.add_argument("--during-rows", type=int, default=200_000, help="rows of each load of (c)")
    parser.add_argument("--api-seconds", type=float, default=20.0, help="each of the 3 idle windows of (c)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    settings = CassandraSettings(keyspace="adtarget_bench")
    members = population(args.rows, args.per_user, args.segments, seed=1)
    rows = sum(len(s) for s in members.values())
    result: dict[str, Any] = {"rows": rows, "users": len(members), "concurrency": args.concurrency}
    with cluster(settings) as c:
        session = c.connect()
        session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}")
        migrations.migrate(session, settings)
        session.execute(NAIVE_TABLE)

        def progress(report: Any) -> None:
            print(f"\r  ours: {report.rows:,} rows, {report.chunks_written} chunks", end="", flush=True)

        print(f"(a) ours: {rows:,} membership rows of {len(members):,} users")
        started = time.perf_counter()
        ours = load_memberships(
            session,
            diff_memberships(members),
            load_id=f"bench-{time.time_ns()}",
            day="2026-11-27",
            writer=BulkWriter(session, concurrency=args.concurrency),
            progress=progress,
        )
        seconds = time.perf_counter() - started
        result["ours"] = {
            "rows": ours.rows,
            "seconds": round(seconds, 2),
            "rows_per_s": round(ours.rows / seconds),
        }
        print(f"\n    {result['ours']['rows_per_s']:,} rows/s")

        print(f"(b) naive: one synchronous INSERT per row, first {args.naive_rows:,} rows")
        insert = session.prepare(NAIVE_INSERT)
        pairs = [(a, s) for a, segs in members.items() for s in segs][: args.naive_rows]
        started = time.perf_counter()
        for pair in pairs:
            session.execute(insert, pair)
        seconds = time.perf_counter() - started
        result["naive"] = {
            "rows": len(pairs),
            "seconds": round(seconds, 2),
            "rows_per_s": round(len(pairs) / seconds),
        }
        result["ours_vs_naive"] = round(result["ours"]["rows_per_s"] / result["naive"]["rows_per_s"], 1)
        print(f"    {result['naive']['rows_per_s']:,} rows/s; ours is {result['ours_vs_naive']}x")

        print(f"(c) the profile API at {args.api_rate:g} req/s: idle, then during each kind of load")
        users = list(members)[: max(1, args.during_rows // args.per_user)]
        during = {u: members[u] for u in users}
        result["profile_api"] = api_during_loads(settings, during, result["ours"]["rows_per_s"], args)
        session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}")
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
