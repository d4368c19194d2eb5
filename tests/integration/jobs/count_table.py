"""A spark-submit job for the tests: count a table through the shared Hive metastore."""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession


def main() -> None:
    table = sys.argv[1]
    spark = SparkSession.builder.appName("adtarget-test-count").enableHiveSupport().getOrCreate()
    rows = spark.table(table).collect()
    print(f"ROWS={sorted((r['id'], r['word']) for r in rows)}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main()
