"""The profile API (Starlette): ``create_app()`` builds it, the lifespan owns Cassandra.

    GET /v1/profiles/{adid}          everything known about one user, within the deadline
    GET /v1/profiles/by-bid/{bid}    the same, by browser id
    POST /v1/audiences/estimate      the instant audience estimate of a template's params
    GET /healthz  /readyz  /metrics  /openapi.json

An unknown user (every table answered, none holds a row) is a 404, so the ad server can tell
"nobody" from "not in time"; an answer that misses tables says ``partial: true`` and lists them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from adtarget.profiles.config import CassandraSettings
from adtarget.segments.sketch_cache import SketchCache
from serving import metrics
from serving.audiences import estimate_endpoint
from serving.guard import Guard
from serving.settings import ServingSettings
from serving.store import ProfileRead, ProfileStore, StoreUnavailable

#: Slower than this, the ad server has already counted the answer as a timeout.
AD_SERVER_TIMEOUT = 0.100
MAX_BID_LENGTH = 64
#: Time kept back from the deadline to build and send the answer (measured: 2-6 ms on the
#: 2-core bench machine), so the answer leaves by the deadline rather than a few ms after it.
RESPONSE_RESERVE = 0.005

schemas = SchemaGenerator({"openapi": "3.0.0", "info": {"title": "adtarget profile API", "version": "1"}})


class BadRequest(ValueError):
    """A request the API cannot serve; the message names the field and the value."""


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _deadline(request: Request, settings: ServingSettings) -> float:
    raw = request.query_params.get("deadline_ms")
    if raw is None:
        return settings.deadline_ms / 1000
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"deadline_ms: {raw[:40]!r} is not a number") from None
    if not settings.min_deadline_ms <= value <= settings.max_deadline_ms:
        raise BadRequest(
            f"deadline_ms: {value:g} is outside {settings.min_deadline_ms:g}..{settings.max_deadline_ms:g}"
        )
    return value / 1000


def _adid(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise BadRequest(f"adid: {raw[:64]!r} is not a UUID") from None


def _body(adid: str, read: ProfileRead, started: float) -> dict[str, Any]:
    memberships = read.parts.get("segment_memberships") or {}
    segments = sorted(int(s) for s in (memberships.get("segments") or {}))
    return {
        "adid": adid,
        "segments": segments,
        "profile": read.parts,
        "partial": read.partial,
        "missing": read.missing,
        "errors": read.errors,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
    }


async def _answer(request: Request, route: str, key: str, by_bid: bool) -> Response:
    started = getattr(request.state, "arrived", None) or time.perf_counter()
    settings: ServingSettings = request.app.state.settings
    store: ProfileStore = request.app.state.store
    status = 500
    try:
        deadline = max(_deadline(request, settings) - RESPONSE_RESERVE, 0.001)
        if by_bid:
            if not key or len(key) > MAX_BID_LENGTH or not key.isprintable():
                raise BadRequest(
                    f"bid: {key[:64]!r} is not a browser id (1-{MAX_BID_LENGTH} printable chars)"
                )
            found = await store.adid_for_bid(key, deadline)
            if found is None:
                status = 404
                return _error(404, f"bid: {key!r} is unknown")
            adid = found
        else:
            adid = _adid(key)
        remaining = max(deadline - (time.perf_counter() - started), 0.0)
        read = await store.read(adid, remaining)
        if read.partial:
            metrics.PARTIALS.inc()
        if not read.partial and not read.known:
            status = 404
            return _error(404, f"adid: {adid!r} is unknown", adid=adid)
        status = 200
        return JSONResponse(_body(adid, read, started))
    except BadRequest as exc:
        status = 400
        return _error(400, str(exc))
    except TimeoutError:  # the BID lookup itself did not come back in time
        status = 200
        return JSONResponse(
            {"bid": key, "segments": [], "profile": {}, "partial": True, "missing": ["ids_by_bid"]}
        )
    except StoreUnavailable as exc:
        status = 503
        return _error(503, f"profile store: unavailable ({exc})"[:300])
    finally:
        elapsed = time.perf_counter() - started
        metrics.LATENCY.labels(route).observe(elapsed)
        metrics.REQUESTS.labels(route, str(status)).inc()
        if elapsed > AD_SERVER_TIMEOUT:
            metrics.TIMEOUTS.inc()


async def profile(request: Request) -> Response:
    """
    summary: Everything known about one user, by ADID
    parameters:
      - {name: adid, in: path, required: true, schema: {type: string, format: uuid}}
      - {name: deadline_ms, in: query, required: false, schema: {type: number, minimum: 5, maximum: 95}}
    responses:
      200: {description: "the profile; partial: true lists the tables not answered in time"}
      400: {description: malformed ADID or deadline}
      401: {description: missing or wrong bearer token}
      404: {description: unknown user}
      429: {description: rate limit of the token}
      503: {description: overloaded or Cassandra unavailable}
    """
    return await _answer(request, "adid", request.path_params["adid"], by_bid=False)


async def profile_by_bid(request: Request) -> Response:
    """
    summary: Everything known about one user, by browser id
    parameters:
      - {name: bid, in: path, required: true, schema: {type: string, maxLength: 64}}
      - {name: deadline_ms, in: query, required: false, schema: {type: number, minimum: 5, maximum: 95}}
    responses:
      200: {description: the profile}
      400: {description: malformed BID or deadline}
      401: {description: missing or wrong bearer token}
      404: {description: unknown browser id or user}
      429: {description: rate limit of the token}
      503: {description: overloaded or Cassandra unavailable}
    """
    return await _answer(request, "bid", request.path_params["bid"], by_bid=True)


async def healthz(request: Request) -> Response:
    """
    summary: The process is alive
    responses:
      200: {description: alive}
    """
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """
    summary: Cassandra is reachable
    responses:
      200: {description: ready}
      503: {description: not connected to any Cassandra node}
    """
    ready = await request.app.state.store.ping()
    return JSONResponse({"ready": ready}, status_code=200 if ready else 503)


async def metrics_endpoint(request: Request) -> Response:
    """
    summary: Prometheus metrics
    responses:
      200: {description: text exposition format}
    """
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


async def openapi(request: Request) -> Response:
    # Starlette's OpenAPIResponse is YAML; clients of /openapi.json expect JSON.
    return JSONResponse(schemas.get_schema(routes=request.app.routes))


def create_app(
    settings: ServingSettings | None = None, cassandra: CassandraSettings | None = None
) -> Starlette:
    """The app; settings default to the environment (``SERVING_*``, ``ADTARGET_CASSANDRA_*``)."""
    settings = settings or ServingSettings()
    cassandra = cassandra or CassandraSettings()
    store = ProfileStore(
        cassandra,
        reconnect_interval=settings.reconnect_interval,
        on_table=metrics.observe_table,
        sequential=settings.fanout == "sequential",
        sketch_cache=(
            SketchCache(settings.estimate_cache_mb << 20, on_lookup=metrics.observe_estimate_cache)
            if settings.estimate_cache_mb
            else None
        ),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.start()
        try:
            yield
        finally:
            await store.close()

    app = Starlette(
        routes=[
            Route("/v1/profiles/by-bid/{bid}", profile_by_bid, methods=["GET"]),
            Route("/v1/profiles/{adid}", profile, methods=["GET"]),
            Route("/v1/audiences/estimate", estimate_endpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.add_middleware(
        Guard,
        tokens=[t.get_secret_value() for t in settings.tokens],
        rate=settings.rate_limit,
        max_inflight=settings.max_inflight,
        max_request_bytes=settings.max_request_bytes,
    )
    return app
