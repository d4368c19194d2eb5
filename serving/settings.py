"""The profile API's settings: one object, read from ``SERVING_*`` (Cassandra: ``ADTARGET_CASSANDRA_*``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adtarget.settings_types import SecretCommaList


class ServingSettings(BaseSettings):
    """How the profile API listens, waits and protects itself."""

    model_config = SettingsConfigDict(env_prefix="SERVING_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = 8000
    #: uvicorn worker processes.
    workers: int = Field(default=2, ge=1)
    #: Answer with what has arrived after this many milliseconds (the ad server's limit is 100).
    deadline_ms: float = Field(default=90.0, gt=0)
    #: A request may ask for its own deadline (``?deadline_ms=``) between these bounds.
    min_deadline_ms: float = Field(default=5.0, gt=0)
    max_deadline_ms: float = Field(default=95.0, gt=0)
    #: Bearer tokens of the ad servers (comma-separated); empty refuses every profile request.
    tokens: SecretCommaList = Field(default_factory=list)
    #: Requests served at once per worker; beyond it the answer is a fast 503. A request costs
    #: about 1 ms of the worker's CPU (12 reads at ~64 us, HTTP and JSON), so 32 in flight is
    #: ~30 ms of queue: the deadline still leaves room to answer.
    max_inflight: int = Field(default=32, ge=1)
    #: Requests per second per token and worker (token bucket); beyond it a fast 429.
    rate_limit: float = Field(default=5_000.0, gt=0)
    #: Largest request accepted (bytes): a profile read has no body; an estimate's body holds
    #: its params (10,000 keywords fit in 256 KiB).
    max_request_bytes: int = Field(default=262_144, ge=0)
    #: ``concurrent``: the 12 reads at once. ``sequential``: one after another, the seed's
    #: "before", kept only so the benchmark can measure the difference.
    fanout: Literal["concurrent", "sequential"] = "concurrent"
    #: Seconds between reconnection attempts while Cassandra is unreachable.
    reconnect_interval: float = Field(default=2.0, gt=0)
    #: Audience sketches kept in memory per worker for the estimate endpoint (MiB; 0: none).
    #: A full sketch is ~32 KB, so 128 MiB holds ~4,000 values' windows; see
    #: adtarget/segments/sketch_cache.py.
    estimate_cache_mb: int = Field(default=128, ge=0)

    @field_validator("max_deadline_ms")
    @classmethod
    def _deadline_under_100(cls, value: float) -> float:
        if value >= 100:
            raise ValueError(f"max_deadline_ms: {value!r} must stay under the ad server's 100 ms")
        return value
