"""Each engine of the stack answers a real query."""

from __future__ import annotations

import ast
import asyncio
import os
import smtplib
import subprocess
import time
import uuid
from collections.abc import Callable
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import httpx
import pytest

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.airflow import ADMIN_USER, admin_password
from adtarget.stack.engines.spark import spark_env
from tests.mailbox import html_part, wait_for_mails

pytestmark = pytest.mark.integration


def test_postgres_has_the_airflow_and_metastore_databases(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    import psycopg2

    stack("postgres")
    with (
        psycopg2.connect(
            host=settings.host, port=settings.postgres_port, user="adtarget", dbname="postgres"
        ) as c,
        c.cursor() as cur,
    ):
        cur.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (["airflow", "metastore"],))
        assert sorted(r[0] for r in cur.fetchall()) == ["airflow", "metastore"]


def test_cassandra_answers_cql(stack: Callable[..., None], settings: StackSettings) -> None:
    from cassandra.cluster import Cluster

    stack("cassandra")
    cluster = Cluster([settings.host], port=settings.cassandra_port)
    try:
        row = cluster.connect().execute("SELECT release_version FROM system.local").one()
    finally:
        cluster.shutdown()
    assert row.release_version.startswith("5.0.")


def test_kafka_round_trip_with_an_idempotent_producer(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    stack("kafka")
    topic = f"test-roundtrip-{uuid.uuid4().hex[:8]}"
    sent = [f"event-{i}".encode() for i in range(100)]

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=True, acks="all"
        )
        await producer.start()
        try:
            for value in sent:
                await producer.send(topic, value, key=b"k")  # one key: one partition, order kept
            await producer.flush()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest", group_id=topic
        )
        await consumer.start()
        got: list[bytes] = []
        try:
            deadline = time.monotonic() + 30
            while len(got) < len(sent) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    got.extend(r.value for r in records if r.value is not None)
        finally:
            await consumer.stop()
        return got

    assert asyncio.run(run()) == sent


def test_hiveql_through_the_thrift_server_and_a_spark_submit_job_share_tables(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    from pyhive import hive

    stack("spark-thrift")
    table = f"default.test_shared_{uuid.uuid4().hex[:8]}"
    conn = hive.connect(host=settings.host, port=settings.hive_port, username="adtarget", auth="NONE")
    cur = conn.cursor()
    try:
        cur.execute(f"CREATE TABLE {table} (id INT, word STRING) STORED AS PARQUET")
        # The table name is ours (a uuid); identifiers cannot be bound in HiveQL.
        cur.execute(f"INSERT INTO {table} VALUES (1, '광고'), (2, 'ad')")  # noqa: S608
        cur.execute(f"SELECT id, word FROM {table} ORDER BY id")  # noqa: S608
        assert cur.fetchall() == [(1, "광고"), (2, "ad")]

        # Another Spark application, as Airflow's SparkSubmitOperator runs them, sees the table.
        env = dict(os.environ)
        env.update(spark_env(settings))
        job = Path(__file__).parent / "jobs" / "count_table.py"
        result = subprocess.run(
            [str(settings.venv_bin / "spark-submit"), "--master", "local[1]", str(job), table],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        line = next(ln for ln in result.stdout.splitlines() if ln.startswith("ROWS="))
        assert ast.literal_eval(line.removeprefix("ROWS=")) == [(1, "광고"), (2, "ad")]
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()


def test_airflow_rest_health_and_login(stack: Callable[..., None], settings: StackSettings) -> None:
    stack("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
    base = f"http://{settings.host}:{settings.airflow_port}"
    health = httpx.get(f"{base}/api/v2/monitor/health", timeout=10).json()
    for part in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[part]["status"] == "healthy", health

    bad = httpx.post(f"{base}/auth/token", json={"username": ADMIN_USER, "password": "wrong"}, timeout=10)
    assert bad.status_code == 401
    assert httpx.get(f"{base}/api/v2/dags", timeout=10).status_code == 401

    token = httpx.post(
        f"{base}/auth/token", json={"username": ADMIN_USER, "password": admin_password(settings)}, timeout=10
    ).json()["access_token"]
    conns = httpx.get(
        f"{base}/api/v2/connections", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    ids = {c["connection_id"] for c in conns["connections"]}
    assert {
        "spark_default",
        "hiveserver2_default",
        "cassandra_default",
        "kafka_default",
        "smtp_default",
    } <= ids


def test_smtp_sink_keeps_the_mail_with_its_html_part(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    stack("smtp")
    subject = f"adtarget test {uuid.uuid4().hex}"
    msg = MIMEMultipart("alternative")
    msg["Subject"] = subject
    msg["From"] = "report@adtarget.local"
    msg["To"] = "sales@adtarget.local"
    msg.attach(MIMEText("plain body", "plain"))
    msg.attach(MIMEText("<h1>세그먼트 report</h1>", "html", "utf-8"))
    with smtplib.SMTP(settings.host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)

    found = wait_for_mails(settings, 0, lambda m: m["Subject"] == subject, what="test mail", timeout=10)
    assert len(found) == 1
    assert "세그먼트 report" in html_part(found[0])
