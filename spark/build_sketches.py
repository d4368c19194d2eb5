"""Spark job: the day's theta sketches per attribute value, into the warehouse and Cassandra.

    spark-submit spark/build_sketches.py --day 2026-11-27 [2026-11-28 ...] [--no-cassandra]

Reads the day's logs (``sql/sketches/attribute_members.sql``), builds one compact theta sketch
of the users per (kind, value) in the Python workers, writes them to
``adtarget.attribute_sketch`` (INSERT OVERWRITE of the day) and upserts them into Cassandra's
``attribute_sketches`` (``ADTARGET_CASSANDRA_*``), where the instant audience estimate reads
them.

Then the window sketches (:mod:`adtarget.segments.windows`) ending on the day: per value, the
union over its trailing 7, 14, 30, 60 and 90 days, each made of a few stored pieces (the
windows of earlier days and some daily sketches), into ``adtarget.attribute_window_sketch``
and ``attribute_window_sketches``. A day built after later days (a backfill, a re-run) also
rebuilds the later days' windows that include it, oldest first; their markers in Cassandra are
removed first, so estimates meanwhile use the daily sketches. Re-running a day gives the same
sketches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from adtarget import hiveql
from adtarget.matcher import tokens
from adtarget.segments import sketches
from adtarget.segments.windows import SPANS, Piece, affected, cover

SCHEMA = "kind string, value string, users bigint, sketch binary, dt string"
WINDOW_SCHEMA = "kind string, value string, sketch binary, dt string, span int"
_WINDOW_ARROW = pa.schema(
    [
        ("kind", pa.string()),
        ("value", pa.string()),
        ("sketch", pa.binary()),
        ("dt", pa.string()),
        ("span", pa.int32()),
    ]
)


def sketch_partitions(day: str) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function: rows (kind, value, adid), sorted, to one sketch per group."""

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        def rows() -> Iterator[tuple[str, str, str]]:
            for batch in batches:
                yield from zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True)

        out: dict[str, list[object]] = {"kind": [], "value": [], "users": [], "sketch": [], "dt": []}
        for kind, value, users, blob in sketches.group_rows(rows()):
            for name, item in zip(out, (kind, value, users, blob, day), strict=True):
                out[name].append(item)
            if len(out["kind"]) >= 10_000:
                yield pa.RecordBatch.from_pydict(out)
                out = {name: [] for name in out}
        if out["kind"]:
            yield pa.RecordBatch.from_pydict(out)

    return build


def window_partitions(
    plans: dict[int, list[Piece]], end: str
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function: rows (kind, value, span, dt, sketch) of the pieces, sorted by
    (kind, value), to each value's window sketches of ``plans`` ending on ``end``."""

    def build(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        def rows() -> Iterator[tuple[str, str, Piece, bytes]]:
            for batch in batches:
                kinds, values, spans, days, blobs = (batch.column(i).to_pylist() for i in range(5))
                for kind, value, span, day, blob in zip(kinds, values, spans, days, blobs, strict=True):
                    yield kind, value, Piece(span, dt.date.fromisoformat(day)), blob

        out: dict[str, list[object]] = {"kind": [], "value": [], "sketch": [], "dt": [], "span": []}
        for kind, value, span, blob in sketches.group_windows(rows(), plans):
            for name, item in zip(out, (kind, value, blob, end, span), strict=True):
                out[name].append(item)
            if len(out["kind"]) >= 10_000:
                yield pa.RecordBatch.from_pydict(out, schema=_WINDOW_ARROW)
                out = {name: [] for name in out}
        if out["kind"]:
            yield pa.RecordBatch.from_pydict(out, schema=_WINDOW_ARROW)

    return build


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
        store.forget_windows(sorted(stale))
    kept -= stale
    for n, end in enumerate(ends, 1):
        spans = sorted({p.span for p in stale if p.end == end})
        # Each span from pieces of earlier ends (or dailies): one pass builds all spans of the end.
        plans = {span: cover(end - dt.timedelta(days=span - 1), end, built, kept) for span in spans}
        needed = sorted({piece for plan in plans.values() for piece in plan})
        out = (
            _pieces(spark, needed)
            .repartition("kind", "value")
            .sortWithinPartitions("kind", "value")
            .mapInArrow(window_partitions(plans, end.isoformat()), WINDOW_SCHEMA)
            .cache()
        )
        out.write.insertInto("adtarget.attribute_window_sketch", overwrite=True)
        written = ""
        if store is not None:
            rows = ((r.kind, r.value, r.span, bytes(r.sketch)) for r in out.toLocalIterator())
            written = f", {store.write_windows(end, rows):,} to cassandra"
        out.unpersist()
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
    if "spark.sql.shuffle.partitions" not in spark.sparkContext.getConf().toDebugString():
        # The default 200 shuffle partitions cost a Python worker start each; a few per core do.
        spark.conf.set("spark.sql.shuffle.partitions", str(max(4, 2 * spark.sparkContext.defaultParallelism)))
    for statement in hiveql.load("warehouse/segments.sql"):
        spark.sql(statement)
    spark.udf.register("adtarget_tokens", lambda text: tokens(text) if text else [], "array<string>")
    connection, store = (None, None) if args.no_cassandra else _store()
    steps = len(args.day) * (1 if args.no_cassandra else 2)
    done = 0
    for day in [] if args.windows_only else args.day:
        members = spark.sql(hiveql.load("sketches/attribute_members.sql")[0], args={"dt": day.isoformat()})
        built = (
            members.repartition("kind", "value")
            .sortWithinPartitions("kind", "value", "adid")
            .mapInArrow(sketch_partitions(day.isoformat()), SCHEMA)
            .cache()
        )
        built.write.insertInto("adtarget.attribute_sketch", overwrite=True)
        done += 1
        print(f"[{done}/{steps}] adtarget.attribute_sketch dt={day}: {built.count():,} sketches", flush=True)
        if store is not None:
            rows = ((r.kind, r.value, r.users, bytes(r.sketch)) for r in built.toLocalIterator())
            written = store.write(day, rows)
            done += 1
            print(f"[{done}/{steps}] cassandra attribute_sketches dt={day}: {written:,} sketches", flush=True)
        built.unpersist()
    build_windows(spark, sorted(args.day), store, lambda line: print(line, flush=True))
    if connection is not None:
        connection.shutdown()
    print(f"done in {time.monotonic() - started:.1f} s", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
