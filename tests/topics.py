"""Reading a Kafka topic whole, for the streaming tests."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from streaming.settings import StreamingSettings


async def records(settings: StreamingSettings, topic: str) -> list[Any]:
    """Every record of ``topic``, from the beginning to its end now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        out: list[Any] = []
        while any([await consumer.position(tp) < end[tp] for tp in parts]):
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                out.extend(batch)
        return out
    finally:
        await consumer.stop()
