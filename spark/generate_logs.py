"""Spark job: generate synthetic logs for a range of days into the warehouse's Hive tables.

    spark-submit spark/generate_logs.py --start 2026-11-27 --days 1 --users 10000 --seed 42

Each (table, day) partition is written with INSERT OVERWRITE semantics, so re-running a day
replaces it with the same rows (the generator is a pure function of seed, day and user chunk).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from adtarget import hiveql, synthetic

DATABASE = "adtarget"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate synthetic logs into the warehouse.")
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=1, help="number of days (default 1)")
    parser.add_argument("--users", type=int, default=10_000, help="population size (default 10000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument("--tables", nargs="*", default=list(synthetic.TABLES), choices=list(synthetic.TABLES))
    args = parser.parse_args(argv)
    if args.days < 1 or args.users < 1:
        parser.error(f"--days and --users must be at least 1 (got days={args.days}, users={args.users})")
    return args


def chunk_generator(
    table: str, seed: int, day: dt.date, n_users: int
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function that turns chunk ids into the rows of ``table`` for ``day``."""
    make = synthetic.TABLES[table]
    partition = day.isoformat()

    def generate(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for chunk in batch.column("id").to_pylist():
                rows = make(seed, day, int(chunk), n_users)
                rows = rows.append_column("dt", pa.array([partition] * rows.num_rows, pa.string()))
                yield from rows.to_batches()

    return generate


def build_day(spark: SparkSession, table: str, *, seed: int, day: dt.date, n_users: int) -> DataFrame:
    """The rows of one table and day, in the Hive table's column order."""
    target = spark.table(f"{DATABASE}.{table}")
    chunks = synthetic.chunk_count(n_users)
    ids = spark.range(chunks, numPartitions=max(1, min(chunks, spark.sparkContext.defaultParallelism * 2)))
    return ids.mapInArrow(chunk_generator(table, seed, day, n_users), target.schema)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    spark = (
        SparkSession.builder.appName("adtarget-generate-logs")
        .config("spark.sql.session.timeZone", "UTC")
        # Overwrite only the partitions written, never the whole table.
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("hive.exec.dynamic.partition.mode", "nonstrict")
        .enableHiveSupport()
        .getOrCreate()
    )
    for statement in hiveql.load("warehouse/logs.sql"):
        spark.sql(statement)
    days = [args.start + dt.timedelta(days=i) for i in range(args.days)]
    total = len(days) * len(args.tables)
    done = 0
    for day in days:
        for table in args.tables:
            build_day(spark, table, seed=args.seed, day=day, n_users=args.users).write.insertInto(
                f"{DATABASE}.{table}", overwrite=True
            )
            done += 1
            rows = spark.table(f"{DATABASE}.{table}").where(F.col("dt") == day.isoformat()).count()
            print(f"[{done}/{total}] {DATABASE}.{table} dt={day.isoformat()}: {rows:,} rows", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
