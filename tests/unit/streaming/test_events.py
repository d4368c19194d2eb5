"""Event lines: valid ones decode to one canonical form; each invalid one names its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streaming.events import AdEvent, EventError, parse

NOW = 1_795_000_000_000  # 2026-11-18
GOOD: dict[str, Any] = {
    "event_id": "e-1",
    "time": "2026-11-17T10:00:00.250Z",
    "type": "click",
    "campaign_id": 12,
    "creative_id": 60,
    "banner_id": 7,
    "adid": "3F2504E0-4F89-11D3-9A0C-0305E82C3301",
    "cost": 0.35,
}


def _line(**changes: Any) -> bytes:
    body = {**GOOD, **changes}
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()


def test_a_valid_line_round_trips() -> None:
    event = parse(_line(), now_ms=NOW)
    assert event == AdEvent(
        "e-1", 1_794_909_600_250, "click", 12, 60, 7, "3f2504e0-4f89-11d3-9a0c-0305e82c3301", 0.35
    )
    assert AdEvent.decode(event.encode()) == event
    # Canonical: every field, keys sorted, no spaces (encode writes them by hand, for speed).
    assert event.encode() == json.dumps(event._asdict(), sort_keys=True, separators=(",", ":")).encode()
    assert AdEvent.decode_many(event.encode() + b"\n" + event.encode()) == [event, event]
    # A record that is not what the bridge writes is refused whole (the worker dead-letters it).
    body = json.loads(event.encode())
    with pytest.raises(ValueError, match="other fields"):
        AdEvent.decode_many(event.encode() + b"\n" + json.dumps({**body, "extra": 1}).encode())
    with pytest.raises(KeyError):
        AdEvent.decode_many(json.dumps({k: v for k, v in body.items() if k != "cost"}).encode())
    with pytest.raises(TypeError):
        AdEvent.decode_many(b"[1, 2]")
    assert event.key == b"12"
    assert parse(_line(time=1_794_909_600_250), now_ms=NOW) == event
    assert parse(_line(time="2026-11-17T19:00:00.250+09:00"), now_ms=NOW) == event


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a JSON object but list"),
        (b"\xff\xfe", "not JSON"),
        (_line(extra=1), "field 'extra': 1 is not a field of an event"),
        (_line(cost=...), "field 'cost': None is missing"),
        (_line(event_id=""), "field 'event_id': '' must be a string of 1 to 128 characters"),
        (_line(event_id="x" * 129), "must be a string of 1 to 128 characters"),
        (_line(type="view"), "field 'type': 'view' must be one of impression, click, conversion"),
        (_line(adid="not-a-uuid"), "field 'adid': 'not-a-uuid' is not a UUID"),
        (_line(cost=-1), "field 'cost': -1 must be a finite number >= 0"),
        (_line(cost=True), "field 'cost': True must be a finite number >= 0"),
        (_line(campaign_id="12"), "field 'campaign_id': '12' is not an integer"),
        (_line(banner_id=2**31), "is out of range"),
        (_line(time="2026-11-17 10:00"), "field 'time': '2026-11-17 10:00' has no time zone"),
        (_line(time="yesterday"), "is not an ISO 8601 time"),
        (_line(time=1_794_909_600), "is before 2000-01-01 (seconds instead of milliseconds?)"),
        (_line(time=NOW + 2 * 86_400_000), "is more than a day in the future"),
        (b'{"event_id": "a", "cost": NaN}', "field 'time': None is missing"),
    ],
)
def test_invalid_lines_name_the_field_and_value(line: bytes, message: str) -> None:
    with pytest.raises(EventError) as caught:
        parse(line, now_ms=NOW)
    assert message in str(caught.value)


def test_nan_cost_is_refused() -> None:
    line = _line().replace(b'"cost": 0.35', b'"cost": NaN')
    with pytest.raises(EventError, match="field 'cost'"):
        parse(line, now_ms=NOW)
