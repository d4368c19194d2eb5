"""The benches' open-loop HTTP client: keep-alive HTTP/1.1 GETs, sent at precise times.

An open-loop benchmark measures each answer from the time its request was *scheduled*, so what
the client itself adds lands in every figure. Measured on the 2-core dev host against the profile
API (sessions 20-21): aiohttp's client spent ~0.4 ms per request, and pacing with
``asyncio.sleep`` woke 0.8-1.2 ms late at the median (the event loop waits in ``epoll`` with a
timeout rounded up to whole milliseconds), so ~1.5 ms of every "server" latency was the client's.
This client parses just what the benches read (status, ``Content-Length`` body), and
:class:`Pacer` wakes the loop through a ``timerfd`` (Linux), which fires to the microsecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import sys
import time
from collections import deque
from typing import NamedTuple
from urllib.parse import urlsplit

#: Bytes of a response head past which the server is taken to be misbehaving.
MAX_HEAD = 64 * 1024


class Response(NamedTuple):
    status: int
    body: bytes


def parse_response(buf: bytes | bytearray) -> tuple[Response, int] | None:
    """The first complete response in ``buf`` and the bytes it took, or None while incomplete.

    Only ``Content-Length`` framing is read (what uvicorn sends for every Starlette response);
    a chunked or unframed response raises ValueError naming the header."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise ValueError(f"response head: no end within {MAX_HEAD} bytes")
        return None
    lines = bytes(buf[:end]).split(b"\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError(f"status line: {lines[0][:80]!r} is not HTTP/1.x")
    status = int(parts[1])
    length: int | None = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise ValueError(f"content-length: {value.strip()[:40]!r} is not a byte count")
            length = int(value)
        elif name == b"transfer-encoding":
            raise ValueError(f"transfer-encoding: {value.strip()[:40]!r} is not supported")
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            length = 0
        else:
            raise ValueError(f"content-length: missing from a {status} response")
    start = end + 4
    if len(buf) < start + length:
        return None
    return Response(status, bytes(buf[start : start + length])), start + length


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def send(self, request: bytes, timeout: float) -> asyncio.Future[Response]:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._timer = loop.call_later(timeout, self._expire)
        self._transport.write(request)
        return waiter

    def _expire(self) -> None:
        self._fail(TimeoutError("no answer in time"))

    def _fail(self, exc: BaseException) -> None:
        if self._timer is not None:
            self._timer.cancel()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self._client._discard(self)
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            parsed = parse_response(self._buf)
        except ValueError as exc:
            self._fail(exc)
            return
        if parsed is None:
            return
        response, used = parsed
        del self._buf[:used]
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        self._client._release(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost ({exc or 'closed by the server'})"))


class Client:
    """GETs over a pool of up to ``limit`` keep-alive connections to ``base`` (``http://host:port``)."""

    def __init__(self, base: str, headers: dict[str, str], *, limit: int = 2_000) -> None:
        url = urlsplit(base)
        if url.scheme != "http" or url.hostname is None or url.port is None:
            raise ValueError(f"base: {base!r} is not http://host:port")
        self._host, self._port = url.hostname, url.port
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": url.netloc, **headers}.items())
        self._limit = limit
        self._open = 0
        self._idle: list[_Connection] = []
        self._queued: deque[asyncio.Future[_Connection | None]] = deque()
        self._all: set[_Connection] = set()

    async def get(self, path: str, *, timeout: float = 5.0) -> Response:
        """The answer to ``GET path``; TimeoutError past ``timeout`` s, ConnectionError if the
        connection fails (a new one is opened for the next request)."""
        conn = await self._acquire()
        return await conn.send(f"GET {path} HTTP/1.1\r\n{self._head}\r\n".encode(), timeout)

    async def _acquire(self) -> _Connection:
        if self._idle:
            return self._idle.pop()
        if self._open >= self._limit:
            waiter: asyncio.Future[_Connection | None] = asyncio.get_running_loop().create_future()
            self._queued.append(waiter)
            handed = await waiter
            if handed is not None:
                return handed
        self._open += 1
        try:
            _, conn = await asyncio.get_running_loop().create_connection(
                lambda: _Connection(self), self._host, self._port
            )
        except BaseException:
            self._open -= 1
            raise
        self._all.add(conn)
        return conn

    def _release(self, conn: _Connection) -> None:
        while self._queued:
            waiter = self._queued.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _discard(self, conn: _Connection) -> None:
        if conn in self._all:
            self._all.discard(conn)
            self._open -= 1
            if conn in self._idle:
                self._idle.remove(conn)
            while self._queued:  # a queued request may open a connection in its place
                waiter = self._queued.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    break

    def close(self) -> None:
        for conn in list(self._all):
            conn._fail(ConnectionError("client closed"))


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK, _TFD_CLOEXEC, _TFD_TIMER_ABSTIME = 0o4000, 0o2000000, 1


def _settle(fired: asyncio.Future[None]) -> None:
    if not fired.done():
        fired.set_result(None)


class Pacer:
    """``await pacer.until(t)`` returns at ``time.perf_counter() >= t``: through a ``timerfd`` on
    Linux (it fires on time; no millisecond rounding), through ``asyncio.sleep`` elsewhere."""

    def __init__(self) -> None:
        self._fd = -1
        self._libc: ctypes.CDLL | None = None
        clock = time.get_clock_info("perf_counter").implementation
        if sys.platform.startswith("linux") and "CLOCK_MONOTONIC" in clock and "RAW" not in clock:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
            if fd >= 0:
                self._fd, self._libc = fd, libc

    async def until(self, when: float) -> None:
        delay = when - time.perf_counter()
        if delay <= 0:
            return
        if self._libc is None:
            await asyncio.sleep(delay)
            return
        seconds, fraction = divmod(when, 1.0)
        spec = _Itimerspec(_Timespec(0, 0), _Timespec(int(seconds), int(fraction * 1e9)))
        if self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_settime: {os.strerror(err)}")
        loop = asyncio.get_running_loop()
        fired: asyncio.Future[None] = loop.create_future()
        loop.add_reader(self._fd, _settle, fired)
        try:
            await fired
        finally:
            loop.remove_reader(self._fd)
            with contextlib.suppress(BlockingIOError):  # cancelled before it fired
                os.read(self._fd, 8)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd, self._libc = -1, None
