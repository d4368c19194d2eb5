"""The sending side of the bridge's protocol, for the ad server (and the tests and benchmarks).

:class:`EventSender` writes lines to the bridge and keeps each one until the bridge acknowledges
that Kafka stored it (``ack <n>``). When the connection breaks (the bridge restarts, the network
fails), it reconnects and sends the unacknowledged lines again, so no line is lost; the report
counts a resent event once, by its ``event_id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

log = logging.getLogger("streaming.sender")


class EventSender:
    """One connection to the bridge, re-established as needed; lines are kept until acknowledged."""

    def __init__(self, host: str, port: int, *, max_unacked: int = 100_000, retry_delay: float = 0.2) -> None:
        self.host = host
        self.port = port
        self.max_unacked = max_unacked
        self.retry_delay = retry_delay
        self._unacked: deque[bytes] = deque()
        self._acked_here = 0  # lines acknowledged on the current connection
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self.reconnects = 0
        self.acked = 0

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    async def _connect(self) -> asyncio.StreamWriter:
        while True:
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                break
            except OSError as exc:
                log.info("bridge %s:%d not reachable (%s); retrying", self.host, self.port, exc)
                await asyncio.sleep(self.retry_delay)
        self._acked_here = 0
        self._reader_task = asyncio.create_task(self._read_acks(reader))
        # What was sent on a broken connection and never acknowledged goes again, first, in order.
        for line in self._unacked:
            writer.write(line)
        await writer.drain()
        self._writer = writer
        return writer

    async def _read_acks(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            if not line.startswith(b"ack "):
                continue
            total = int(line[4:])
            for _ in range(total - self._acked_here):
                self._unacked.popleft()
            self.acked += total - self._acked_here
            self._acked_here = total
            if len(self._unacked) < self.max_unacked:
                self._room.set()
            if not self._unacked:
                self._drained.set()

    async def _reset(self) -> None:
        if self._writer is not None:
            self.reconnects += 1
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(BaseException):
                await self._reader_task
        self._writer = None

    async def send(self, line: bytes) -> None:
        """Send one line (a newline is added); waits while too many lines are unacknowledged."""
        while len(self._unacked) >= self.max_unacked:
            self._room.clear()
            await self._wait_or_reconnect(self._room)
        data = line if line.endswith(b"\n") else line + b"\n"
        self._unacked.append(data)
        self._drained.clear()
        writer = self._writer
        if writer is None or writer.transport.is_closing() or self._connection_lost():
            await self._reset()
            await self._connect()  # writes every unacknowledged line, this one included
            return
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, OSError):
            await self._reset()
            await self._connect()

    def _connection_lost(self) -> bool:
        return self._reader_task is not None and self._reader_task.done()

    async def _wait_or_reconnect(self, event: asyncio.Event, timeout: float = 1.0) -> None:
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            if self._connection_lost():
                # The bridge closed the connection: reconnect and resend.
                await self._reset()
                await self._connect()

    async def flush(self, timeout: float = 60.0) -> None:
        """Wait until every line sent is acknowledged; raises TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._unacked:
            if loop.time() > deadline:
                raise TimeoutError(f"{len(self._unacked)} line(s) still unacknowledged after {timeout:.0f} s")
            await self._wait_or_reconnect(self._drained)

    async def close(self) -> None:
        await self._reset()
