"""Synthetic ad-server traffic with known totals, for the chaos test and the benchmark.

A reproducible (seeded) list of lines as the ad server would write them to the bridge: events
whose times follow the clock they are stamped with, resent duplicates, events far too late for
their window, and malformed lines, together with the report they must add up to, counted here
by brute force without :mod:`streaming.report`'s machinery.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field

from streaming.report import WindowKey, micros, window_of

KINDS = (
    "impression",
    "impression",
    "impression",
    "impression",
    "impression",
    "impression",
    "click",
    "conversion",
)
#: How far behind its stamp a late event is: well past any window's end plus the lateness.
LATE_BY_MS = 10 * 60_000

Counts = tuple[int, int, int, int, int]


@dataclass
class Traffic:
    """Lines in sending order; what the report must show; the lines that must be dead-lettered."""

    lines: list[bytes] = field(default_factory=list)
    expected: dict[WindowKey, Counts] = field(default_factory=dict)
    malformed: list[bytes] = field(default_factory=list)
    events: int = 0
    duplicates: int = 0
    late: int = 0

    def add(self, key: WindowKey, kind: str, cost: float, *, late: bool) -> None:
        i, c, v, s, lt = self.expected.get(key, (0, 0, 0, 0, 0))
        if late:
            self.expected[key] = (i, c, v, s, lt + 1)
        else:
            self.expected[key] = (
                i + (kind == "impression"),
                c + (kind == "click"),
                v + (kind == "conversion"),
                s + micros(cost),
                lt,
            )


def event_line(
    event_id: str, time_ms: int, kind: str, campaign: int, creative: int, cost: float, rnd: random.Random
) -> bytes:
    body = {
        "event_id": event_id,
        "time": time_ms,
        "type": kind,
        "campaign_id": campaign,
        "creative_id": creative,
        "banner_id": rnd.randrange(50),
        "adid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "cost": cost,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def make_traffic(
    n: int,
    *,
    stamps: list[int],
    campaigns: list[int],
    creatives: int = 4,
    seed: int = 7,
    duplicate_ratio: float = 0.02,
    late_ratio: float = 0.01,
    malformed_ratio: float = 0.005,
    prefix: str = "",
) -> Traffic:
    """``n`` events stamped ``stamps[i]`` (ms; the i-th line's send time), plus the extras.

    Late events come only after a warm-up of 5% of the events, so every partition's watermark
    is already past their window's end plus any lateness below ``LATE_BY_MS`` minus a minute.
    Duplicates repeat an earlier line unchanged, as a sender resending after a reconnect does.
    """
    rnd = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
    traffic = Traffic()
    sent: list[bytes] = []
    warm_up = max(1, n // 20)
    for i in range(n):
        now = stamps[i]
        kind = rnd.choice(KINDS)
        cost = 0.0 if kind == "click" else round(rnd.uniform(0.0005, 0.5), 6)
        campaign = rnd.choice(campaigns)
        creative = rnd.randrange(creatives)
        late = i >= warm_up and rnd.random() < late_ratio
        time_ms = now - LATE_BY_MS if late else now - rnd.randrange(2_000)
        line = event_line(f"{prefix}{i}", time_ms, kind, campaign, creative, cost, rnd)
        traffic.lines.append(line)
        traffic.events += 1
        traffic.late += late
        traffic.add(WindowKey(window_of(time_ms), campaign, creative), kind, cost, late=late)
        sent.append(line)
        if rnd.random() < duplicate_ratio:
            traffic.lines.append(sent[max(0, len(sent) - 1 - rnd.randrange(200))])
            traffic.duplicates += 1
        if rnd.random() < malformed_ratio:
            bad = _malformed(rnd, f"{prefix}bad-{i}", now)
            traffic.lines.append(bad)
            traffic.malformed.append(bad)
    return traffic


def _malformed(rnd: random.Random, event_id: str, now: int) -> bytes:
    body: dict[str, object] = {
        "event_id": event_id,
        "time": now,
        "type": "click",
        "campaign_id": 1,
        "creative_id": 1,
        "banner_id": 1,
        "adid": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
        "cost": 0.1,
    }
    flaw = rnd.randrange(4)
    if flaw == 0:
        body["cost"] = -1
    elif flaw == 1:
        body["type"] = "hover"
    elif flaw == 2:
        del body["adid"]
    else:
        return b"{not json " + event_id.encode()
    return json.dumps(body).encode()
