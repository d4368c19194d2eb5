"""The HiveServer2-compatible Thrift server, started from a PySpark session.

Started this way (rather than ``spark-submit --class HiveThriftServer2``) so that Python
functions registered in the session, such as the segment-matching UDTF, can be called from
HiveQL sent by pyhive, beeline or Airflow's HiveServer2Hook. Run by the stack as
``python -m adtarget.stack.thrift_server``; configuration comes from ``SPARK_CONF_DIR``.
"""

from __future__ import annotations

import argparse
import signal
import threading

from pyspark.sql import SparkSession


def build_session(ui_port: int) -> SparkSession:
    """The one Hive-enabled session every Thrift client shares."""
    return (
        SparkSession.builder.appName("adtarget-thrift-server")
        .config("spark.ui.port", str(ui_port))
        .enableHiveSupport()
        .getOrCreate()
    )


def register_functions(spark: SparkSession) -> None:
    """Functions the project's HiveQL calls, visible to every Thrift client (one shared session).

    ``adtarget_haystack(text, mode)``: the text normalised as the segment matcher sees it, so
    the audience-size queries of ``sql/segments`` match exactly as the daily extraction does.
    """
    from adtarget.matcher import haystack

    def _haystack(text: str | None, mode: str | None) -> str | None:
        return None if text is None or mode is None else haystack(text, mode)

    spark.udf.register("adtarget_haystack", _haystack, "string")


def main() -> None:
    parser = argparse.ArgumentParser(description="Spark Thrift server (HiveServer2 protocol).")
    parser.add_argument("--ui-port", type=int, default=4040, help="Spark UI port")
    args = parser.parse_args()
    spark = build_session(args.ui_port)
    register_functions(spark)
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("thrift-server: the Spark session has no JVM gateway")
    server_class = jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    server_class.startWithSparkSession(spark._jsparkSession, True)
    print("thrift-server: started", flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    spark.stop()


if __name__ == "__main__":
    main()
