"""Realtime report throughput and latency: the Faust worker against a plain aiokafka consumer.

For each consumer (``faust``: ``streaming.report_app``; ``plain``: ``bench/_report_peer.py``,
the same arithmetic and outputs without changelog tables, the ceiling), on fresh topics, with
its own bridge process in front:

1. **backlog**: ``--events`` events go through the bridge into Kafka with no consumer running
   (the bridge's rate), then the consumer starts and works the backlog off. Its rate is counted
   from its first report row to the row that completes the total.
2. **end to end**: ``--events`` more are sent as fast as the bridge takes them while the
   consumer runs: events/s from the first line sent to the report showing them all.
3. **latency** at ``--rate`` events/s for ``--seconds``: probe events (a campaign of their own,
   ten per second) are timed from the send to the report topic's first row that holds them.

Ratios faust/plain are printed and written with the figures to
``bench/results/realtime_report.json``. Needs Kafka and Cassandra (``make up``). Run:
``make bench`` or ``var/venv/bin/python bench/realtime_report.py [--events 200000]``.
Goals: >= 20,000 events/s sustained, p95 < 2 s, faust >= 50% of plain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from adtarget.profiles.config import CassandraSettings, settings_env
from adtarget.profiles.throttle import percentile
from adtarget.stack.config import PROJECT_ROOT, StackSettings
from adtarget.stack.process import free_port
from adtarget.stack.registry import engines
from streaming.bridge import ensure_topics
from streaming.sender import EventSender
from streaming.settings import StreamingSettings
from streaming.traffic import event_line, make_traffic

RESULTS = PROJECT_ROOT / "bench" / "results" / "realtime_report.json"
GOALS = {"events_per_s": 20_000, "p95_s": 2.0, "faust_vs_plain": 0.5}
PROBE_CAMPAIGN = 90_000_000


class ReportWatch:
    """Follows the report topic: the newest row per key, and when each probe campaign first showed."""

    def __init__(self, settings: StreamingSettings) -> None:
        self.settings = settings
        self.rows: dict[str, dict[str, Any]] = {}
        self.first_row_at: float | None = None
        self.probe_seen: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def events(self) -> int:
        return sum(r["impressions"] + r["clicks"] + r["conversions"] + r["late"] for r in self.rows.values())

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            self.settings.report_topic,
            bootstrap_servers=self.settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            # The watch is the stopwatch: a long fetch wait would add up to itself to each probe.
            fetch_max_wait_ms=10,
        )
        await self.consumer.start()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batches.values():
                for r in records:
                    body = json.loads(r.value)
                    key = r.key.decode()
                    if key not in self.rows or body["position"] >= self.rows[key]["position"]:
                        self.rows[key] = body
                    if self.first_row_at is None:
                        self.first_row_at = now
                    if body["campaign_id"] >= PROBE_CAMPAIGN:
                        self.probe_seen.setdefault(body["campaign_id"], now)

    async def wait_for(self, events: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while self.events < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"report shows {self.events} of {events} events after {timeout:.0f} s")
            await asyncio.sleep(0.05)
        return time.monotonic()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def _send(port: int, lines: list[bytes], connections: int) -> float:
    """Send every line over a few connections as fast as the bridge takes them; elapsed seconds."""
    started = time.monotonic()

    async def one(part: list[bytes]) -> None:
        sender = EventSender("127.0.0.1", port, max_unacked=20_000)
        for line in part:
            await sender.send(line)
        await sender.flush(timeout=600)
        await sender.close()

    await asyncio.gather(*(one(lines[i::connections]) for i in range(connections)))
    return time.monotonic() - started


async def run_kind(kind: str, args: argparse.Namespace, stack: StackSettings, logs: Path) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    s = StreamingSettings(
        kafka_bootstrap=stack.kafka_bootstrap,
        events_topic=f"bench-events-{run}",
        dead_letter_topic=f"bench-dead-{run}",
        report_topic=f"bench-report-{run}",
        report_app_id=f"bench-{kind}-{run}",
        bridge_port=free_port(),
        bridge_metrics_port=0,
        report_port=free_port(),
        report_datadir=str(logs / f"faust-{run}"),
    )
    cassandra = CassandraSettings(hosts=[stack.host], port=stack.cassandra_port)
    env = {**os.environ, **s.as_env(), **settings_env(cassandra)}
    await ensure_topics(s)
    bridge = _spawn([sys.executable, "-m", "streaming.bridge"], env, logs / f"bridge-{kind}.log")
    consumer: subprocess.Popen[bytes] | None = None
    watch = ReportWatch(s)
    await watch.start()
    n = args.events
    now = int(time.time() * 1000)
    campaigns = list(range(1, 51))
    clean: dict[str, Any] = {"duplicate_ratio": 0.0, "late_ratio": 0.0, "malformed_ratio": 0.0}
    first = make_traffic(n, stamps=[now] * n, campaigns=campaigns, seed=1, prefix="a", **clean).lines
    second = make_traffic(n, stamps=[now] * n, campaigns=campaigns, seed=2, prefix="b", **clean).lines
    try:
        print(f"[{kind}] 1/3 backlog: {n:,} events through the bridge", flush=True)
        bridge_s = await _send(s.bridge_port, first, args.connections)
        peer = str(Path(__file__).with_name("_report_peer.py"))
        argv = [sys.executable, "-m", "streaming.report_app"] if kind == "faust" else [sys.executable, peer]
        consumer = _spawn(argv, env, logs / f"{kind}.log")
        done = await watch.wait_for(n, timeout=600)
        assert watch.first_row_at is not None
        backlog_rate = n / max(done - watch.first_row_at, 1e-9)
        print(
            f"[{kind}]   bridge {n / bridge_s:,.0f} lines/s; consumer {backlog_rate:,.0f} events/s",
            flush=True,
        )

        print(f"[{kind}] 2/3 end to end: {n:,} events while the consumer runs", flush=True)
        started = time.monotonic()
        await _send(s.bridge_port, second, args.connections)
        done = await watch.wait_for(2 * n, timeout=600)
        e2e_rate = n / (done - started)
        print(f"[{kind}]   {e2e_rate:,.0f} events/s end to end", flush=True)

        print(f"[{kind}] 3/3 latency at {args.rate:,} events/s for {args.seconds} s", flush=True)
        latency = await _latency(s, watch, args.rate, args.seconds, 2 * n)
        print(f"[{kind}]   p50 {latency['p50_s']:.3f} s, p95 {latency['p95_s']:.3f} s", flush=True)
    finally:
        await watch.stop()
        if consumer is not None:
            _stop(consumer)
        _stop(bridge)
    return {
        "bridge_lines_per_s": round(n / bridge_s),
        "backlog_events_per_s": round(backlog_rate),
        "end_to_end_events_per_s": round(e2e_rate),
        "latency": latency,
    }


async def _latency(
    s: StreamingSettings, watch: ReportWatch, rate: int, seconds: int, before: int
) -> dict[str, Any]:
    rnd = random.Random(3)  # noqa: S311 - bench data
    sender = EventSender("127.0.0.1", s.bridge_port, max_unacked=50_000)
    probe = EventSender("127.0.0.1", s.bridge_port)
    sent_at: dict[int, float] = {}
    start = time.monotonic()
    total = rate * seconds
    next_probe = start
    for i in range(total):
        due = start + i / rate
        if i % 200 == 0:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        now_ms = int(time.time() * 1000)
        await sender.send(
            event_line(f"l{i}", now_ms, "impression", rnd.randrange(1, 51), rnd.randrange(4), 0.01, rnd)
        )
        if time.monotonic() >= next_probe:
            campaign = PROBE_CAMPAIGN + len(sent_at)
            await probe.send(event_line(f"p{campaign}", now_ms, "click", campaign, 0, 0.0, rnd))
            sent_at[campaign] = time.monotonic()
            next_probe += 0.1
    await sender.flush(timeout=300)
    await probe.flush(timeout=300)
    achieved = total / (time.monotonic() - start)
    await watch.wait_for(before + total + len(sent_at), timeout=300)
    await sender.close()
    await probe.close()
    waits = [watch.probe_seen[c] - t for c, t in sent_at.items() if c in watch.probe_seen]
    return {
        "offered_events_per_s": rate,
        "achieved_events_per_s": round(achieved),
        "probes": len(waits),
        "p50_s": round(percentile(waits, 0.5), 3),
        "p95_s": round(percentile(waits, 0.95), 3),
        "max_s": round(max(waits), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="events per throughput phase")
    parser.add_argument("--rate", type=int, default=10_000, help="offered events/s of the latency phase")
    parser.add_argument("--seconds", type=int, default=20, help="length of the latency phase")
    parser.add_argument("--connections", type=int, default=4, help="sender connections to the bridge")
    parser.add_argument("--kinds", nargs="+", default=["plain", "faust"], choices=["plain", "faust"])
    args = parser.parse_args()
    stack = StackSettings()
    for engine in engines(stack, ["kafka", "cassandra"]):
        if engine.pid_file.alive_pid() is None:
            sys.exit(f"{engine.name} is not running: start it with `make up` first")
    logs = stack.var_dir / "bench" / "realtime_report"
    logs.mkdir(parents=True, exist_ok=True)
    results = {kind: asyncio.run(run_kind(kind, args, stack, logs)) for kind in args.kinds}
    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, engines on the same machine",
        "command": "var/venv/bin/python bench/realtime_report.py " + " ".join(sys.argv[1:]),
        "events": args.events,
        "goals": GOALS,
        **results,
    }
    if {"faust", "plain"} <= results.keys():
        f, p = results["faust"], results["plain"]
        result["faust_vs_plain"] = {
            "backlog": round(f["backlog_events_per_s"] / p["backlog_events_per_s"], 2),
            "end_to_end": round(f["end_to_end_events_per_s"] / p["end_to_end_events_per_s"], 2),
        }
        print(f"faust / plain: {result['faust_vs_plain']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
