"""The report worker's Kafka consumer takes its fetch wait from the settings, not Faust's 1500 ms."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from streaming.faust_transport import ReportApp
from streaming.report_app import create_app
from streaming.settings import StreamingSettings


def _worker_fetch_wait(settings: StreamingSettings) -> tuple[object, int]:
    async def build() -> tuple[object, int]:
        app = create_app(settings, use_cassandra=False)
        # The consumer the worker starts with (built, never started: no broker is needed).
        consumer = cast(Any, app.consumer)._thread._create_worker_consumer(app.transport)
        try:
            return app, consumer._fetch_max_wait_ms
        finally:
            await consumer.stop()

    return asyncio.run(build())


def test_the_worker_consumer_waits_as_configured(tmp_path: Path) -> None:
    settings = StreamingSettings(fetch_max_wait_ms=77, report_datadir=str(tmp_path))
    app, wait_ms = _worker_fetch_wait(settings)
    assert isinstance(app, ReportApp)
    assert wait_ms == 77


def test_the_default_wait_is_short(tmp_path: Path) -> None:
    _, wait_ms = _worker_fetch_wait(StreamingSettings(report_datadir=str(tmp_path)))
    assert wait_ms == 100
