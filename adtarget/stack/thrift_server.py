"""The HiveServer2-compatible Thrift server, started from a PySpark session.

Started this way (rather than ``spark-submit --class HiveThriftServer2``) so that Python
functions registered in the session, such as the segment-matching UDTF, can be called from
HiveQL sent by pyhive, beeline or Airflow's HiveServer2Hook: ``adtarget_haystack`` and the
``match_segments`` and ``match_segments_table`` UDTFs with the registry's active segments
(followed as they change). Run by
the stack as ``python -m adtarget.stack.thrift_server``; configuration comes from
``SPARK_CONF_DIR``.
"""

from __future__ import annotations

import argparse
import signal
import threading

import psycopg
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


def follow_segments(spark: SparkSession, stopped: threading.Event, every: float = 10.0) -> None:
    """Keep ``match_segments`` and ``match_segments_table`` in step with the registry's active
    keyword segments (a thread).

    Data engineers call them from ad-hoc HiveQL; they are the matcher the daily extraction runs:
    ``SELECT key AS adid, segment_id FROM match_segments_table(TABLE(SELECT adid, query FROM
    adtarget.search_log WHERE dt = '2026-11-27'))``, or line by line, ``... LATERAL
    match_segments(l.query) m``. The registry is polled (a count and the newest change, cheap);
    the rules are rebuilt only when it changed.
    """
    import datetime as dt

    from adtarget import match_udtf
    from adtarget.extraction.plan import PlanError, build
    from adtarget.segments.registry import Registry
    from adtarget.segments.settings import SegmentSettings

    match_udtf.register(spark, [])  # callable (matching nothing) even before the registry answers
    url, seen = SegmentSettings().registry_url, None
    while not stopped.is_set():
        try:
            with Registry(url) as registry:
                stamp = registry.stamp()
                if stamp != seen:
                    today = dt.datetime.now(dt.UTC).date()
                    rules = build(today, registry.active(today), registry.get).text_rules
                    match_udtf.register(spark, rules)
                    seen = stamp
                    print(f"thrift-server: the matching UDTFs have {len(rules)} keyword segments", flush=True)
        except (OSError, PlanError, psycopg.Error) as exc:
            # The server keeps serving with the rules it has; the next poll tries again.
            print(f"thrift-server: segment rules not refreshed: {exc}", flush=True)
        stopped.wait(every)


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
    threading.Thread(target=follow_segments, args=(spark, stopped), name="segment-rules", daemon=True).start()
    stopped.wait()
    spark.stop()


if __name__ == "__main__":
    main()
