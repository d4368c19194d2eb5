"""The API's front door on its own: size, auth, rate and in-flight limits, before any app work."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from serving.guard import Guard
from serving.settings import ServingSettings


class Inner:
    """The app behind the guard: answers 200, or waits on an event to hold a request in flight."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.hold = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        if self.hold:
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _client(guard: Guard) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guard), base_url="http://api")


def _guard(inner: Inner, **kw: Any) -> Guard:
    options: dict[str, Any] = {
        "tokens": ["t1", "t2"],
        "rate": 1000.0,
        "max_inflight": 10,
        "max_request_bytes": 100,
    }
    options.update(kw)
    return Guard(inner, **options)


def test_tokens_are_required_only_under_v1() -> None:
    inner = Inner()

    async def run() -> list[int]:
        async with _client(_guard(inner)) as c:
            return [
                (await c.get("/v1/x")).status_code,
                (await c.get("/v1/x", headers={"Authorization": "Bearer nope"})).status_code,
                (await c.get("/v1/x", headers={"Authorization": "Basic t1"})).status_code,
                (await c.get("/v1/x", headers={"Authorization": "Bearer t2"})).status_code,
                (await c.get("/healthz")).status_code,
            ]

    assert asyncio.run(run()) == [401, 401, 401, 200, 200]
    assert inner.calls == 2


def test_a_token_over_its_rate_gets_429_and_others_are_not_affected() -> None:
    inner = Inner()

    async def run() -> tuple[list[int], int]:
        async with _client(_guard(inner, rate=5.0)) as c:
            t1 = [
                (await c.get("/v1/x", headers={"Authorization": "Bearer t1"})).status_code for _ in range(8)
            ]
            t2 = (await c.get("/v1/x", headers={"Authorization": "Bearer t2"})).status_code
            return t1, t2

    t1, t2 = asyncio.run(run())
    assert t1 == [200] * 5 + [429] * 3
    assert t2 == 200


def test_beyond_max_inflight_the_answer_is_a_fast_503() -> None:
    inner = Inner()
    inner.hold = True
    guard = _guard(inner, max_inflight=2)

    async def run() -> list[int]:
        async with _client(guard) as c:
            auth = {"Authorization": "Bearer t1"}
            held = [asyncio.create_task(c.get("/v1/x", headers=auth)) for _ in range(2)]
            while guard.inflight < 2:
                await asyncio.sleep(0.001)
            refused = (await c.get("/v1/x", headers=auth)).status_code
            inner.release.set()
            return [refused, *[(await t).status_code for t in held]]

    assert asyncio.run(run()) == [503, 200, 200]


def test_an_oversized_request_is_refused_before_the_app() -> None:
    inner = Inner()

    async def run() -> int:
        async with _client(_guard(inner)) as c:
            resp = await c.post("/v1/x", content=b"x" * 101, headers={"Authorization": "Bearer t1"})
            return resp.status_code

    assert asyncio.run(run()) == 413
    assert inner.calls == 0


def test_settings_keep_the_deadline_under_100_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVING_TOKENS", "s3cret-one, s3cret-two")
    settings = ServingSettings()
    assert [t.get_secret_value() for t in settings.tokens] == ["s3cret-one", "s3cret-two"]
    assert "s3cret" not in repr(settings)
    with pytest.raises(ValidationError, match="max_deadline_ms"):
        ServingSettings(max_deadline_ms=120)
