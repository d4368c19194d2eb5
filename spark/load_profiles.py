"""Spark job: load one day of the warehouse into the Cassandra profile tables.

    spark-submit spark/load_profiles.py --day 2026-11-27 [--tables segment_memberships ...]

For each table, ``sql/profiles/<table>.sql`` selects the day's rows (``:day`` is bound), the
rows are hash-partitioned by the Cassandra partition key into ``--chunks`` partitions and each
partition is written by one task (see ``adtarget.profiles.partition_writer``): grouped per user,
bounded concurrency, rate-limited (``--adaptive``: backing off below the cap while profile reads
slow down), checkpointed. Run it again with the same ``--load-id`` after a
crash and it skips the chunks already written; run a day again and the tables end the same.
A day older than the newest one already loaded into a table is skipped unless ``--force``.
Cassandra is reached with ``ADTARGET_CASSANDRA_*`` (the Airflow task passes its connection).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from adtarget import hiveql
from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.loader import DEFAULT_CHUNKS, Checkpoints, LoadState
from adtarget.profiles.partition_writer import TableLoad, partition_key, write_partition
from adtarget.profiles.tables import PROFILE_TABLES

#: Every table the job can load, in load order (ids first: the API resolves BIDs with it).
TABLES = ("ids_by_bid", *(t.name for t in PROFILE_TABLES))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Load one day of the warehouse into Cassandra.")
    parser.add_argument("--day", type=dt.date.fromisoformat, required=True, help="the day, YYYY-MM-DD")
    parser.add_argument("--tables", nargs="*", default=list(TABLES), choices=TABLES, metavar="TABLE")
    parser.add_argument("--load-id", help="checkpoint name (default: profiles-<day>); reuse it to resume")
    parser.add_argument(
        "--chunks", type=int, default=DEFAULT_CHUNKS, help="partitions, each a checkpointed chunk"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="writes in flight per task")
    parser.add_argument("--rate", type=float, default=0.0, help="rows/s for the whole load (0: no limit)")
    parser.add_argument(
        "--adaptive",
        action="store_true",
        help="below --rate, back off while profile reads are slower than before the load (needs --rate)",
    )
    parser.add_argument("--force", action="store_true", help="load even if a newer day is loaded")
    parser.add_argument("--restart", action="store_true", help="forget checkpoints: write every chunk")
    args = parser.parse_args(argv)
    if args.chunks < 1 or args.concurrency < 1 or args.rate < 0:
        parser.error(
            f"--chunks and --concurrency must be >= 1 and --rate >= 0 "
            f"(got {args.chunks}, {args.concurrency}, {args.rate})"
        )
    if args.adaptive and not args.rate:
        parser.error("--adaptive backs off below a cap: give --rate above 0 (got --rate 0)")
    return args


def extract(spark: SparkSession, table: str, day: str, chunks: int) -> DataFrame:
    """The day's rows of ``table``, one partition per chunk, sorted by the partition key."""
    query = hiveql.load(f"profiles/{table}.sql")[0]
    key = partition_key(table)
    return spark.sql(query, args={"day": day}).repartition(chunks, key).sortWithinPartitions(key)


def load_table(spark: SparkSession, load: TableLoad, chunks: int) -> list[dict[str, Any]]:
    """Write every chunk of one table; returns the per-chunk reports."""
    frame = extract(spark, load.table, load.day, chunks)
    load = dataclasses.replace(load, columns=tuple(frame.columns))

    def write(index: int, rows: Any) -> Any:
        yield write_partition(load, index, (row.asDict() for row in rows))

    return frame.rdd.mapPartitionsWithIndex(write).collect()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    day = args.day.isoformat()
    load_id = args.load_id or f"profiles-{day}"
    settings = CassandraSettings()
    summary: dict[str, Any] = {"day": day, "load_id": load_id, "tables": {}}
    with cluster(settings) as c:
        session = c.connect(settings.keyspace)
        state = LoadState(session)
        # What is left to load is decided from Cassandra first: a re-run of a loaded day, or a
        # day older than one loaded, starts no Spark at all.
        todo: list[str] = []
        for table in args.tables:
            if not args.force and state.is_stale(table, day):
                print(
                    f"load_profiles: {table}: skipped, {state.newest(table)} is newer than {day}", flush=True
                )
                summary["tables"][table] = {"skipped": "newer day loaded"}
                continue
            checkpoints = Checkpoints(session, f"{load_id}:{table}")
            if args.restart:
                checkpoints.reset()
            elif len(checkpoints.done()) >= args.chunks:
                print(f"load_profiles: {table}: all {args.chunks} chunks already done", flush=True)
                summary["tables"][table] = {"rows": 0, "chunks_written": 0, "chunks_skipped": args.chunks}
                continue
            todo.append(table)
        if todo:
            summary["tables"].update(load_tables(args, settings, state, load_id, day, todo))
    print(json.dumps(summary), flush=True)
    return 0


def load_tables(
    args: argparse.Namespace,
    settings: CassandraSettings,
    state: LoadState,
    load_id: str,
    day: str,
    tables: list[str],
) -> dict[str, Any]:
    """Load ``tables`` of ``day`` with Spark; each table's summary."""
    spark = SparkSession.builder.appName(f"load_profiles {day}").enableHiveSupport().getOrCreate()
    parallelism = spark.sparkContext.defaultParallelism
    # A day of one table is small next to Spark's default of 200 shuffle partitions per GROUP BY.
    spark.conf.set("spark.sql.shuffle.partitions", str(max(args.chunks, parallelism * 2)))
    # The warehouse tables this job reads exist even before their first writer ran.
    for ddl in (*hiveql.load("warehouse/logs.sql"), *hiveql.load("warehouse/segments.sql")):
        spark.sql(ddl)
    out: dict[str, Any] = {}
    for table in tables:
        started = time.monotonic()
        load = TableLoad(
            settings=settings,
            table=table,
            columns=(),
            load_id=load_id,
            day=day,
            concurrency=args.concurrency,
            rate=args.rate / parallelism if args.rate else 0.0,
            adaptive=args.adaptive,
        )
        reports = load_table(spark, load, args.chunks)
        state.record(table, day, load_id)
        rows = sum(r["rows"] for r in reports)
        seconds = time.monotonic() - started
        out[table] = {
            "rows": rows,
            "chunks_written": sum(not r["skipped"] for r in reports),
            "chunks_skipped": sum(r["skipped"] for r in reports),
            "seconds": round(seconds, 2),
        }
        probes = [r["probe"] for r in reports if "probe" in r]
        if probes:
            out[table]["adaptive"] = {
                "backoffs": sum(int(p["backoffs"]) for p in probes),
                "read_p95_idle_ms": max(float(p["read_p95_idle_ms"]) for p in probes),
                "rows_per_s": round(rows / seconds) if seconds else 0,
            }
        print(
            f"load_profiles: {table}: {rows} rows in {seconds:.1f}s "
            f"({out[table]['chunks_skipped']}/{args.chunks} chunks already done)",
            flush=True,
        )
    spark.stop()
    return out


if __name__ == "__main__":
    sys.exit(main())
