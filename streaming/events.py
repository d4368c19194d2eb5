"""The ad server's events: one JSON object per line, checked field by field.

    {"event_id": "e-1", "time": "2026-11-28T10:00:00.250Z", "type": "click",
     "campaign_id": 12, "creative_id": 60, "banner_id": 7, "adid": "…uuid…", "cost": 0.35}

``time`` may also be epoch milliseconds. A line that is not a valid event raises
:class:`EventError` naming the field and the value; the bridge sends such lines, as they came,
to the dead-letter topic with that reason.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
import time
import uuid
from typing import Any, Literal, NamedTuple

EventType = Literal["impression", "click", "conversion"]
EVENT_TYPES: tuple[EventType, ...] = ("impression", "click", "conversion")
MAX_ID = 128
_FIELDS = ("event_id", "time", "type", "campaign_id", "creative_id", "banner_id", "adid", "cost")
#: Events more than this far in the future are refused (a clock or unit mistake: seconds vs ms).
MAX_FUTURE_MS = 24 * 3600 * 1000


_ENCODER = json.JSONEncoder(separators=(",", ":"))
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EventError(ValueError):
    """A line that is not a valid event; ``field`` is '' when the line as a whole is wrong."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.reason = reason
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"field '{field}': {shown} {reason}" if field else reason)


class AdEvent(NamedTuple):
    """One impression, click or conversion; ``time_ms`` is epoch milliseconds, UTC.

    A named tuple: built and read in C, which matters at tens of thousands of events a second.
    """

    event_id: str
    time_ms: int
    type: EventType
    campaign_id: int
    creative_id: int
    banner_id: int
    adid: str
    cost: float

    def encode(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces): what goes to the events topic."""
        # The keys written in sorted order by hand: json.dumps with sort_keys sorts
        # on every call.
        body = {
            "adid": self.adid,
            "banner_id": self.banner_id,
            "campaign_id": self.campaign_id,
            "cost": self.cost,
            "creative_id": self.creative_id,
            "event_id": self.event_id,
            "time_ms": self.time_ms,
            "type": self.type,
        }
        return _ENCODER.encode(body).encode()

    @classmethod
    def decode(cls, raw: bytes) -> AdEvent:
        """Read back what :meth:`encode` wrote."""
        return cls(**json.loads(raw))

    @classmethod
    def decode_many(cls, raw: bytes) -> list[AdEvent]:
        """The events of one record of the events topic (one per line; see :mod:`streaming.packer`)."""
        # One JSON array for the whole record: a third of the cost of parsing line by line.
        # (Encoded events hold no raw newline: JSON escapes it.) The tuples are built in C from
        # the fields picked by name, half the cost of ``cls(**body)``; a missing field raises
        # KeyError, an extra one is refused below.
        bodies = json.loads(b"[" + raw.replace(b"\n", b",") + b"]")
        events = [_new_tuple(cls, _pick(body)) for body in bodies]
        if any(len(body) != _N_FIELDS for body in bodies):
            raise ValueError(f"a record holds an object with other fields than {', '.join(cls._fields)}")
        return events

    @property
    def key(self) -> bytes:
        """The Kafka key: the campaign, so a campaign's events (and any duplicate) share a partition."""
        return str(self.campaign_id).encode()


_pick = operator.itemgetter(*AdEvent._fields)
_new_tuple = tuple.__new__
_N_FIELDS = len(AdEvent._fields)


def _int(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EventError(name, value, "is not an integer")
    if not 0 <= value < 2**31:
        raise EventError(name, value, "is out of range (0 .. 2^31-1)")
    return value


def _time_ms(value: object, now_ms: int) -> int:
    if isinstance(value, bool):
        raise EventError("time", value, "is not a time")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise EventError("time", value, "is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            raise EventError("time", value, "has no time zone (add Z or +09:00)")
        ms = int(parsed.timestamp() * 1000)
    else:
        raise EventError("time", value, "is not a time (ISO 8601 string or epoch milliseconds)")
    if ms < 946_684_800_000:  # 2000-01-01: seconds sent as milliseconds, or garbage
        raise EventError("time", value, "is before 2000-01-01 (seconds instead of milliseconds?)")
    if ms > now_ms + MAX_FUTURE_MS:
        raise EventError("time", value, "is more than a day in the future")
    return ms


def parse(line: bytes, *, now_ms: int | None = None) -> AdEvent:
    """The event on one line (without its newline); raises :class:`EventError`."""
    try:
        body = json.loads(line)
    except (UnicodeDecodeError, ValueError) as exc:
        raise EventError("", None, f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise EventError("", None, f"not a JSON object but {type(body).__name__}")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise EventError(unknown[0], body[unknown[0]], "is not a field of an event")
    missing = [f for f in _FIELDS if f not in body]
    if missing:
        raise EventError(missing[0], None, "is missing")
    event_id = body["event_id"]
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID:
        raise EventError("event_id", event_id, f"must be a string of 1 to {MAX_ID} characters")
    kind = body["type"]
    if kind not in EVENT_TYPES:
        raise EventError("type", kind, "must be one of impression, click, conversion")
    adid = body["adid"]
    try:
        if not isinstance(adid, str):
            adid = None
        elif not _CANONICAL_UUID.fullmatch(adid):  # the usual form passes as it is, quickly
            adid = str(uuid.UUID(adid))
    except ValueError:
        adid = None
    if adid is None:
        raise EventError("adid", body["adid"], "is not a UUID")
    cost = body["cost"]
    if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
        raise EventError("cost", cost, "must be a finite number >= 0")
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    return AdEvent(
        event_id=event_id,
        time_ms=_time_ms(body["time"], now),
        type=kind,
        campaign_id=_int(body, "campaign_id"),
        creative_id=_int(body, "creative_id"),
        banner_id=_int(body, "banner_id"),
        adid=adid,
        cost=float(cost),
    )
