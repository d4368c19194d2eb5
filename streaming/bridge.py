"""The socket-to-Kafka bridge: newline-delimited JSON events in, Kafka records out, nothing lost.

The ad server connects over TCP and writes one event per line. Each line is checked
(:mod:`streaming.events`): a valid event goes to the events topic, to the partition of its
campaign, packed with other events of that partition into one record (:mod:`streaming.packer`); anything
else goes, as it came, to the dead-letter topic with the reason in its headers. The producer is
idempotent with ``acks=all``.

- **Backpressure, not loss**: at most ``max_in_flight`` lines per connection wait for Kafka;
  beyond that the bridge stops reading the socket, so the sender's TCP window fills and the
  sender slows down. Nothing is dropped.
- **Acknowledgements**: the bridge writes ``ack <n>`` lines back, ``n`` being how many lines of
  this connection Kafka has stored (valid or dead-lettered), in order. A sender that keeps the
  lines not yet acknowledged and sends them again after a reconnect (:class:`streaming.sender.EventSender`)
  loses nothing even if the bridge is killed; the report counts each ``event_id`` once.

Run: ``python -m streaming.bridge`` (``make up`` starts it). Metrics: ``/metrics`` on
``STREAMING_BRIDGE_METRICS_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from prometheus_client import Counter, Gauge, start_http_server

from streaming.events import EventError, parse
from streaming.packer import Packer
from streaming.settings import StreamingSettings

log = logging.getLogger("streaming.bridge")

RECEIVED = Counter("adtarget_bridge_lines_received_total", "lines read from ad-server sockets")
PRODUCED = Counter("adtarget_bridge_events_produced_total", "valid events stored by Kafka")
DEAD = Counter(
    "adtarget_bridge_lines_dead_lettered_total", "lines stored in the dead-letter topic", ["reason"]
)
IN_FLIGHT = Gauge("adtarget_bridge_lines_in_flight", "lines read but not yet stored by Kafka (the lag)")
CONNECTIONS = Gauge("adtarget_bridge_connections", "open ad-server connections")
FAILED = Counter(
    "adtarget_bridge_connections_failed_total", "connections closed because Kafka failed a write"
)

_ACK_BUFFER = 64 * 1024


def _count_when_stored(counter: Any) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is None:
            counter.inc()

    return done


async def ensure_topics(settings: StreamingSettings) -> None:
    """Create the streaming topics (events, dead letters, the compacted report) if they do not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        compact = {"cleanup.policy": "compact"}
        wanted = [
            NewTopic(name, settings.partitions, settings.replication_factor, topic_configs=configs)
            for name, configs in (
                (settings.events_topic, {}),
                (settings.dead_letter_topic, {}),
                (settings.report_topic, compact),
            )
            if name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another bridge won the race
                await admin.create_topics(wanted)
    finally:
        await admin.close()


def producer_for(settings: StreamingSettings) -> AIOKafkaProducer:
    """The bridge's producer: idempotent, every in-sync replica acknowledges each batch."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=settings.linger_ms,
        max_batch_size=settings.max_batch_bytes,
        client_id="adtarget-bridge",
    )


class Bridge:
    """Serves ad-server connections with one shared producer."""

    def __init__(self, settings: StreamingSettings, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.producer = producer
        self.server: asyncio.Server | None = None
        #: Bytes per socket read: a buffer holds many lines, and a line over the limit is seen
        #: to be one within a read or two.
        self._chunk = max(4096, min(64 * 1024, settings.max_line_bytes))
        self.packer = Packer(
            producer,
            settings.events_topic,
            linger=settings.linger_ms / 1000,
            max_events=settings.max_pack_events,
            max_bytes=settings.max_batch_bytes // 2,
            on_stored=PRODUCED.inc,
        )

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0)."""
        await self.packer.start()  # before the first connection: it needs the partitions
        self.server = await asyncio.start_server(
            self._serve, self.settings.bridge_host, self.settings.bridge_port
        )
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        """Stop accepting, then wait for what was read to be stored."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        await self.packer.close()
        await self.producer.flush()

    async def _produce(self, line: bytes) -> Awaitable[Any]:
        """Send one line to the right topic; returns the delivery future."""
        try:
            event = parse(line)
        except EventError as exc:
            label = "not_json" if not exc.field and exc.reason.startswith("not JSON") else "invalid"
            return await self._dead_letter(line, str(exc), exc.field, label)
        return self.packer.add(event.key, event.encode())

    async def _dead_letter(self, value: bytes, reason: str, field: str, label: str) -> Awaitable[Any]:
        """Send a line that is not an event, with why, to the dead-letter topic."""
        headers = [("reason", reason.encode()), ("field", field.encode())]
        future = await self.producer.send(self.settings.dead_letter_topic, value=value, headers=headers)
        future.add_done_callback(_count_when_stored(DEAD.labels(label)))
        return future  # type: ignore[no-any-return]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        CONNECTIONS.inc()
        # Lines are read a buffer at a time (not one read per line: that cost more than the rest).
        # Each run of lines that share a Kafka write goes to the acknowledger as one item.
        pending: asyncio.Queue[tuple[Awaitable[Any], int] | None] = asyncio.Queue()
        window = _Window(self.settings.max_in_flight)
        acker = asyncio.create_task(self._acknowledge(pending, writer, window))
        limit = self.settings.max_line_bytes
        tail = b""
        skipping = False  # inside a line over the limit, whose head went to the dead letters
        try:
            while not acker.done():
                # Bounded: when Kafka is slow, lines stay in flight, this loop stops reading and
                # TCP pushes back on the sender.
                await window.room()
                chunk = await reader.read(self._chunk)
                last = not chunk
                lines = (tail + chunk).split(b"\n")
                tail = b"" if last else lines.pop()
                if skipping and lines:
                    lines[0], skipping = b"", False  # the rest of the over-long line
                if len(tail) > limit and not skipping:
                    lines.append(_TooLong(tail[:limit]))
                    skipping = True
                if skipping:
                    tail = b""
                runs: list[list[Any]] = []
                for line in lines:
                    if isinstance(line, _TooLong) or len(line) > limit:
                        reason = f"line longer than {limit} bytes"
                        future = await self._dead_letter(bytes(line[:limit]), reason, "", "too_long")
                    else:
                        line = line.rstrip(b"\r")
                        if not line.strip():
                            continue
                        future = await self._produce(line)
                    if runs and runs[-1][0] is future:
                        runs[-1][1] += 1
                    else:
                        runs.append([future, 1])
                read = sum(n for _, n in runs)
                RECEIVED.inc(read)
                IN_FLIGHT.inc(read)
                window.take(read)
                for future, n in runs:
                    pending.put_nowait((future, n))
                if last:
                    break
        except (ConnectionError, OSError) as exc:
            log.info("connection %s: %s", peer, exc)
        finally:
            if not acker.done():
                pending.put_nowait(None)
            with contextlib.suppress(Exception):
                await acker
            CONNECTIONS.dec()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _acknowledge(
        self,
        pending: asyncio.Queue[tuple[Awaitable[Any], int] | None],
        writer: asyncio.StreamWriter,
        window: _Window,
    ) -> None:
        """Wait for each run of lines' write in order and tell the sender how many are stored."""
        stored = told = 0
        while True:
            item = await pending.get()
            if item is None:
                break
            future, n = item
            try:
                await future
            except Exception:
                # Kafka gave up on a write: close the connection; the sender resends what is unacknowledged.
                FAILED.inc()
                log.exception("a Kafka write failed; closing the connection")
                IN_FLIGHT.dec(window.in_flight)
                window.release(window.in_flight)
                writer.close()
                raise
            IN_FLIGHT.dec(n)
            window.release(n)
            stored += n
            # Acks are cumulative: when the sender does not read them, skip some rather than buffer.
            if pending.empty() or stored - told >= 100:
                transport = writer.transport
                if not transport.is_closing() and transport.get_write_buffer_size() < _ACK_BUFFER:
                    writer.write(b"ack %d\n" % stored)
                    told = stored


class _TooLong(bytes):
    """The head of a line over the limit (dead-lettered, cut)."""


class _Window:
    """Lines of one connection read but not stored yet, and a wait for room below the bound."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._room = asyncio.Event()
        self._room.set()

    def take(self, n: int) -> None:
        self.in_flight += n
        if self.in_flight >= self.limit:
            self._room.clear()

    def release(self, n: int) -> None:
        self.in_flight -= n
        if self.in_flight < self.limit:
            self._room.set()

    async def room(self) -> None:
        await self._room.wait()


async def run(settings: StreamingSettings) -> None:
    """Serve until SIGTERM or SIGINT, then store what was read and exit."""
    await ensure_topics(settings)
    producer = producer_for(settings)
    await producer.start()
    bridge = Bridge(settings, producer)
    port = await bridge.start()
    if settings.bridge_metrics_port:
        start_http_server(settings.bridge_metrics_port, addr=settings.bridge_host)
    log.info(
        "bridge: %s:%d -> %s (dead letters: %s)",
        settings.bridge_host,
        port,
        settings.events_topic,
        settings.dead_letter_topic,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    started = time.monotonic()
    await bridge.close()
    await producer.stop()
    log.info("bridge: stopped, in-flight lines stored in %.1f s", time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streaming.bridge", description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(run(StreamingSettings()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
