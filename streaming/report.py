"""The realtime report's arithmetic: minute windows, lateness, totals; pure, no Kafka, no Faust.

The report counts each event once (by ``event_id``) into the one-minute window of its own time,
per campaign and creative. An event arriving after its window closed (the stream's watermark,
the latest event time seen, minus ``allowed_lateness_ms``, is past the window's end) is not added
to the totals but counted as late, so nothing silently disappears. The Faust agents keep this
state in tables and call these functions; the tests check them against a brute-force count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from streaming.events import AdEvent

WINDOW_MS = 60_000


@dataclass(frozen=True, order=True)
class WindowKey:
    """One row of the report: a minute (its start, epoch ms) of one campaign's creative."""

    window_start_ms: int
    campaign_id: int
    creative_id: int


@dataclass(frozen=True)
class Totals:
    """What one row adds up; ``late`` counts events that came after their window closed."""

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend: float = 0.0
    late: int = 0

    @property
    def ctr(self) -> float | None:
        """Clicks per impression; None without impressions."""
        return self.clicks / self.impressions if self.impressions else None

    def add(self, event: AdEvent) -> Totals:
        """These totals with ``event`` counted in."""
        return replace(
            self,
            impressions=self.impressions + (event.type == "impression"),
            clicks=self.clicks + (event.type == "click"),
            conversions=self.conversions + (event.type == "conversion"),
            spend=self.spend + event.cost,
        )

    def add_late(self) -> Totals:
        return replace(self, late=self.late + 1)


def window_of(time_ms: int) -> int:
    """The start of the minute that holds ``time_ms``."""
    return time_ms - time_ms % WINDOW_MS


def key_of(event: AdEvent) -> WindowKey:
    return WindowKey(window_of(event.time_ms), event.campaign_id, event.creative_id)


def is_late(time_ms: int, watermark_ms: int, allowed_lateness_ms: int) -> bool:
    """True when the window of ``time_ms`` closed: its end plus the lateness is before the watermark."""
    return window_of(time_ms) + WINDOW_MS + allowed_lateness_ms <= watermark_ms


class Report:
    """The report of one stream partition, in memory (what the agent keeps in Faust tables)."""

    def __init__(self, allowed_lateness_ms: int = 30_000) -> None:
        self.allowed_lateness_ms = allowed_lateness_ms
        self.rows: dict[WindowKey, Totals] = {}
        self.seen: set[str] = set()
        self.watermark_ms = 0
        self.duplicates = 0

    def add(self, event: AdEvent) -> WindowKey | None:
        """Count ``event``; returns the row it changed, or None for a duplicate."""
        if event.event_id in self.seen:
            self.duplicates += 1
            return None
        self.seen.add(event.event_id)
        key = key_of(event)
        totals = self.rows.get(key, Totals())
        if is_late(event.time_ms, self.watermark_ms, self.allowed_lateness_ms):
            self.rows[key] = totals.add_late()
        else:
            self.rows[key] = totals.add(event)
        self.watermark_ms = max(self.watermark_ms, event.time_ms)
        return key
