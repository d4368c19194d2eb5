"""Events packed into records per partition: fewer, larger Kafka records for the same events.

Each event goes to the partition its key (the campaign) hashes to, exactly as Kafka's default
partitioner would send a record with that key (murmur2), so a campaign always lands in the same
partition. A record holds the events of one partition that arrived within ``linger``, one
canonical JSON object per line (:meth:`streaming.events.AdEvent.decode_many` reads it back);
records carry no key. Per-record costs (the
producer's, the broker's, and above all a stream processor's, which pays its framework's
overhead per record) are shared by the events of a pack. A pack is sent when it holds
``max_events`` events or ``max_bytes`` bytes, or ``linger`` seconds after its first event, so
at low rates a record holds one event and waits at most ``linger``.

An event's position in the topic is ``offset * PACK_SLOTS + index in the record``: an order
that consumers can use as they would use offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

#: Events per record at most; positions are offset * PACK_SLOTS + index.
PACK_SLOTS = 4096


def position(offset: int, index: int) -> int:
    """The position of the ``index``-th event of the record at ``offset``."""
    return offset * PACK_SLOTS + index


@dataclass
class _Pack:
    partition: int
    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    stored: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    timer: asyncio.TimerHandle | None = None


class Packer:
    """Packs events per key and sends the packs, in the order they were closed, to ``topic``."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        linger: float = 0.005,
        max_events: int = 500,
        max_bytes: int = 256 * 1024,
        on_stored: Callable[[int], None] | None = None,
    ) -> None:
        if not 1 <= max_events <= PACK_SLOTS:
            raise ValueError(f"max_events: {max_events} must be between 1 and {PACK_SLOTS}")
        self.producer = producer
        self.topic = topic
        self.linger = linger
        self.max_events = max_events
        self.max_bytes = max_bytes
        self.on_stored = on_stored  # called with a pack's event count once Kafka stored it
        self._open: dict[int, _Pack] = {}
        self._partitions: list[int] = []
        self._partition_of: dict[bytes, int] = {}
        self._closed: asyncio.Queue[_Pack] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._unstored: set[asyncio.Future[Any]] = set()

    async def start(self) -> None:
        """Learn the topic's partitions (it must exist)."""
        self._partitions = sorted(await self.producer.partitions_for(self.topic))
        self._partition_of.clear()

    def partition(self, key: bytes) -> int:
        """The partition of ``key``: Kafka's default partitioner's choice."""
        number = self._partition_of.get(key)
        if number is None:
            number = self._partition_of[key] = DefaultPartitioner()(key, self._partitions, self._partitions)
        return number

    def add(self, key: bytes, line: bytes) -> asyncio.Future[Any]:
        """Put one event in its partition's pack; the future is done when Kafka has stored the pack."""
        if not self._partitions:
            raise RuntimeError("Packer.start() was not awaited")
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_closed())
        number = self.partition(key)
        pack = self._open.get(number)
        if pack is None:
            pack = self._open[number] = _Pack(number)
            self._unstored.add(pack.stored)
            pack.stored.add_done_callback(self._unstored.discard)
            pack.timer = asyncio.get_running_loop().call_later(self.linger, self._close, number)
        pack.lines.append(line)
        pack.size += len(line) + 1
        stored: asyncio.Future[Any] = pack.stored
        if len(pack.lines) >= self.max_events or pack.size >= self.max_bytes:
            self._close(number)
        return stored

    def _close(self, key: int) -> None:
        pack = self._open.pop(key, None)
        if pack is None:
            return
        if pack.timer is not None:
            pack.timer.cancel()
        self._closed.put_nowait(pack)

    async def _send_closed(self) -> None:
        while True:
            pack = await self._closed.get()
            try:
                # Waits when the producer's buffer is full: the backpressure reaches the readers
                # through their bounded queues of unstored lines.
                delivery = await self.producer.send(
                    self.topic, value=b"\n".join(pack.lines), partition=pack.partition
                )
            except Exception as exc:  # the send was refused outright: fail the pack's lines
                _settle(pack.stored, None, exc)
                continue
            delivery.add_done_callback(lambda d, p=pack: self._delivered(p, d))

    def _delivered(self, pack: _Pack, delivery: asyncio.Future[Any]) -> None:
        _settle_from(pack.stored, delivery)
        if self.on_stored is not None and pack.stored.exception() is None:
            self.on_stored(len(pack.lines))

    async def flush(self) -> None:
        """Close every open pack and wait until all packs are stored (or failed)."""
        for key in list(self._open):
            self._close(key)
        await asyncio.gather(*self._unstored, return_exceptions=True)

    async def close(self) -> None:
        await self.flush()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
        future.exception()  # marked as retrieved: every line of the pack awaits it, or none does
    else:
        future.set_result(result)


def _settle_from(future: asyncio.Future[Any], delivery: asyncio.Future[Any]) -> None:
    if delivery.cancelled():
        _settle(future, None, asyncio.CancelledError())
    elif delivery.exception() is not None:
        _settle(future, None, delivery.exception())
    else:
        _settle(future, delivery.result(), None)
