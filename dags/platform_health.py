"""Platform health: every engine answers a real query through its Airflow connection.

Runs hourly. Each task queries one engine (HiveServer2 ``SELECT 1``, Cassandra
``system.local``, Kafka metadata, SMTP ``NOOP``) through the connection the stack created;
a failure retries twice, then mails the on-call address through ``smtp_default``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from adtarget import health
from adtarget.alerts import failure_mail


@dag(
    dag_id="platform_health",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["platform", "health"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "execution_timeout": timedelta(minutes=2),
    },
    on_failure_callback=failure_mail("platform_health"),
)
def platform_health() -> None:
    @task
    def hiveserver2() -> int:
        return health.check_hive()

    @task
    def cassandra() -> str:
        return health.check_cassandra()

    @task
    def kafka() -> int:
        return health.check_kafka()

    @task
    def smtp() -> int:
        return health.check_smtp()

    hiveserver2()
    cassandra()
    kafka()
    smtp()


platform_health()
