"""The benchmark's ceiling: the realtime report as a plain aiokafka consumer, no Faust.

The same arithmetic (:class:`streaming.report.Report`), the same outputs (rows upserted to
the report topic every ``flush_interval``, Cassandra every ``store_interval``), offsets committed
after each flush, but no changelog tables: the state lives only in this process. Settings as the
worker's (``STREAMING_*``, ``ADTARGET_CASSANDRA_*``); run as ``python bench/_report_peer.py``.
"""

from __future__ import annotations

import asyncio
import json
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streaming.events import AdEvent
from streaming.packer import position
from streaming.report import Report, Totals, WindowKey
from streaming.report_store import ReportStore, row_json
from streaming.settings import StreamingSettings


async def run(s: StreamingSettings) -> None:
    consumer = AIOKafkaConsumer(
        s.events_topic,
        bootstrap_servers=s.kafka_bootstrap,
        group_id=s.report_app_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=s.batch_size,
        fetch_max_wait_ms=s.fetch_max_wait_ms,  # as the worker's (aiokafka's own: 500)
    )
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=5)
    store = ReportStore()
    await store.connected()
    await consumer.start()
    await producer.start()
    report = Report(
        allowed_lateness_ms=s.allowed_lateness_ms,
        dedup_horizon_ms=s.dedup_horizon_ms,
        retention_ms=s.retention_ms,
    )
    dirty: dict[WindowKey, Totals] = {}
    dirty_store: dict[WindowKey, Totals] = {}
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    loop = asyncio.get_running_loop()
    next_flush = loop.time() + s.flush_interval
    next_store = loop.time()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=int(s.batch_wait * 1000), max_records=s.batch_size)
            for tp, records in batches.items():
                for record in records:
                    for index, event in enumerate(AdEvent.decode_many(record.value or b"")):
                        report.add(event, position(record.offset, index), tp.partition)
                part = report.partitions[tp.partition]
                part.expire()
                for key, totals in part.take_changes().rows.items():
                    if totals is not None:
                        dirty[key] = totals
            if loop.time() >= next_flush and dirty:
                rows, dirty = dirty, {}
                dirty_store.update(rows)
                if loop.time() >= next_store:  # as the worker: Cassandra every store_interval
                    await store.upsert(dirty_store)
                    dirty_store = {}
                    next_store = loop.time() + s.store_interval
                for key, totals in rows.items():
                    body = row_json(key, totals) | {"partition": totals.partition, "position": totals.offset}
                    await producer.send(
                        s.report_topic,
                        json.dumps(body).encode(),
                        key=key.encode().encode(),
                        partition=totals.partition,
                    )
                await producer.flush()
                await consumer.commit()
                next_flush = loop.time() + s.flush_interval
    finally:
        await consumer.stop()
        await producer.stop()
        store.close()


if __name__ == "__main__":
    asyncio.run(run(StreamingSettings()))
