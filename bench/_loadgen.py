"""Shared by the benches: start the profile API, and drive it with an open-loop load."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from _client import Client, Pacer

from adtarget.profiles.config import CassandraSettings, settings_env
from adtarget.profiles.throttle import percentile
from adtarget.stack.process import free_port

TOKEN = "bench-" + uuid.uuid4().hex


def adid(i: int) -> str:
    """The ADID of bench user ``i`` (spread over the token ring)."""
    return str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128) or 1))


def start_server(
    settings: CassandraSettings, fanout: str, workers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **settings_env(settings),
        "SERVING_PORT": str(port),
        "SERVING_TOKENS": TOKEN,
        "SERVING_WORKERS": str(workers),
        "SERVING_FANOUT": fanout,
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="bench-metrics-"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "serving"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the profile API did not become ready in 60 s")


#: Reads that warm Cassandra's JIT before a latency is measured (see :func:`warm_reads`).
WARM_READS = 72_000


def warm_reads(settings: CassandraSettings, keys: Sequence[str], reads: int = WARM_READS) -> None:
    """Read the 12 profile tables ``reads`` times in all, over ``keys``.

    A fresh Cassandra spends several times the CPU per read until its JIT has compiled the read
    path (on this machine ~600 us per read over its first 20,000 reads, ~100 us from about
    60,000 on): a benchmark warms it as a node that has served for a while is, then measures.
    """
    from cassandra.concurrent import execute_concurrent_with_args

    from adtarget.profiles.config import cluster
    from adtarget.profiles.tables import PROFILE_TABLES

    with cluster(settings) as c:
        session = c.connect(settings.keyspace)
        per_table = [(keys[(i * 104_729) % len(keys)],) for i in range(reads // len(PROFILE_TABLES))]
        for table in PROFILE_TABLES:
            execute_concurrent_with_args(session, session.prepare(table.select), per_table, concurrency=32)


def settle(settings: CassandraSettings, *, timeout: float = 180.0) -> float:
    """Wait until Cassandra runs no compaction (for 3 s in a row), so an "idle" baseline is
    idle, and freeze the bench's own heap so Python's GC does not pause the load generator.
    Returns the seconds waited."""
    from adtarget.profiles.config import cluster

    gc.collect()
    gc.freeze()
    started = time.monotonic()
    quiet_since: float | None = None
    with cluster(settings) as c:
        session = c.connect()
        while time.monotonic() - started < timeout:
            busy = session.execute("SELECT kind FROM system_views.sstable_tasks").one() is not None
            now = time.monotonic()
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= 3:
                break
            time.sleep(0.5)
    return round(time.monotonic() - started, 1)


def write_result(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def latency_figures(latencies: list[float]) -> dict[str, Any]:
    """The count, p50/p95/p99 (ms) and the share of answers over 100 ms."""
    n = len(latencies)
    return {
        "requests": n,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "over_100ms_ratio": round(sum(x > 0.1 for x in latencies) / n, 5),
    }


def summary(
    latencies: list[float], statuses: dict[int, int], partial: int, rate: float, elapsed: float
) -> dict[str, Any]:
    """Throughput, percentiles and the shares of slow, partial and failed answers."""
    n = len(latencies)
    return {
        "offered_rps": rate,
        "achieved_rps": round(n / elapsed, 1),
        **latency_figures(latencies),
        "partial_ratio": round(partial / n, 5),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


async def offered_load(
    base: str,
    rate: float,
    seconds: float,
    keys: Sequence[str],
    *,
    until: Callable[[], bool] | None = None,
    keep: list[float] | None = None,
) -> dict[str, Any]:
    """Send ``rate`` req/s on a fixed schedule for ``seconds`` (or, with ``until``, until it
    returns True); latency is measured from each request's scheduled time. The latencies are
    also appended to ``keep``, so windows apart in time can be summed up as one.

    The client is :mod:`_client`'s (a timerfd paces it; see there why not aiohttp). How late it
    sent is reported too (``send_late_*``): it is counted in every latency, and a large value
    means the load generator, not the server, was short of CPU."""
    latencies: list[float] = []
    late: list[float] = []
    statuses: dict[int, int] = {}
    partial = 0
    rnd = random.Random(7)  # noqa: S311 - load generation
    client = Client(base, {"Authorization": f"Bearer {TOKEN}"})
    pacer = Pacer()

    async def one(scheduled: float, key: str) -> None:
        nonlocal partial
        late.append(time.perf_counter() - scheduled)
        try:
            resp = await client.get(f"/v1/profiles/{key}", timeout=5.0)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
            if resp.status == 200 and b'"partial":true' in resp.body:
                partial += 1
        except (OSError, TimeoutError, ValueError):  # refused, reset, no answer, malformed
            statuses[0] = statuses.get(0, 0) + 1
        latencies.append(time.perf_counter() - scheduled)

    try:
        start = time.perf_counter() + 0.05
        tasks = []
        i = 0
        while (until is None and i < rate * seconds) or (until is not None and not until()):
            scheduled = start + i / rate
            await pacer.until(scheduled)
            tasks.append(asyncio.create_task(one(scheduled, rnd.choice(keys))))
            i += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        client.close()
        pacer.close()
    if keep is not None:
        keep.extend(latencies)
    result = summary(latencies, statuses, partial, rate, elapsed)
    result["send_late_p50_ms"] = round(percentile(late, 0.50) * 1000, 3)
    result["send_late_p99_ms"] = round(percentile(late, 0.99) * 1000, 3)
    return result
