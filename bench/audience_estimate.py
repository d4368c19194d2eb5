"""Instant audience estimates (theta sketches in Cassandra) vs the exact HiveQL count, in one run.

Cases: ``search_any`` with 1, 10 and 100 keywords (the most searched words), and a combination
of 5 segments (AND / OR / NOT). For each: the estimate's latency (p50/p95 over ``--repeat``
calls) as the profile API serves it (its sketch cache warmed by a first request), side by side
with the same estimate reading every sketch from Cassandra ("cold"), and over daily sketches
only (the window sketches hidden too: the peer before them); the exact count's latency over
HiveServer2 (p50 over ``--exact-repeat`` runs), their ratio, and the estimate's error against
the exact count, with whether the exact count lies within the stated 2-sigma bounds. Then a
mixed workload (``--mixed-calls``): random 100-keyword questions through a cache that starts
empty, beside the same questions read cold, with the cache's hit ratio.

Data: ``--users`` users x ``--days`` days of synthetic logs ending on ``--as-of`` (default: the
issue's 1 M users x 30 days), with their sketches; what is missing is generated first
(``adtarget-data`` and ``spark/build_sketches.py``; about an hour for the default size here).
Writes bench/results/audience_estimate.json. Needs ``make up``.
Run: ``var/venv/bin/python bench/audience_estimate.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from _loadgen import write_result

from adtarget import spark_submit, synthetic, testdata
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.throttle import percentile
from adtarget.segments.estimate import estimate
from adtarget.segments.params import validate
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.sizing import exact_size
from adtarget.segments.sketch_cache import SketchCache
from adtarget.segments.sketches import SketchStore
from adtarget.segments.staging import Staging
from adtarget.segments.templates import Template, template
from adtarget.stack.config import PROJECT_ROOT, StackSettings
from serving.settings import ServingSettings

RESULTS = PROJECT_ROOT / "bench" / "results" / "audience_estimate.json"
GOAL_P95_MS = 50.0


def _ensure_data(
    settings: StackSettings, cursor: Any, store: SketchStore, days: list[dt.date], users: int
) -> None:
    cursor.execute("SHOW PARTITIONS adtarget.user_attributes")
    present = {r[0].removeprefix("dt=") for r in cursor.fetchall()}
    missing = [d for d in days if d.isoformat() not in present]
    # Runs of consecutive days in one job each (the generator is a pure function of seed and
    # day, so this gives the same rows as a job per day, without a JVM start per day).
    runs: list[list[dt.date]] = []
    for day in missing:
        if runs and runs[-1][-1] + dt.timedelta(days=1) == day and len(runs[-1]) < 10:
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        print(f"generating {run[0]}..{run[-1]} ({users:,} users a day)", flush=True)
        testdata.generate(settings, start=run[0], days=len(run), users=users, seed=42, quiet=True)
    built, _ = store.built(days[0], days[-1])
    unsketched = [d for d in days if d not in built]
    # A few days per job: at a million users one driver's heap (1 GiB) held about ten days.
    for i in range(0, len(unsketched), 5):
        chunk = unsketched[i : i + 5]
        print(f"building sketches of {chunk[0]}..{chunk[-1]}", flush=True)
        spark_submit.submit(settings, "build_sketches.py", ["--day", *(d.isoformat() for d in chunk)])
    if not {p for p in store.built(days[-1], days[-1])[1] if p.end == days[-1]}:
        print(f"building the window sketches of {days[-1]}", flush=True)
        spark_submit.submit(settings, "build_sketches.py", ["--windows-only", "--day", days[-1].isoformat()])


def _cases(
    as_of: dt.date, days: int
) -> dict[str, tuple[Template, dict[str, Any], Callable[[int], Any] | None]]:
    words = [str(w) for w in synthetic.vocabulary()[:100]]
    search = template("search_any")
    common = {"days": days, "as_of": as_of.isoformat()}
    cases: dict[str, tuple[Template, dict[str, Any], Callable[[int], Any] | None]] = {
        f"search_any_{n}_keywords": (search, validate(search, {**common, "keywords": words[:n]}), None)
        for n in (1, 10, 100)
    }
    # Five segments, as the registry would hand them over (resolve: segment id -> definition).
    parts: dict[int, tuple[str, dict[str, Any]]] = {
        1: ("search_any", {"keywords": words[:10]}),
        2: ("demographic", {"age_bands": ["20-29", "30-39"]}),
        3: ("banner_click", {"banner_ids": [1, 2, 3, 4, 5]}),
        4: ("app_category", {"app_categories": ["game"]}),
        5: ("app_install", {"app_ids": [f"app.{i:05d}" for i in range(1, 11)]}),
    }
    registered = {}
    for i, (t, p) in parts.items():
        tmpl = template(t)
        known = {k: v for k, v in common.items() if k in tmpl.properties}
        registered[i] = (tmpl, validate(tmpl, {**known, **p}))
    combo = template("segment_combination")
    combination = validate(
        combo, {"as_of": as_of.isoformat(), "all_of": [1, 2], "any_of": [3, 4], "none_of": [5]}
    )
    cases["combination_of_5_segments"] = (combo, combination, registered.__getitem__)
    return cases


def _mixed(session: Any, as_of: dt.date, days: int, calls: int, cache_bytes: int) -> dict[str, Any]:
    """A booking tool's day rather than one question asked again: ``calls`` estimates of 100
    keywords each, drawn at random (seeded) from the 1,000 most searched words, through a
    cache that starts empty, interleaved with the same questions read cold."""
    rng = random.Random(20261130)  # noqa: S311 - a reproducible workload, not a secret
    pool = [str(w) for w in synthetic.vocabulary()[:1_000]]
    search = template("search_any")
    cache = SketchCache(cache_bytes)
    served, cold = SketchStore(session, cache=cache), SketchStore(session)
    timings: dict[str, list[float]] = {"served": [], "cold": []}
    for _ in range(calls):
        values = validate(
            search, {"keywords": rng.sample(pool, 100), "days": days, "as_of": as_of.isoformat()}
        )
        for peer, peer_store in (("served", served), ("cold", cold)):
            started = time.perf_counter()
            estimate(search, values, as_of, peer_store)
            timings[peer].append(time.perf_counter() - started)
    half = calls // 2

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1000, 2)

    out = {
        "calls": calls,
        "keywords_per_call": 100,
        "drawn_from": "the 1,000 most searched words",
        "served_p50_ms": ms(timings["served"], 0.5),
        "served_p95_ms": ms(timings["served"], 0.95),
        "served_second_half_p95_ms": ms(timings["served"][half:], 0.95),
        "cold_p50_ms": ms(timings["cold"], 0.5),
        "cold_p95_ms": ms(timings["cold"], 0.95),
        "cache_hit_ratio": round(cache.stats.hits / max(1, cache.stats.hits + cache.stats.misses), 3),
        "cache_bytes": cache.size_bytes,
        "cache_evictions": cache.stats.evictions,
    }
    print(
        f"mixed: {calls} calls of 100 random keywords (top 1,000): served p50 {out['served_p50_ms']} "
        f"p95 {out['served_p95_ms']} ms (second half p95 {out['served_second_half_p95_ms']} ms), "
        f"cold p50 {out['cold_p50_ms']} p95 {out['cold_p95_ms']} ms, cache hit ratio "
        f"{out['cache_hit_ratio']:.1%}",
        flush=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 9, 30))
    parser.add_argument("--repeat", type=int, default=30, help="estimate calls per case (and per peer)")
    parser.add_argument("--exact-repeat", type=int, default=1, help="exact counts per case")
    parser.add_argument(
        "--mixed-calls", type=int, default=200, help="estimates of random keyword sets (0: none)"
    )
    args = parser.parse_args()
    settings = StackSettings()
    days = [args.as_of - dt.timedelta(days=i) for i in range(args.days - 1, -1, -1)]
    from pyhive import hive

    conn = hive.connect(host=settings.host, port=settings.hive_port, username="adtarget", auth="NONE")
    cursor = conn.cursor()
    staging = Staging(SegmentSettings().staging_uri)
    cassandra = CassandraSettings()
    results: dict[str, Any] = {}
    with cluster(cassandra) as c:
        session = c.connect(cassandra.keyspace)
        # The profile API's set-up (ServingSettings.estimate_cache_mb), and two peers without
        # a cache: every sketch read from Cassandra, with and without the window sketches.
        cache = SketchCache(ServingSettings().estimate_cache_mb << 20)
        peers = {
            "served": SketchStore(session, cache=cache),
            "cold": SketchStore(session),
            "dailies": SketchStore(session, windows=False),
        }
        _ensure_data(settings, cursor, peers["cold"], days, args.users)
        for name, (tmpl, values, resolve) in _cases(args.as_of, args.days).items():
            timings: dict[str, list[float]] = {peer: [] for peer in peers}
            results_of: dict[str, Any] = {}
            for peer_store in peers.values():
                # Warms the prepared paths, and the served peer's cache as a first request would.
                estimate(tmpl, values, args.as_of, peer_store, resolve=resolve)
            # Interleaved, so the peers see the same moments of this shared machine.
            for _ in range(args.repeat):
                for peer, peer_store in peers.items():
                    started = time.perf_counter()
                    results_of[peer] = estimate(tmpl, values, args.as_of, peer_store, resolve=resolve)
                    timings[peer].append(time.perf_counter() - started)
            result, cold_result, peer_result = results_of["served"], results_of["cold"], results_of["dailies"]
            if result.as_json() | {"seconds": 0} != cold_result.as_json() | {"seconds": 0}:
                raise AssertionError(f"{name}: the cached estimate differs from the one read from Cassandra")
            exact_times, exact = [], 0
            for _ in range(args.exact_repeat):
                sized = exact_size(cursor, tmpl, values, staging=staging, resolve=resolve)
                exact_times.append(sized.seconds)
                exact = sized.count
            p50, p95 = percentile(timings["served"], 0.5) * 1000, percentile(timings["served"], 0.95) * 1000
            c50, c95 = percentile(timings["cold"], 0.5) * 1000, percentile(timings["cold"], 0.95) * 1000
            d50, d95 = percentile(timings["dailies"], 0.5) * 1000, percentile(timings["dailies"], 0.95) * 1000
            exact_ms = statistics.median(exact_times) * 1000
            within = (result.lower is None or result.lower <= exact) and (
                result.upper is None or exact <= result.upper
            )
            results[name] = {
                "estimate": round(result.estimate),
                "lower": result.lower and round(result.lower),
                "upper": result.upper and round(result.upper),
                "relation": result.relation.value,
                "exact": exact,
                "relative_error": round(abs(result.estimate - exact) / exact, 4) if exact else None,
                "exact_within_bounds": within,
                "sketches_read": result.sketches,
                "estimate_p50_ms": round(p50, 2),
                "estimate_p95_ms": round(p95, 2),
                "cold": {"estimate_p50_ms": round(c50, 2), "estimate_p95_ms": round(c95, 2)},
                "cold_over_served_p95": round(c95 / p95, 2),
                "dailies_only": {
                    "estimate": round(peer_result.estimate),
                    "sketches_read": peer_result.sketches,
                    "estimate_p50_ms": round(d50, 2),
                    "estimate_p95_ms": round(d95, 2),
                },
                "dailies_over_cold_p95": round(d95 / c95, 2),
                "exact_p50_ms": round(exact_ms, 1),
                "exact_over_estimate_p50": round(exact_ms / p50, 1),
                "exact_over_cold_p50": round(exact_ms / c50, 1),
                "notes": result.notes,
            }
            r = results[name]
            print(
                f"{name:28s} estimate {r['estimate']:>8,} [{r['lower']}, {r['upper']}] exact {exact:>8,} "
                f"err {r['relative_error']:.2%} within={within}  served p50 {p50:6.1f} p95 {p95:6.1f} ms, "
                f"cold p50 {c50:6.1f} p95 {c95:6.1f} ms "
                f"({result.sketches} sketches; dailies only: p50 {d50:.1f} p95 {d95:.1f} ms, "
                f"{peer_result.sketches} sketches)  exact {exact_ms:8.0f} ms "
                f"({r['exact_over_estimate_p50']}x)",
                flush=True,
            )
        mixed = (
            _mixed(session, args.as_of, args.days, args.mixed_calls, cache.max_bytes)
            if args.mixed_calls
            else None
        )
    conn.close()
    met = all(r["estimate_p95_ms"] < GOAL_P95_MS and r["exact_within_bounds"] for r in results.values())
    met_cold = all(r["cold"]["estimate_p95_ms"] < GOAL_P95_MS for r in results.values())
    issue_size = args.users >= 1_000_000 and args.days >= 30
    write_result(
        RESULTS,
        {
            "data": {"users": args.users, "days": args.days, "as_of": args.as_of.isoformat()},
            "goal": f"p95 < {GOAL_P95_MS:g} ms and the exact count within the 2-sigma bounds "
            "(the issue asks for 1 M users x 30 days; this run's size is in 'data')",
            "peers": {
                "served": "the profile API's estimate: sketches kept in its cache "
                f"({cache.max_bytes >> 20} MiB per worker) after a first request",
                "cold": "no cache: every sketch read from Cassandra (window and daily sketches)",
                "dailies_only": "no cache, no window sketches: every day's daily sketch read",
            },
            "cache": {"bytes": cache.size_bytes, "entries": len(cache), "evictions": cache.stats.evictions},
            "cases": results,
            "mixed_workload": mixed,
            "goal_met_at_this_size": met,
            "goal_met_cold_too": met_cold,
            "at_the_issue_size": issue_size,
        },
    )


if __name__ == "__main__":
    main()
