"""Bulk-loading segment memberships into Cassandra: our loader vs a naive one, in one run.

(a) ours: ``load_memberships`` (one statement per user holding all its segments, token-aware,
    ``--concurrency`` writes in flight, checkpointed chunks), unthrottled;
(b) naive: one synchronous INSERT per membership row into a row-per-membership table (the
    seed's shape), timed on the first ``--naive-rows`` rows and reported as rows/s;
(c) ours again under the adaptive throttle (read probe + AIMD), with the probe's read p95
    before and during the load.

Writes bench/results/cassandra_load.json. Needs Cassandra (``make up`` or
``adtarget-stack up cassandra``). Run: ``var/venv/bin/python bench/cassandra_load.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from pathlib import Path
from typing import Any

from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.loader import diff_memberships, load_memberships
from adtarget.profiles.probe import ReadProbe
from adtarget.profiles.throttle import RateLimiter, percentile
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="membership rows (default 1M)")
    parser.add_argument("--per-user", type=int, default=5, help="segments per user")
    parser.add_argument("--segments", type=int, default=4_000)
    parser.add_argument("--naive-rows", type=int, default=20_000, help="rows timed for the naive loader")
    parser.add_argument("--concurrency", type=int, default=256)
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

        print("(c) ours under the adaptive throttle (read probe + AIMD)")
        keys = list(members)[:5_000]
        limiter = RateLimiter(ours.rows / max(result["ours"]["seconds"], 1e-9) / 2)
        with ReadProbe(session, keys, limiter, maximum=result["ours"]["rows_per_s"] * 1.5) as probe:
            started = time.perf_counter()
            throttled = load_memberships(
                session,
                diff_memberships(members),
                load_id=f"bench-throttled-{time.time_ns()}",
                day="2026-11-27",
                writer=BulkWriter(session, concurrency=args.concurrency, limiter=limiter),
            )
            seconds = time.perf_counter() - started
        during = [p95 for _, p95, _ in probe.history]
        result["adaptive"] = {
            "rows_per_s": round(throttled.rows / seconds),
            "read_p95_idle_ms": round(probe.control.baseline * 1000, 2),
            "read_p95_during_ms_median": round(percentile(during, 0.5) * 1000, 2) if during else None,
            "backoffs": probe.control.backoffs,
            "rate_history": [round(r) for _, _, r in probe.history],
        }
        print(f"    {json.dumps(result['adaptive'])}")
        session.execute(f"DROP KEYSPACE IF EXISTS {settings.keyspace}")
    # The profile API's p99 during a load vs idle needs the profile API (issue 6): not measured yet.
    result["profile_api_during_load"] = None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
