"""The API's front door, as plain ASGI middleware: size, auth, rate and load limits.

Each check answers at once with a small JSON error, before any Cassandra work, so a flood of
bad or excess requests costs little: over-long requests get 413, a missing or wrong bearer
token 401 (tokens compared in constant time), a token over its rate 429, and a worker already
serving ``max_inflight`` requests 503 with ``Retry-After``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from adtarget.profiles.throttle import RateLimiter

Message = dict[str, Any]


async def reject(send: Send, status: int, error: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": error}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TokenBuckets:
    """One non-blocking token bucket per bearer token."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._buckets: dict[str, RateLimiter] = {}

    def allow(self, token: str) -> bool:
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = RateLimiter(self._rate, burst=1.0, full=True)
        return bucket.try_acquire()


class Guard:
    """Wraps the app; only paths under ``protected`` need a token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: Sequence[str],
        rate: float,
        max_inflight: int,
        max_request_bytes: int,
        protected: str = "/v1/",
    ) -> None:
        self.app = app
        self._tokens = [t.encode() for t in tokens]
        self._buckets = TokenBuckets(rate)
        self._max_inflight = max_inflight
        self._max_bytes = max_request_bytes
        self._protected = protected
        self.inflight = 0

    def _token(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                if scheme.lower() != b"bearer" or not token:
                    return None
                # Compare with every configured token, each in constant time.
                matched = [hmac.compare_digest(token, t) for t in self._tokens]
                return token.decode("latin-1") if any(matched) else None
        return None

    def _too_big(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                return not value.isdigit() or int(value) > self._max_bytes
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The deadline runs from here, the request's arrival, not from when a handler starts.
        scope.setdefault("state", {})["arrived"] = time.perf_counter()
        if self._too_big(scope):
            await reject(send, 413, f"request: larger than {self._max_bytes} bytes")
            return
        if scope["path"].startswith(self._protected):
            token = self._token(scope)
            if token is None:
                await reject(
                    send,
                    401,
                    "authorization: a valid 'Bearer <token>' header is required",
                    [(b"www-authenticate", b"Bearer")],
                )
                return
            if not self._buckets.allow(token):
                await reject(send, 429, "rate: too many requests for this token", [(b"retry-after", b"1")])
                return
            if self.inflight >= self._max_inflight:
                await reject(
                    send, 503, f"load: {self.inflight} requests in progress", [(b"retry-after", b"1")]
                )
                return
        self.inflight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
