"""Spark job: the day's theta sketches per attribute value, into the warehouse and Cassandra.

    spark-submit spark/build_sketches.py --day 2026-11-27 [2026-11-28 ...] [--no-cassandra] [--windows-only]

Reads the day's logs (``sql/sketches/attribute_members.sql``), builds one compact theta sketch
of the users per (kind, value) with Spark's DataSketches functions, writes them to
``adtarget.attribute_sketch`` (INSERT OVERWRITE of the day) and upserts them into Cassandra's
``attribute_sketches`` (``ADTARGET_CASSANDRA_*``), where the instant audience estimate reads
them.

Then the window sketches (:mod:`adtarget.segments.windows`) ending on the day: per value, the
union over its trailing 7, 14, 30, 60 and 90 days, each made of a few stored pieces (the
windows of earlier days and some daily sketches), into ``adtarget.attribute_window_sketch``
and ``attribute_window_buckets``. A day built after later days (a backfill, a re-run) also
rebuilds the later days' windows that include it, oldest first; their markers in Cassandra are
removed first, so estimates meanwhile use the daily sketches. Re-running a day gives the same
sketches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from adtarget import hiveql
from adtarget.matcher import tokens
from adtarget.segments import sketches
from adtarget.segments.windows import MIN_USERS, SPANS, Piece, affected, cover

#: Window sketch rows per output partition (a sketch and span is up to 32 KiB), and the most
#: partitions an end is written in.
WINDOW_ROWS = 1_000
MAX_WINDOW_PARTITIONS = 64


def daily_sketches(members: DataFrame, *, day: str) -> DataFrame:
    """One compact theta sketch of the users per (kind, value), with their count.

    Spark's own DataSketches functions (in the JVM) hash a string's UTF-8 bytes with the
    library's default seed, as the Python library does, so both read each other's sketches;
    their compact sketches are ordered and trimmed to the nominal entries. The count is the
    sketch's estimate: exact below the nominal entries, and an exact distinct count beside the
    sketch would cost a shuffle of every (kind, value, user) row (twice the job's time here).
    """
    sketch = F.theta_sketch_agg("adid", sketches.LG_K)
    return (
        members.groupBy("kind", "value")
        .agg(sketch.alias("sketch"))
        .select(
            "kind",
            "value",
            F.round(F.theta_sketch_estimate("sketch")).cast("bigint").alias("users"),
            "sketch",
            F.lit(day).alias("dt"),
        )
    )


def window_sketches(
    spark: SparkSession, pieces: DataFrame, plans: dict[int, list[Piece]], *, end: str
) -> DataFrame:
    """Per value and span of ``plans``, the union of the pieces its plan names, for the values
    with at least :data:`~adtarget.segments.windows.MIN_USERS` users in it (and the marker)."""
    wanted = spark.createDataFrame(
        [(p.span, p.end.isoformat(), span) for span, plan in plans.items() for p in plan],
        "span int, dt string, window int",
    )
    marker = (F.col("kind") == "user") & (F.col("value") == "all")
    return (
        pieces.join(F.broadcast(wanted), on=["span", "dt"], how="inner")
        .groupBy("kind", "value", "window")
        .agg(F.theta_union_agg("sketch", sketches.LG_K).alias("sketch"))
        .where((F.theta_sketch_estimate("sketch") >= MIN_USERS) | marker)
        .select("kind", "value", "sketch", F.lit(end).alias("dt"), F.col("window").alias("span"))
    )


def _pieces(spark: SparkSession, pieces: list[Piece]) -> DataFrame:
    """The rows (kind, value, span, dt, sketch) of the stored ``pieces``."""
    days = [p.end.isoformat() for p in pieces if p.span == 1]
    daily = (
        spark.table("adtarget.attribute_sketch")
        .where(F.col("dt").isin(days))
        .select("kind", "value", F.lit(1).alias("span"), "dt", "sketch")
    )
    windows = [p for p in pieces if p.span > 1]
    if not windows:
        return daily
    chosen = F.lit(False)
    for p in windows:
        chosen = chosen | ((F.col("dt") == p.end.isoformat()) & (F.col("span") == p.span))
    stored = spark.table("adtarget.attribute_window_sketch").where(chosen)
    return daily.unionByName(stored.select("kind", "value", "span", "dt", "sketch"))


def _partitions(spark: SparkSession, table: str) -> list[dict[str, str]]:
    found = []
    for row in spark.sql(f"SHOW PARTITIONS {table}").collect():
        found.append(dict(part.split("=", 1) for part in row[0].split("/")))
    return found


def _store() -> tuple[Any, sketches.SketchStore]:
    from adtarget.profiles.config import CassandraSettings, cluster

    settings = CassandraSettings()
    connection = cluster(settings)
    return connection, sketches.SketchStore(connection.connect(settings.keyspace))


def build_windows(
    spark: SparkSession,
    days: list[dt.date],
    store: sketches.SketchStore | None,
    progress: Callable[[str], None],
) -> int:
    """(Re)build the window sketches that include any of ``days``, oldest end first; returns
    how many ends were built."""
    built = {dt.date.fromisoformat(p["dt"]) for p in _partitions(spark, "adtarget.attribute_sketch")}
    kept = {
        Piece(int(p["span"]), dt.date.fromisoformat(p["dt"]))
        for p in _partitions(spark, "adtarget.attribute_window_sketch")
    }
    ends = sorted(e for e in built if any(d <= e < d + dt.timedelta(days=max(SPANS)) for d in days))
    stale = {piece for day in days for piece in affected(day, ends)}
    if store is not None:
        store.forget(sorted(stale))
    kept -= stale
    for n, end in enumerate(ends, 1):
        spans = sorted({p.span for p in stale if p.end == end})
        # Each span from pieces of earlier ends (or dailies): one pass builds all spans of the end.
        plans = {span: cover(end - dt.timedelta(days=span - 1), end, built, kept) for span in spans}
        needed = sorted({piece for plan in plans.values() for piece in plan})
        # Partitions of at most WINDOW_ROWS rows: the driver streams them to Cassandra one at a
        # time, and a few big ones (up to 32 KiB per sketch and span) overflow its memory on a
        # million users. No more than needed: each costs a job and a file, which is most of the
        # time of a small day.
        sketched = window_sketches(spark, _pieces(spark, needed), plans, end=end.isoformat()).cache()
        partitions = max(1, min(MAX_WINDOW_PARTITIONS, -(-sketched.count() // WINDOW_ROWS)))
        out = sketched.repartition(partitions).cache()
        out.write.insertInto("adtarget.attribute_window_sketch", overwrite=True)
        sketched.unpersist()
        written = ""
        if store is not None:
            rows = ((r.kind, r.value, r.span, bytes(r.sketch)) for r in out.toLocalIterator())
            written = f", {store.write_windows(end, rows):,} to cassandra"
        out.unpersist(blocking=True)
        kept |= {Piece(span, end) for span in spans}
        pieces = sum(len(plan) for plan in plans.values())
        progress(f"[windows {n}/{len(ends)}] dt={end} spans {spans} from {pieces} pieces{written}")
    return len(ends)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the day's theta sketches per attribute value.")
    parser.add_argument("--day", type=dt.date.fromisoformat, nargs="+", required=True, help="YYYY-MM-DD ...")
    parser.add_argument("--no-cassandra", action="store_true", help="write the warehouse only")
    parser.add_argument(
        "--windows-only", action="store_true", help="keep the days' daily sketches; (re)build their windows"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    spark = (
        SparkSession.builder.appName("adtarget-build-sketches")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("hive.exec.dynamic.partition.mode", "nonstrict")
        .enableHiveSupport()
        .getOrCreate()
    )
    if not spark.sparkContext.getConf().contains("spark.sql.shuffle.partitions"):  # --conf wins
        # The default 200 shuffle partitions are tiny tasks on one machine; a few per core do.
        spark.conf.set("spark.sql.shuffle.partitions", str(max(4, 2 * spark.sparkContext.defaultParallelism)))
    for statement in hiveql.load("warehouse/segments.sql"):
        spark.sql(statement)
    # Arrow-batched: a search day is a million calls, and row-at-a-time pickling doubles its cost.
    spark.udf.register(
        "adtarget_tokens", F.udf(lambda text: tokens(text) if text else [], "array<string>", useArrow=True)
    )
    connection, store = (None, None) if args.no_cassandra else _store()
    steps = len(args.day) * (1 if args.no_cassandra else 2)
    done = 0
    for day in [] if args.windows_only else args.day:
        members = spark.sql(hiveql.load("sketches/attribute_members.sql")[0], args={"dt": day.isoformat()})
        built = daily_sketches(members, day=day.isoformat()).cache()
        built.write.insertInto("adtarget.attribute_sketch", overwrite=True)
        done += 1
        print(f"[{done}/{steps}] adtarget.attribute_sketch dt={day}: {built.count():,} sketches", flush=True)
        if store is not None:
            rows = ((r.kind, r.value, r.users, bytes(r.sketch)) for r in built.toLocalIterator())
            written = store.write(day, rows)
            done += 1
            print(f"[{done}/{steps}] cassandra attribute_sketches dt={day}: {written:,} sketches", flush=True)
        built.unpersist(blocking=True)
    build_windows(spark, sorted(args.day), store, lambda line: print(line, flush=True))
    if connection is not None:
        connection.shutdown()
    print(f"done in {time.monotonic() - started:.1f} s", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
