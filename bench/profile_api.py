"""The profile API under open-loop load: concurrent fan-out vs the seed's sequential reads.

For each mode, ``python -m serving`` is started (``SERVING_WORKERS`` workers) over a keyspace of
``--profiles`` users with a row in each of the 12 tables (loaded once and kept between runs),
then requests for random users are sent at fixed offered rates (100, 300, 500, 1,000 req/s by
default) for ``--seconds`` each. Latency is measured from each request's *scheduled* send time,
so a slow server cannot hide its queueing (no coordinated omission). Reported per mode and
rate: achieved throughput, p50/p95/p99, the share of answers over 100 ms, partial and error
shares, and how late the client sent (``bench/_client.py``); the highest rate whose p99 stays
under 50 ms; sequential p50 over fan-out p50 at each rate; and the goal checks of issue 6.

Before the modes, the **driver ceiling**: the reads/s one Python process gets from each bare
driver over the same 12 tables (no HTTP; cassandra-driver's ``execute_concurrent`` and acsylla,
the API's driver, side by side), the CPU the driver spends per read in that process, and the
CPU Cassandra spends per read (from its PID file's process), once Cassandra's JIT is warm. It
bounds what any API on this machine can offer: a request is 12 reads.

Writes bench/results/profile_api.json. Needs Cassandra up. Run: ``make bench`` or
``var/venv/bin/python bench/profile_api.py [--profiles 1000000] [--rates 100 300 500 1000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from _loadgen import adid, offered_load, settle, start_server, stop_server, warm_reads, write_result

from adtarget.profiles import migrations
from adtarget.profiles.config import CassandraSettings, async_cluster, cluster
from adtarget.profiles.tables import PROFILE_TABLES
from adtarget.profiles.writer import BulkWriter
from adtarget.stack.config import PROJECT_ROOT, StackSettings
from adtarget.stack.process import PidFile, cpu_seconds

RESULTS = PROJECT_ROOT / "bench" / "results" / "profile_api.json"
KEYSPACE = "adtarget_bench_api"
STATE = "bench_profiles"

INSERTS = {
    "demographics": "INSERT INTO demographics (adid, age_band, gender) VALUES (?, '25-34', 'f')",
    "segment_memberships": "INSERT INTO segment_memberships (adid, segments, loaded_day) VALUES (?, ?, 'd')",
    "interests": "INSERT INTO interests (adid, category, score) VALUES (?, 'travel', 0.5)",
    "search_keywords": "INSERT INTO search_keywords (adid, keyword, searches) VALUES (?, 'jeju hotel', 2)",
    "banner_clicks": "INSERT INTO banner_clicks (adid, banner_id, clicks) VALUES (?, 7, 1)",
    "app_installs": "INSERT INTO app_installs (adid, app_id, category) VALUES (?, 'app.00001', 'game')",
    "conversions": "INSERT INTO conversions (adid, campaign_id, conversions, value) VALUES (?, 4, 1, 9.0)",
    "devices": "INSERT INTO devices (adid, device, os) VALUES (?, 'phone', 'android')",
    "geo": "INSERT INTO geo (adid, region) VALUES (?, 'seoul')",
    "frequency_caps": "INSERT INTO frequency_caps (adid, day, campaign_id, impressions) VALUES (?, 'd', 4, 1)",  # noqa: E501
    "last_seen": "INSERT INTO last_seen (adid, source) VALUES (?, 'ad')",
}
COUNTER = (
    "UPDATE ad_counters SET impressions = impressions + 5, clicks = clicks + 1"
    " WHERE adid = ? AND campaign_id = 4"
)


def ensure_profiles(settings: CassandraSettings, n: int) -> float:
    """Load ``n`` profiles unless this keyspace already holds them; returns the load's seconds."""
    from cassandra.query import BatchStatement, BatchType

    with cluster(settings) as c:
        session = c.connect()
        migrations.migrate(session, settings)
        session.set_keyspace(settings.keyspace)
        row = session.execute(session.prepare("SELECT day FROM load_state WHERE name = ?"), (STATE,)).one()
        if row is not None and row.day == str(n):
            print(f"profiles: {n:,} already loaded in {settings.keyspace}")
            return 0.0
        inserts = {t: session.prepare(q) for t, q in INSERTS.items()}
        counter = session.prepare(COUNTER)
        writer = BulkWriter(session, concurrency=256)
        started = time.perf_counter()
        for i in range(n):
            key = adid(i)
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)  # one partition key, one replica set
            for table, statement in inserts.items():
                batch.add(
                    statement,
                    (key, {i % 4000: 1, (i * 7) % 4000: 1}) if table == "segment_memberships" else (key,),
                )
            writer.submit(batch, 11)
            writer.submit(counter.bind((key,)), 1)
            if i % 20_000 == 0:
                print(f"\rprofiles: {i:,}/{n:,}", end="", flush=True)
        writer.flush()
        seconds = time.perf_counter() - started
        session.execute(
            session.prepare("INSERT INTO load_state (name, day, load_id) VALUES (?, ?, 'bench')"),
            (STATE, str(n)),
        )
        print(f"\rprofiles: {n:,} loaded in {seconds:.0f}s")
        return seconds


