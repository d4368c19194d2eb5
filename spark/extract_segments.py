"""Spark job: the day's members of every registered segment, in one pass over each log.

    spark-submit spark/extract_segments.py --day 2026-11-27 [2026-11-28 ...]

For each day, in order (see :mod:`adtarget.extraction.plan`):

1. the active segments are read from the registry (``ADTARGET_SEGMENTS_REGISTRY_URL``);
2. **signals**: the day's search log goes once through the Aho-Corasick matcher (Arrow
   batches, the faster of the two paths ``bench/segment_match.py`` measures) with every
   segment's keywords, the other logs once through a join with every segment's ids, into
   ``adtarget.segment_signal``; earlier days of a window that lack a segment (registered or
   changed since) get a catch-up pass for just those segments;
3. **memberships** as of the day: each segment's rule over its window, its demographic filters,
   then combinations of segments level by level, into ``adtarget.segment_membership`` (the
   profile store's load reads it) and as Parquet under ``ADTARGET_SEGMENTS_RESEARCH_URI``;
4. **stats**: members, joined and left per segment into ``adtarget.segment_stats``.

Every write replaces its partition: re-running a day gives the same tables. The last line of
output is a JSON summary of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from adtarget import hiveql, match_udtf
from adtarget.extraction import plan as planning
from adtarget.segments.registry import Registry
from adtarget.segments.settings import SegmentSettings

LOG_TABLES = ("search_log", "ad_event_log", "app_install_log", "page_visit_log", "conversion_log")


def _sql(name: str) -> str:
    return hiveql.load(f"extraction/{name}.sql")[0]


def _view(spark: SparkSession, name: str, rows: list[tuple[Any, ...]], schema: str) -> DataFrame:
    frame = spark.createDataFrame(rows, schema)
    frame.createOrReplaceTempView(name)
    return frame


def _overwrite(spark: SparkSession, table: str, partition: str, select: str, args: dict[str, str]) -> None:
    """Replace one partition of ``table`` with the rows of ``select`` (empty: an empty partition).

    A static partition, unlike a dynamic one, is emptied even when no row comes.
    """
    spark.sql(f"INSERT OVERWRITE TABLE {table} PARTITION ({partition}) {select}", args=args)


def log_days(spark: SparkSession) -> set[str]:
    """Days with at least one log partition in the warehouse."""
    days: set[str] = set()
    for table in LOG_TABLES:
        for row in spark.sql(f"SHOW PARTITIONS adtarget.{table}").collect():
            days.add(row[0].split("=", 1)[1])
    return days


def signal_pass(spark: SparkSession, plan: planning.Plan, day: str, keys: set[tuple[int, str]]) -> int:
    """One pass over the logs of ``day`` for the segments of ``keys``; returns the signal rows."""
    part = plan.for_segments(keys)
    name = planning.pass_id(keys)
    parts = []
    if part.text_rules:
        lines = spark.sql(_sql("search_lines"), args={"dt": day})
        matcher = match_udtf.batch_matcher(part.text_rules, "adid", "query")
        lines.mapInArrow(matcher, "adid string, segment_id bigint").createOrReplaceTempView(
            "extraction_search_hits"
        )
        parts.append(spark.sql(_sql("signals_text")))
    if part.probes:
        _view(spark, "extraction_probes", part.probes, planning.PROBES_SCHEMA)
        parts.append(spark.sql(_sql("signals_ids"), args={"dt": day}))
    if parts:
        signals = _union(parts)
    else:
        signals = spark.createDataFrame(
            [], "segment_id int, kind string, adid string, events bigint, amount double, items array<string>"
        )
    signals.createOrReplaceTempView("extraction_signal")
    args = {"dt": day, "pass": name}
    _overwrite(
        spark, "adtarget.segment_signal", "dt = :dt, pass = :pass", "SELECT * FROM extraction_signal", args
    )
    written_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _view(
        spark,
        "extraction_ledger",
        [(s, v, written_at) for s, v in sorted(keys)],
        "segment_id int, definition string, written_at timestamp",
    )
    _overwrite(
        spark,
        "adtarget.segment_signal_pass",
        "dt = :dt, pass = :pass",
        "SELECT * FROM extraction_ledger",
        args,
    )
    return int(
        spark.sql(
            "SELECT count(*) FROM adtarget.segment_signal WHERE dt = :dt AND pass = :pass", args=args
        ).collect()[0][0]
    )


def ledger(spark: SparkSession, first: str, last: str) -> dict[str, set[tuple[int, str]]]:
    """Day -> the segment keys (id, definition digest) some signal pass of that day holds."""
    rows = spark.sql(
        "SELECT dt, segment_id, definition FROM adtarget.segment_signal_pass WHERE dt BETWEEN :a AND :b",
        args={"a": first, "b": last},
    ).collect()
    out: dict[str, set[tuple[int, str]]] = {}
    for row in rows:
        out.setdefault(row[0], set()).add((row[1], row[2]))
    return out


def activity(spark: SparkSession, plan: planning.Plan, days_with_logs: set[str]) -> list[str]:
    """Fill ``adtarget.user_activity`` for the extraction day and any day an activity window
    reads that has logs but no activity yet; returns the days written."""
    day = plan.day.isoformat()
    wanted = {day}
    have = {r[0].split("=", 1)[1] for r in spark.sql("SHOW PARTITIONS adtarget.user_activity").collect()}
    for p in plan.planned.values():
        if p.template in planning.ACTIVITY_TEMPLATES:
            for back in range(p.days):
                d = (plan.day - dt.timedelta(days=back)).isoformat()
                if d in days_with_logs and d not in have:
                    wanted.add(d)
    for d in sorted(wanted):
        _overwrite(spark, "adtarget.user_activity", "dt = :dt", _sql("activity"), {"dt": d})
    return sorted(wanted)


def memberships(spark: SparkSession, plan: planning.Plan, step: str) -> DataFrame:
    """(segment_id, adid) of every planned segment as of the plan's day, combinations included."""
    day = plan.day.isoformat()
    args: dict[str, Any] = {"dt": day, "dt_from": plan.first_day.isoformat()}
    _view(spark, "extraction_segments", plan.segments, planning.SEGMENTS_SCHEMA)
    chosen = spark.sql(_sql("chosen_passes"), args=args).cache()
    chosen.createOrReplaceTempView("extraction_chosen")
    # The passes to read go in as values: Spark prunes partitions by values, not by a join with
    # extraction_chosen, which read every pass of the window (after a few re-runs of a day, 5x
    # the rows that count). An empty array has no element type: "-" is no pass id.
    passes = sorted(row[0] for row in chosen.select("pass").distinct().collect())
    args["passes"] = passes or ["-"]
    spark.sql(
        "SELECT adid, age_band, gender, region, device, os FROM adtarget.user_attributes WHERE dt = :dt",
        args={"dt": day},
    ).cache().createOrReplaceTempView("extraction_attributes")
    # Intermediate results are materialised with localCheckpoint, not cache: replacing a temp
    # view (extraction_members, extraction_known, once per level) uncaches every cached result
    # with the same plan and all results built on it, and the day's write then ran every query
    # again (measured: 84 s instead of 5). A checkpoint has a plan of its own.
    began = time.monotonic()
    # filtered.sql reads its input twice (segments with and without filters): materialise it.
    spark.sql(_sql("memberships"), args=args).localCheckpoint().createOrReplaceTempView("extraction_members")
    # One piece per level; a level reads the union of the pieces below it.
    pieces = [spark.sql(_sql("filtered")).localCheckpoint()]
    rows = pieces[0].count()
    print(f"{step} rules judged: {rows:,} members ({time.monotonic() - began:.1f} s)", flush=True)
    for level in sorted(plan.combinations):
        began = time.monotonic()
        _union(pieces).createOrReplaceTempView("extraction_known")
        _view(spark, "extraction_combinations", plan.combinations[level], planning.COMBINATIONS_SCHEMA)
        spark.sql(_sql("combinations")).localCheckpoint().createOrReplaceTempView("extraction_members")
        pieces.append(spark.sql(_sql("filtered")).localCheckpoint())
        rows = pieces[-1].count()
        print(
            f"{step} combinations, level {level}: {len(plan.combinations[level]):,} references, "
            f"{rows:,} members ({time.monotonic() - began:.1f} s)",
            flush=True,
        )
    return _union(pieces)


