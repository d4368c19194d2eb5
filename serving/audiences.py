"""``POST /v1/audiences/estimate``: the instant audience estimate for a booking tool.

The body names a template and its params, as the audience DAGs take them:
``{"template": "search_any", "params": {"keywords": ["nike"], "days": 7}}``. The answer is the
estimate with its bounds and how it relates to the exact audience (see
:mod:`adtarget.segments.estimate`); a bad param is a 400 naming the field and the value.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import closing
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adtarget.segments.estimate import estimate
from adtarget.segments.params import ParamError, validate
from adtarget.segments.registry import Registry
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.templates import TEMPLATES
from serving import metrics
from serving.store import ProfileStore, StoreUnavailable


class _BadBody(ValueError):
    pass


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    """The JSON object of the body, read up to ``limit`` bytes (chunked bodies included)."""
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise _BadBody(f"body: larger than {limit} bytes")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _BadBody(f"body: not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise _BadBody("body: must be a JSON object with 'template' and 'params'")
    return body


def _estimate(store: ProfileStore, template_id: str, params: dict[str, Any]) -> dict[str, Any]:
    tmpl = TEMPLATES.get(template_id)
    if tmpl is None:
        raise _BadBody(f"template: {template_id!r} is not a template; known: {', '.join(TEMPLATES)}")
    values = validate(tmpl, params)
    sketches = store.sketches()
    as_of = values["as_of"] or sketches.newest_day()
    if as_of is None:
        raise LookupError("as_of: no day has sketches yet; the daily sketch build has not run")
    if tmpl.id != "segment_combination":
        result = estimate(tmpl, values, as_of, sketches)
    else:
        with closing(Registry(SegmentSettings().registry_url)) as registry:
            result = estimate(tmpl, values, as_of, sketches, resolve=registry.checked_resolver(tmpl, values))
    return {"template": tmpl.id, "as_of": as_of.isoformat(), **result.as_json()}


async def estimate_endpoint(request: Request) -> Response:
    """
    summary: Instant audience estimate of a template's params (theta sketches)
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [template]
            properties:
              template: {type: string}
              params: {type: object}
    responses:
      200: {description: "estimate, lower, upper (2 sigma), relation to the exact audience"}
      400: {description: unknown template or a bad param (named with its value)}
      401: {description: missing or wrong bearer token}
      404: {description: no sketches for the day}
      503: {description: Cassandra unavailable}
    """
    started = time.perf_counter()
    status = 500
    try:
        body = await _json_body(request, request.app.state.settings.max_request_bytes)
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise _BadBody("params: must be a JSON object")
        answer = await asyncio.to_thread(
            _estimate, request.app.state.store, str(body.get("template")), params
        )
        status = 200
        return JSONResponse(answer)
    except (_BadBody, ParamError) as exc:
        status = 400
        return JSONResponse({"error": str(exc)}, status_code=400)
    except LookupError as exc:
        status = 404
        return JSONResponse({"error": str(exc)}, status_code=404)
    except StoreUnavailable as exc:
        status = 503
        return JSONResponse({"error": f"sketch store: unavailable ({exc})"[:300]}, status_code=503)
    except psycopg.OperationalError as exc:
        status = 503
        return JSONResponse({"error": f"segment registry: unavailable ({exc})"[:300]}, status_code=503)
    finally:
        metrics.LATENCY.labels("estimate").observe(time.perf_counter() - started)
        metrics.REQUESTS.labels("estimate", str(status)).inc()
