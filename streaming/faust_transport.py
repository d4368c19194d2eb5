"""Faust's aiokafka transport with the consumer's fetch wait taken from settings.

Faust 0.15 creates its worker consumer with ``fetch_max_wait_ms=1500`` written into the call
(``AIOKafkaConsumerThread._create_worker_consumer``); no setting reaches it. aiokafka keeps one
fetch request in flight per broker, and a request for partitions that have nothing new is held by
the broker for that long, while partitions whose data came meanwhile wait behind it. Measured with
``bench/realtime_report.py`` at 10,000 events/s: records reached the agent 0.9-1.9 s after the
bridge produced them, and the worker took a backlog at 17 k events/s; with a 100 ms wait, 50-150 ms
and 29 k events/s.

:class:`ReportApp` is a ``faust.App`` whose consumer transport applies
:attr:`ReportApp.fetch_max_wait_ms`; everything else is Faust's own.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as driver


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by the consumer when it starts its fetcher; the worker consumer is not started yet.
        consumer._fetch_max_wait_ms = cast(ReportApp, self.app).fetch_max_wait_ms
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer = _Consumer


class ReportApp(faust.App):
    """A ``faust.App`` whose worker consumer waits at most ``fetch_max_wait_ms`` per fetch."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