def _union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for more in frames[1:]:
        out = out.unionAll(more)
    return out


def extract_day(spark: SparkSession, plan: planning.Plan, research_uri: str, step: str) -> dict[str, Any]:
    """Signals, memberships and stats of one day; returns its summary."""
    started = time.monotonic()
    day = plan.day.isoformat()
    days_with_logs = log_days(spark)
    if day not in days_with_logs:
        raise SystemExit(f"extract-segments: day {day}: no logs in the warehouse")
    needed = plan.needed()
    have = ledger(spark, min(needed, default=plan.day).isoformat(), day) if needed else {}
    passes = []
    # Earlier days first: a catch-up pass only for the segments that day lacks.
    for d in sorted(needed):
        iso = d.isoformat()
        keys = needed[d] if iso == day else needed[d] - have.get(iso, set())
        if not keys or iso not in days_with_logs:
            continue
        began = time.monotonic()
        rows = signal_pass(spark, plan, iso, keys)
        passes.append({"dt": iso, "segments": len(keys), "signal_rows": rows})
        print(
            f"{step} signals dt={iso}: {len(keys):,} segments, {rows:,} rows "
            f"({time.monotonic() - began:.1f} s)",
            flush=True,
        )
    began = time.monotonic()
    activity_days = activity(spark, plan, days_with_logs)
    print(f"{step} activity: {', '.join(activity_days)} ({time.monotonic() - began:.1f} s)", flush=True)
    members = memberships(spark, plan, step)
    began = time.monotonic()
    members.createOrReplaceTempView("extraction_all_members")
    final = spark.sql(
        "SELECT /*+ BROADCAST(s) */ m.adid, m.segment_id, s.version AS segment_version "
        "FROM extraction_all_members m "
        "JOIN extraction_segments s ON s.segment_id = m.segment_id WHERE s.deliver"
    ).cache()
    final.createOrReplaceTempView("extraction_final")
    _overwrite(
        spark, "adtarget.segment_membership", "dt = :dt", "SELECT * FROM extraction_final", {"dt": day}
    )
    final.write.mode("overwrite").parquet(f"{research_uri}/segment_membership/dt={day}")
    previous = (plan.day - dt.timedelta(days=1)).isoformat()
    _overwrite(spark, "adtarget.segment_stats", "dt = :dt", _sql("stats"), {"dt": day, "previous": previous})
    rows = final.count()
    delivered = sum(1 for p in plan.planned.values() if p.deliver)
    print(
        f"{step} memberships dt={day} written: {delivered:,} segments, {rows:,} rows "
        f"({time.monotonic() - began:.1f} s)",
        flush=True,
    )
    spark.catalog.clearCache()
    return {
        "day": day,
        "segments": delivered,
        "computed": len(plan.planned),
        "memberships": rows,
        "passes": passes,
        "activity_days": activity_days,
        "seconds": round(time.monotonic() - started, 1),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Extract the members of every active segment for some days, one day at a time."
    )
    parser.add_argument("--day", type=dt.date.fromisoformat, nargs="+", required=True, help="YYYY-MM-DD ...")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = SegmentSettings()
    spark = (
        SparkSession.builder.appName("adtarget-extract-segments")
        .config("spark.sql.session.timeZone", "UTC")
        # The warehouse tables have no statistics, so Spark's size guesses are wrong both ways
        # (it once broadcast a day of signals and ran out of heap): the SQL files name the small
        # side of each join with a BROADCAST hint, everything else is shuffled.
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .enableHiveSupport()
        .getOrCreate()
    )
    given = spark.sparkContext.getConf()  # what spark-submit's --conf set: left as it is
    if not given.contains("spark.sql.shuffle.partitions"):
        # The default 200 shuffle partitions cost a Python worker start each; a few per core do.
        spark.conf.set("spark.sql.shuffle.partitions", str(max(4, 2 * spark.sparkContext.defaultParallelism)))
    if not given.contains(match_udtf.ARROW_BATCH_CONF):
        spark.conf.set(match_udtf.ARROW_BATCH_CONF, str(match_udtf.ARROW_BATCH_ROWS))
    for statement in hiveql.load("warehouse/segments.sql"):
        spark.sql(statement)
    summaries = []
    with Registry(settings.registry_url) as registry:
        for n, day in enumerate(sorted(set(args.day)), 1):
            plan = planning.build(day, registry.active(day), registry.get)
            summaries.append(extract_day(spark, plan, settings.research_uri, f"[{n}/{len(set(args.day))}]"))
    spark.stop()
    print(json.dumps({"days": summaries}), flush=True)


if __name__ == "__main__":
    main()
