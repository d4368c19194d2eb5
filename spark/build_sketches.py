"""Spark job: the day's theta sketches per attribute value, into the warehouse and Cassandra.

    spark-submit spark/build_sketches.py --day 2026-11-27 [2026-11-28 ...] [--no-cassandra]

Reads the day's logs (``sql/sketches/attribute_members.sql``), builds one compact theta sketch
of the users per (kind, value) in the Python workers, writes them to
``adtarget.attribute_sketch`` (INSERT OVERWRITE of the day) and upserts them into Cassandra's
``attribute_sketches`` (``ADTARGET_CASSANDRA_*``), where the instant audience estimate reads
them. Re-running a day gives the same sketches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession

from adtarget import hiveql
from adtarget.matcher import tokens
from adtarget.segments import sketches

SCHEMA = "kind string, value string, users bigint, sketch binary, dt string"


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


def _to_cassandra(day: dt.date, built: DataFrame) -> int:
    from adtarget.profiles.config import CassandraSettings, cluster

    settings = CassandraSettings()
    with cluster(settings) as c:
        store = sketches.SketchStore(c.connect(settings.keyspace))
        rows = ((r.kind, r.value, r.users, bytes(r.sketch)) for r in built.toLocalIterator())
        return store.write(day, rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the day's theta sketches per attribute value.")
    parser.add_argument("--day", type=dt.date.fromisoformat, nargs="+", required=True, help="YYYY-MM-DD ...")
    parser.add_argument("--no-cassandra", action="store_true", help="write the warehouse only")
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
    steps = len(args.day) * (1 if args.no_cassandra else 2)
    done = 0
    for day in args.day:
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
        if not args.no_cassandra:
            written = _to_cassandra(day, built)
            done += 1
            print(f"[{done}/{steps}] cassandra attribute_sketches dt={day}: {written:,} sketches", flush=True)
        built.unpersist()
    print(f"done in {time.monotonic() - started:.1f} s", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
