"""The benches' open-loop HTTP client (``bench/_client.py``): framing, keep-alive, failures.

The client is tried against a small asyncio server on loopback that answers as told, byte for
byte, so each framing and failure case is exact.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "_bench_client", Path(__file__).parents[2] / "bench" / "_client.py"
)
assert _spec is not None
assert _spec.loader is not None
client_module: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(client_module)

OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"a": true}'


def test_a_response_is_read_once_its_body_is_complete() -> None:
    parse = client_module.parse_response
    for cut in range(len(OK)):
        assert parse(OK[:cut]) is None
    response, used = parse(OK + b"HTTP/1.1 404")
    assert (response.status, response.body, used) == (200, b'{"a": true}', len(OK))


def test_header_names_are_case_insensitive_and_bodiless_statuses_need_no_length() -> None:
    parse = client_module.parse_response
    response, _ = parse(b"HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\n{}")
    assert (response.status, response.body) == (503, b"{}")
    empty = b"HTTP/1.1 204 No Content\r\nserver: x\r\n\r\n"
    response, used = parse(empty + b"HTTP/1.1")
    assert (response.status, response.body, used) == (204, b"", len(empty))


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n", "transfer-encoding: b'chunked'"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n", "content-length: b'ten'"),
        (b"HTTP/1.1 200 OK\r\nserver: x\r\n\r\n", "content-length: missing from a 200 response"),
        (b"SMTP 220 ready\r\n\r\n", "status line: b'SMTP 220 ready'"),
        (b"HTTP/1.1 200 OK\r\n" + b"x" * 70_000, "response head: no end within 65536 bytes"),
    ],
)
def test_a_response_it_cannot_frame_is_an_error_naming_the_header(raw: bytes, named: str) -> None:
    with pytest.raises(ValueError, match="^" + named.replace("(", r"\(").replace(")", r"\)")):
        client_module.parse_response(raw)


@asynccontextmanager
async def server(answer: Callable[[bytes], bytes | None]) -> AsyncIterator[tuple[str, list[int]]]:
    """A loopback server: each request (one read) gets ``answer(request)``, or nothing if None;
    yields its base URL and the number of requests per connection, in connection order."""
    per_connection: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        index = len(per_connection) - 1
        try:
            while request := await reader.readuntil(b"\r\n\r\n"):
                per_connection[index] += 1
                reply = answer(request)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", per_connection
    finally:
        srv.close()


def test_requests_reuse_their_connection_and_carry_the_headers() -> None:
    seen: list[bytes] = []

    def answer(request: bytes) -> bytes:
        seen.append(request)
        return OK

    async def run() -> list[Any]:
        async with server(answer) as (base, per_connection):
            client = client_module.Client(base, {"Authorization": "Bearer t"})
            try:
                got = [await client.get(f"/v1/x/{i}") for i in range(3)]
            finally:
                client.close()
            assert per_connection == [3]
            return got

    got = asyncio.run(run())
    assert [r.status for r in got] == [200, 200, 200]
    assert seen[2].startswith(b"GET /v1/x/2 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer t\r\n" in seen[2]


def test_concurrent_requests_open_connections_up_to_the_limit_then_queue() -> None:
    async def run() -> tuple[list[int], int]:
        pending: list[bytes] = []

        def answer(request: bytes) -> None:
            pending.append(request)

        async with server(answer) as (base, per_connection):
            client = client_module.Client(base, {}, limit=2)
            calls = [asyncio.create_task(client.get("/slow", timeout=0.3)) for _ in range(4)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            client.close()
            # Two connections, each answered nothing: both time out; the two queued requests
            # then get fresh connections (a timed-out connection is closed), and time out too.
            assert all(isinstance(r, TimeoutError) for r in results)
            return per_connection, len(pending)

    per_connection, pending = asyncio.run(run())
    assert per_connection == [1, 1, 1, 1]
    assert pending == 4


def test_a_connection_closed_by_the_server_fails_its_request_and_the_next_one_reconnects() -> None:
    answers = iter([None, OK])

    async def run() -> tuple[int, list[int]]:
        def answer(request: bytes) -> bytes | None:
            reply = next(answers)
            if reply is None:
                raise ConnectionResetError  # the handler closes the connection unanswered
            return reply

        async with server(answer) as (base, per_connection):
            client = client_module.Client(base, {})
            try:
                with pytest.raises(ConnectionError, match="connection lost"):
                    await client.get("/first")
                second = await client.get("/second")
            finally:
                client.close()
            return second.status, per_connection

    status, per_connection = asyncio.run(run())
    assert status == 200
    assert per_connection == [1, 1]


def test_the_pacer_does_not_return_before_its_time() -> None:
    async def run() -> list[float]:
        pacer = client_module.Pacer()
        try:
            early = []
            for _ in range(20):
                when = time.perf_counter() + 0.002
                await pacer.until(when)
                early.append(when - time.perf_counter())
            await pacer.until(time.perf_counter() - 1)  # a past time returns at once
            return early
        finally:
            pacer.close()

    assert max(asyncio.run(run())) <= 0