def driver_ceiling(settings: CassandraSettings, keys: list[str], reads: int = 24_000) -> dict[str, Any]:
    """Reads/s and CPU per read of both drivers in this one process over the 12 tables, side by
    side, and Cassandra's CPU per read: cassandra-driver (``execute_concurrent``, the batch
    jobs' driver) and acsylla (the profile API's), 32 reads in flight each."""
    per_table = max(1, reads // len(PROFILE_TABLES))
    sample = [keys[(i * 7919) % len(keys)] for i in range(per_table)]
    pid = PidFile(StackSettings().run_dir / "cassandra.pid").alive_pid()
    warm_reads(settings, keys)
    out: dict[str, Any] = {}
    for name, run in (("cassandra_driver", _python_driver_reads), ("acsylla", _acsylla_reads)):
        cpu_before = cpu_seconds(pid) if pid else None
        seconds, own = run(settings, sample)
        cpu_after = cpu_seconds(pid) if pid else None
        done = per_table * len(PROFILE_TABLES)
        figures: dict[str, Any] = {
            "reads": done,
            "reads_per_s": round(done / seconds),
            "requests_per_s": round(done / seconds / len(PROFILE_TABLES), 1),
            # The driver's own CPU per read in this process (its I/O thread included): what an
            # API worker pays per table read before any HTTP work.
            "driver_cpu_us_per_read": round(own / done * 1e6),
            "driver_cores_for_300_req_s": round(own / done * 300 * 12, 2),
        }
        if cpu_before is not None and cpu_after is not None:
            figures["cassandra_cpu_us_per_read"] = round((cpu_after - cpu_before) / done * 1e6)
            figures["cassandra_cores_for_300_req_s"] = round((cpu_after - cpu_before) / done * 300 * 12, 2)
        out[name] = figures
    python_cpu, acsylla_cpu = (out[n]["driver_cpu_us_per_read"] for n in ("cassandra_driver", "acsylla"))
    out["acsylla_cpu_ratio"] = round(python_cpu / max(acsylla_cpu, 1), 2)
    return out


def _python_driver_reads(settings: CassandraSettings, sample: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``sample`` read from each table."""
    from cassandra.concurrent import execute_concurrent_with_args

    with cluster(settings) as c:
        session = c.connect(settings.keyspace)
        selects = [session.prepare(t.select) for t in PROFILE_TABLES]
        params = [(k,) for k in sample]  # built once, outside the measured time
        started, own = time.perf_counter(), time.process_time()
        for select in selects:
            execute_concurrent_with_args(session, select, params, concurrency=32)
        return time.perf_counter() - started, time.process_time() - own


def _acsylla_reads(settings: CassandraSettings, sample: list[str]) -> tuple[float, float]:
    """:func:`_python_driver_reads` through acsylla, the profile API's driver."""

    async def run() -> tuple[float, float]:
        session = await async_cluster(settings).create_session(keyspace=settings.keyspace)
        try:
            selects = [await session.create_prepared(t.select) for t in PROFILE_TABLES]
            slots = asyncio.Semaphore(32)

            async def one(select: Any, key: str) -> None:
                async with slots:
                    [row.as_dict() for row in await session.execute(select.bind((key,)))]

            started, own = time.perf_counter(), time.process_time()
            for select in selects:
                await asyncio.gather(*(one(select, k) for k in sample))
            return time.perf_counter() - started, time.process_time() - own
        finally:
            await session.close()

    return asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 300, 500, 1000])
    parser.add_argument("--seconds", type=float, default=10.0, help="per offered rate")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    settings = CassandraSettings(keyspace=KEYSPACE)
    load_seconds = ensure_profiles(settings, args.profiles)
    result: dict[str, Any] = {
        "profiles": args.profiles,
        "profiles_load_seconds": round(load_seconds, 1),
        "workers": args.workers,
        "seconds_per_rate": args.seconds,
        "modes": {},
    }
    keys = [adid(i) for i in range(args.profiles)]
    settle(settings)
    ceiling = driver_ceiling(settings, keys)
    result["driver_ceiling"] = ceiling
    for name in ("cassandra_driver", "acsylla"):
        c = ceiling[name]
        print(
            f"driver ceiling, {name}: {c['reads_per_s']:,} reads/s = {c['requests_per_s']} profiles/s "
            f"in one process; per read: Cassandra {c.get('cassandra_cpu_us_per_read')} us CPU, "
            f"the driver {c['driver_cpu_us_per_read']} us CPU",
            flush=True,
        )
    for fanout in ("concurrent", "sequential"):
        settle(settings)
        proc, base = start_server(settings, fanout, args.workers)
        try:
            asyncio.run(offered_load(base, 50, 2, keys))  # warm connections and caches
            runs = []
            for rate in args.rates:
                run = asyncio.run(offered_load(base, rate, args.seconds, keys))
                runs.append(run)
                print(
                    f"{fanout:>10} {rate:>6.0f} req/s: p50 {run['p50_ms']:.1f} p95 {run['p95_ms']:.1f} "
                    f"p99 {run['p99_ms']:.1f} ms, >100 ms {run['over_100ms_ratio']:.3%}, "
                    f"partial {run['partial_ratio']:.2%}, achieved {run['achieved_rps']}, "
                    f"client sent late by p99 {run['send_late_p99_ms']:.2f} ms",
                    flush=True,
                )
        finally:
            stop_server(proc)
        under_50 = [r["offered_rps"] for r in runs if r["p99_ms"] < 50]
        result["modes"][fanout] = {
            "runs": runs,
            "highest_rps_with_p99_under_50ms": max(under_50, default=None),
        }

    conc = {r["offered_rps"]: r for r in result["modes"]["concurrent"]["runs"]}
    seq = {r["offered_rps"]: r for r in result["modes"]["sequential"]["runs"]}
    ratios = {
        f"{rate:g}": round(seq[rate]["p50_ms"] / conc[rate]["p50_ms"], 2) for rate in conc if rate in seq
    }
    result["sequential_p50_over_concurrent_p50"] = ratios
    at300 = conc.get(300.0)
    # Every goal of issue 6 is judged at 300 req/s, the rate its goals name; the ratio at the
    # other rates is reported above. At 100 req/s the host idles between requests, and a fan-out
    # that starts from idle (cold caches, CPUs to wake) took 2.9-4.6 ms against 2.0-4.0 at 300
    # req/s (eight runs, 2026-12-02); past the fan-out's capacity both modes queue, and the ratio
    # measures the queue.
    result["goals"] = {
        "p99_under_20ms_at_300": None if at300 is None else at300["p99_ms"] < 20,
        "timeouts_under_0.1pct_at_300": None if at300 is None else at300["over_100ms_ratio"] < 0.001,
        "p50_ratio_at_least_4x_at_300": None if "300" not in ratios else ratios["300"] >= 4,
    }
    print(json.dumps(result["goals"]))
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
