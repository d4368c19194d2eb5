"""The socket-to-Kafka bridge on the real broker: routing, dead letters, backpressure, a kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import REGISTRY

from adtarget.stack.config import StackSettings
from adtarget.stack.engines.kafka import Kafka
from streaming.bridge import Bridge, ensure_topics, producer_for
from streaming.events import AdEvent
from streaming.sender import EventSender
from streaming.settings import StreamingSettings
from tests.topics import records

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _received() -> float:
    """Lines the bridge has read, from its Prometheus counter."""
    value = REGISTRY.get_sample_value("adtarget_bridge_lines_received_total")
    assert value is not None
    return value


def _event(i: int, **changes: Any) -> bytes:
    body = {
        "event_id": f"ev-{i}",
        "time": int(time.time() * 1000),
        "type": ("impression", "click", "conversion")[i % 3],
        "campaign_id": i % 7,
        "creative_id": i % 31,
        "banner_id": i % 5,
        "adid": str(uuid.UUID(int=i)),
        "cost": 0.25,
        **changes,
    }
    return json.dumps(body).encode()


@pytest.fixture
def streaming_settings(stack: Callable[..., None], settings: StackSettings) -> StreamingSettings:
    stack("kafka")
    run = uuid.uuid4().hex[:8]
    return StreamingSettings(
        kafka_bootstrap=settings.kafka_bootstrap,
        events_topic=f"test-events-{run}",
        dead_letter_topic=f"test-dead-{run}",
        partitions=2,
        bridge_port=0,
        bridge_metrics_port=0,
        max_line_bytes=1024,
    )


@pytest.fixture
async def served(streaming_settings: StreamingSettings) -> AsyncIterator[tuple[StreamingSettings, int]]:
    await ensure_topics(streaming_settings)
    producer = producer_for(streaming_settings)
    await producer.start()
    bridge = Bridge(streaming_settings, producer)
    port = await bridge.start()
    yield streaming_settings, port
    await bridge.close()
    await producer.stop()


async def test_valid_events_reach_the_topic_and_bad_lines_the_dead_letters(
    served: tuple[StreamingSettings, int],
) -> None:
    settings, port = served
    sender = EventSender("127.0.0.1", port)
    bad = [b"not json", _event(10_001, cost=-1), _event(10_002, type="view"), b'{"a": 1}', b"x" * 5000]
    for i in range(1000):
        await sender.send(_event(i))
        if i % 200 == 0:
            await sender.send(bad[i // 200])
    await sender.flush(timeout=60)
    await sender.close()
    assert sender.acked == 1005

    stored = await records(settings, settings.events_topic)
    events = [e for r in stored for e in AdEvent.decode_many(r.value)]
    assert sorted(e.event_id for e in events) == sorted(f"ev-{i}" for i in range(1000))
    partition_of: dict[int, set[int]] = {}
    for r in stored:  # packed per partition; a campaign's events all in one partition
        for e in AdEvent.decode_many(r.value):
            partition_of.setdefault(e.campaign_id, set()).add(r.partition)
    assert all(len(p) == 1 for p in partition_of.values()), partition_of
    assert len(stored) < len(events)
    dead = await records(settings, settings.dead_letter_topic)
    by_value = {r.value: dict(r.headers) for r in dead}
    assert set(by_value) == {*bad[:4], b"x" * 1024}
    assert by_value[bad[1]]["reason"] == b"field 'cost': -1 must be a finite number >= 0"
    assert by_value[bad[1]]["field"] == b"cost"
    assert by_value[b"x" * 1024]["reason"] == b"line longer than 1024 bytes"


async def test_a_stalled_broker_stops_the_reading_and_loses_nothing(
    streaming_settings: StreamingSettings, settings: StackSettings
) -> None:
    streaming_settings = streaming_settings.model_copy(update={"max_in_flight": 50})
    await ensure_topics(streaming_settings)
    producer = producer_for(streaming_settings)
    await producer.start()
    bridge = Bridge(streaming_settings, producer)
    port = await bridge.start()
    pid = Kafka(settings).pid_file.alive_pid()
    assert pid is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = 60_000  # ~12 MB: more than the socket buffers hold
    payload = b"\n".join(_event(i, event_id=f"bp-{i}") for i in range(lines)) + b"\n"
    received_before = _received()
    os.kill(pid, signal.SIGSTOP)
    try:
        writer.write(payload)
        with pytest.raises(TimeoutError):  # the bridge stopped reading: our writes cannot drain
            await asyncio.wait_for(writer.drain(), timeout=3)
        read = _received() - received_before
        # At most the in-flight bound plus what one read buffer (4 KiB, ~20 lines) holds was read.
        print(f"read while the broker was stopped: {read} lines")
        assert read <= 50 + 25, read
    finally:
        os.kill(pid, signal.SIGCONT)
    await asyncio.wait_for(writer.drain(), timeout=120)
    acked = 0
    while acked < lines:
        line = await asyncio.wait_for(reader.readline(), timeout=120)
        assert line.startswith(b"ack "), line
        acked = int(line[4:])
    writer.close()
    await bridge.close()
    await producer.stop()
    ids = [
        e.event_id
        for r in await records(streaming_settings, streaming_settings.events_topic)
        for e in AdEvent.decode_many(r.value)
    ]
    assert sorted(ids) == sorted(f"bp-{i}" for i in range(lines))


def _bridge_process(settings: StreamingSettings, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        {
            "STREAMING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "STREAMING_EVENTS_TOPIC": settings.events_topic,
            "STREAMING_DEAD_LETTER_TOPIC": settings.dead_letter_topic,
            "STREAMING_PARTITIONS": str(settings.partitions),
            "STREAMING_BRIDGE_PORT": str(port),
            "STREAMING_BRIDGE_METRICS_PORT": "0",
        }
    )
    return subprocess.Popen([sys.executable, "-m", "streaming.bridge"], env=env)


async def test_kill_9_of_the_bridge_loses_no_acknowledged_or_unacknowledged_event(
    streaming_settings: StreamingSettings,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _bridge_process(streaming_settings, port)
    sender = EventSender("127.0.0.1", port, max_unacked=2_000)
    total = 20_000
    try:
        for i in range(total):
            await sender.send(_event(i, event_id=f"k-{i}"))
            if i == total // 2:
                # Killed while lines are on their way: some read and not stored, some in sockets.
                unacked_at_kill = sender.unacked
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
                proc = _bridge_process(streaming_settings, port)
        await sender.flush(timeout=120)
    finally:
        await sender.close()
        proc.terminate()
        proc.wait(timeout=30)
    assert sender.reconnects >= 1
    ids = [
        e.event_id
        for r in await records(streaming_settings, streaming_settings.events_topic)
        for e in AdEvent.decode_many(r.value)
    ]
    print(
        f"reconnects {sender.reconnects}, {unacked_at_kill} unacknowledged at the kill,"
        f" stored {len(ids)} events for {total} sent"
    )
    assert unacked_at_kill > 0
    assert set(ids) == {f"k-{i}" for i in range(total)}  # nothing lost
    assert len(ids) - total <= 2_000  # resent at most what was unacknowledged at the kill


async def test_the_bridge_of_make_up_stores_events_in_ad_events(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    stack("bridge")
    defaults = StreamingSettings(kafka_bootstrap=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(defaults.events_topic, p) for p in range(defaults.partitions)]
        consumer.assign(parts)
        for tp, offset in (await consumer.end_offsets(parts)).items():
            consumer.seek(tp, offset)
        mark = f"stack-{uuid.uuid4()}"
        sender = EventSender(settings.host, settings.bridge_port)
        await sender.send(_event(1, event_id=mark))
        await sender.flush(timeout=30)
        await sender.close()
        deadline = time.monotonic() + 30
        found: list[str] = []
        while mark not in found:
            assert time.monotonic() < deadline, "the event never reached ad-events"
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found += [e.event_id for r in records for e in AdEvent.decode_many(r.value)]
    finally:
        await consumer.stop()
