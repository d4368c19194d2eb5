"""Checks that each engine answers a real query through its Airflow connection.

Used by the ``platform_health`` DAG; each function raises on failure, so the task fails,
retries and, in the end, alerts by mail. Provider hooks are imported inside the functions so
that importing this module (and parsing the DAG) stays cheap.
"""

from __future__ import annotations

import smtplib


class HealthCheckError(RuntimeError):
    """An engine answered, but not what a healthy one answers."""


def check_hive(conn_id: str = "hiveserver2_default") -> int:
    """Run ``SELECT 1`` over HiveServer2 (the Spark Thrift server); returns the row count."""
    from airflow.providers.apache.hive.hooks.hive import HiveServer2Hook

    rows = HiveServer2Hook(hiveserver2_conn_id=conn_id).get_records("SELECT 1")
    if list(map(tuple, rows)) != [(1,)]:
        raise HealthCheckError(f"{conn_id}: SELECT 1 returned {rows!r}")
    return len(rows)


def check_cassandra(conn_id: str = "cassandra_default") -> str:
    """Read ``release_version`` from ``system.local``; returns it."""
    from airflow.providers.apache.cassandra.hooks.cassandra import CassandraHook

    hook = CassandraHook(cassandra_conn_id=conn_id)
    try:
        row = hook.get_conn().execute("SELECT release_version FROM system.local").one()
    finally:
        hook.shutdown_cluster()
    if row is None or not row.release_version:
        raise HealthCheckError(f"{conn_id}: system.local has no release_version")
    return str(row.release_version)


def check_kafka(conn_id: str = "kafka_default") -> int:
    """Fetch cluster metadata; returns the number of brokers."""
    from airflow.providers.apache.kafka.hooks.client import KafkaAdminClientHook

    metadata = KafkaAdminClientHook(kafka_config_id=conn_id).get_conn.list_topics(timeout=10)
    if not metadata.brokers:
        raise HealthCheckError(f"{conn_id}: the cluster reports no broker")
    return len(metadata.brokers)


def check_smtp(conn_id: str = "smtp_default") -> int:
    """Say NOOP to the mail server; returns the reply code."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        client = hook._smtp_client  # the hook has no public NOOP; its client is the connection
        if not isinstance(client, smtplib.SMTP):
            raise HealthCheckError(f"{conn_id}: no SMTP session")
        code, _ = client.noop()
    if code != 250:
        raise HealthCheckError(f"{conn_id}: NOOP answered {code}")
    return int(code)
