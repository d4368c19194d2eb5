"""Spark from the pyspark package: the HiveServer2-compatible Thrift server on a shared metastore.

The metastore lives in PostgreSQL, so the Thrift server and any number of ``spark-submit`` jobs
(Airflow's SparkSubmitOperator, tests) see the same tables at once. The server and Airflow's
operator read the ``SPARK_CONF_DIR`` written here (``spark-defaults.conf`` + ``hive-site.xml``);
:mod:`adtarget.spark_submit`'s jobs read the same settings from one properties file, so that no
folder of files is on their class path (see :func:`job_conf_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from adtarget.stack import maven, process
from adtarget.stack.config import StackSettings
from adtarget.stack.engine import Engine, Launch
from adtarget.stack.engines.postgres import ROLE


def spark_env(settings: StackSettings) -> dict[str, str]:
    """Environment for anything that starts Spark: the Thrift server, spark-submit, tests."""
    java = settings.java()
    return {
        "SPARK_CONF_DIR": str(settings.spark_conf_dir),
        # Workers import pyarrow and our code: they must run the project's venv.
        "PYSPARK_PYTHON": str(settings.venv_bin / "python"),
        "PYSPARK_DRIVER_PYTHON": str(settings.venv_bin / "python"),
        # Else Spark binds whatever address the hostname resolves to.
        "SPARK_LOCAL_IP": settings.host,
        "JAVA_HOME": str(java.parent.parent),
    }


def spark_job_env(settings: StackSettings) -> dict[str, str]:
    """Environment for ``spark-submit`` of a job, ours or Airflow's: :func:`spark_env`, and the
    job JVM options as ``SPARK_SUBMIT_OPTS``, which spark-submit puts on the driver's command
    line (not on the Thrift server's: a long-running server wants the full JIT)."""
    env = spark_env(settings)
    if java_options := settings.spark_submit_java_options.strip():
        env["SPARK_SUBMIT_OPTS"] = java_options
    return env


def job_conf_dir(settings: StackSettings) -> Path:
    """``SPARK_CONF_DIR`` of :mod:`adtarget.spark_submit`'s jobs: an empty folder. Spark puts that
    folder on the driver's class path, and the JDK shares archived classes
    (:mod:`adtarget.class_archive`) only with no non-empty folder on it."""
    return settings.conf_dir / "spark-job-empty"


def job_properties_file(settings: StackSettings) -> Path:
    """The jobs' ``--properties-file``: ``spark-defaults.conf`` and ``hive-site.xml`` in one,
    the metastore settings as ``spark.hadoop.*``."""
    return settings.conf_dir / "spark-job.conf"


def log4j_file(settings: StackSettings) -> Path:
    return settings.spark_conf_dir / "log4j2.properties"


def write_spark_conf(settings: StackSettings) -> Path:
    """Write ``spark-defaults.conf``, ``hive-site.xml`` and the jobs' properties file from the
    same settings; returns the conf folder."""
    jdbc = maven.classpath(
        settings, "postgres-jdbc", [f"org.postgresql:postgresql:{settings.postgres_jdbc_version}"]
    )
    conf = settings.spark_conf_dir
    conf.mkdir(parents=True, exist_ok=True)
    tmp = settings.var_dir / "tmp"
    for sub in ("spark", "hive-scratch", "hive-local", "hive-resources", "hive-operation-logs"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    defaults = _spark_defaults(settings, ":".join(str(j) for j in jdbc))
    hive = _hive_site(settings)
    (conf / "spark-defaults.conf").write_text(_properties(defaults))
    props = "\n".join(
        f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>" for k, v in hive.items()
    )
    (conf / "hive-site.xml").write_text(
        f'<?xml version="1.0"?>\n<configuration>\n{props}\n</configuration>\n'
    )
    log4j_file(settings).write_text(_LOG4J2)
    job_conf_dir(settings).mkdir(exist_ok=True)
    _write_if_changed(
        job_properties_file(settings),
        _properties({**defaults, **{f"spark.hadoop.{k}": v for k, v in hive.items()}}),
    )
    return conf


def _properties(values: dict[str, str]) -> str:
    return "".join(f"{k} {v}\n" for k, v in values.items())


def _write_if_changed(path: Path, text: str) -> None:
    """Rewritten only when it changes, through a rename: jobs starting at the same time read it."""
    if path.is_file() and path.read_text() == text:
        return
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_text(text)
    part.replace(path)


def _spark_defaults(settings: StackSettings, jars: str) -> dict[str, str]:
    tmp = settings.var_dir / "tmp"
    return {
        "spark.master": settings.spark_master,
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.driver.extraClassPath": jars,
        "spark.executor.extraClassPath": jars,
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": settings.warehouse_dir.as_uri(),
        "spark.local.dir": str(tmp / "spark"),
        "spark.ui.showConsoleProgress": "false",
        # One session for every Thrift client, so functions registered at start are visible.
        "spark.sql.hive.thriftServer.singleSession": "true",
        # Tables are rewritten by other applications (spark-submit jobs); a long-lived session
        # such as the Thrift server must not read a partition's old file list from its caches.
        "spark.sql.metadataCacheTTLSeconds": "2",
        # A filter on an int partition column (attribute_window_sketch's span) becomes SQL that
        # casts partition values to numbers; PostgreSQL may apply the cast to other tables'
        # partitions (segment_signal's pass ids are strings) and fail the query. Spark then
        # lists the table's partitions and filters them itself, instead of failing the job.
        "spark.sql.hive.metastorePartitionPruningFallbackOnException": "true",
    }


def _hive_site(settings: StackSettings) -> dict[str, str]:
    tmp = settings.var_dir / "tmp"
    return {
        "javax.jdo.option.ConnectionURL": settings.metastore_jdbc_url,
        "javax.jdo.option.ConnectionDriverName": "org.postgresql.Driver",
        "javax.jdo.option.ConnectionUserName": ROLE,
        "javax.jdo.option.ConnectionPassword": ROLE,
        # The first client creates the metastore schema in PostgreSQL; later ones reuse it.
        # (autoCreateAll would switch foreign keys on too; see below.)
        "datanucleus.schema.autoCreateTables": "true",
        "datanucleus.schema.autoCreateColumns": "true",
        "hive.metastore.schema.verification": "false",
        # DataNucleus creates metastore tables lazily; adding a foreign key to TBLS while
        # another connection of the same client holds a row lock there makes the first
        # CREATE TABLE wait forever. Hive's ObjectStore deletes dependent rows itself.
        "datanucleus.schema.autoCreateConstraints": "false",
        "hive.metastore.warehouse.dir": settings.warehouse_dir.as_uri(),
        "hive.exec.scratchdir": str(tmp / "hive-scratch"),
        "hive.exec.local.scratchdir": str(tmp / "hive-local"),
        "hive.downloaded.resources.dir": str(tmp / "hive-resources"),
        "hive.server2.logging.operation.log.location": str(tmp / "hive-operation-logs"),
        "hive.server2.thrift.bind.host": settings.host,
        "hive.server2.thrift.port": str(settings.hive_port),
        "hive.server2.enable.doAs": "false",
    }


_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.thriftserver.name = org.apache.spark.sql.hive.thriftserver
logger.thriftserver.level = info
logger.hive.name = org.apache.hive.service
logger.hive.level = info
# The metastore logs a stack trace at ERROR for every exception it throws, even the one behind
# CREATE DATABASE IF NOT EXISTS that Spark expects and drops; real ones reach Spark's own error.
logger.hms.name = org.apache.hadoop.hive.metastore.RetryingHMSHandler
logger.hms.level = off
"""


class SparkThrift(Engine):
    """The Spark Thrift server (HiveServer2 protocol) on ``hive_port``, in a PySpark session."""

    name = "spark-thrift"
    requires = ("postgres",)

    def ports(self) -> list[int]:
        return [self.settings.hive_port, self.settings.spark_ui_port]

    def endpoint(self) -> str:
        s = self.settings
        return f"hive2://{s.host}:{s.hive_port}/default, Spark UI http://{s.host}:{s.spark_ui_port}"

    def prepare(self) -> None:
        write_spark_conf(self.settings)

    def launch(self) -> Launch:
        s = self.settings
        return Launch(
            argv=[
                s.venv_bin / "python",
                "-m",
                "adtarget.stack.thrift_server",
                "--ui-port",
                str(s.spark_ui_port),
            ],
            env=spark_env(s),
            cwd=s.var_dir / "tmp",
        )

    def healthy(self) -> bool:
        from pyhive import hive

        if not process.port_open(self.settings.host, self.settings.hive_port):
            return False
        conn = hive.connect(host=self.settings.host, port=self.settings.hive_port, username=ROLE, auth="NONE")
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            return bool(cur.fetchall() == [(1,)])
        finally:
            conn.close()
