"""The realtime report's arithmetic: minute windows, lateness, dedup and replays; no Kafka, no Faust.

The report counts each event once (by ``event_id``) into the one-minute window of its own time,
per campaign and creative. An event arriving after its window closed (the partition's watermark,
the latest event time seen, minus ``allowed_lateness_ms``, is past the window's end) is not added
to the totals but counted as ``late``, so nothing silently disappears.

Replays after a crash are the hard part: the consumer's committed offset lags the state that was
already written, so events are seen again. :class:`PartitionReport` makes that harmless without
trusting Kafka transactions: every row remembers the newest source offset counted into it, and an
event at or below that offset is already in the row. A row is stored as one message, so it holds
its events and its offset together or not at all. ``event_id`` dedup (a sender resending a line)
keeps, per id, the offset of its first occurrence: the same id at another offset is a duplicate.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, NamedTuple

from streaming.events import AdEvent

WINDOW_MS = 60_000
MICROS = 1_000_000
#: Batch-end watermarks kept per partition (enough for several commit intervals).
HISTORY = 128


class WindowKey(NamedTuple):
    """One row of the report: a minute (its start, epoch ms) of one campaign's creative.

    Named tuples, not dataclasses, for the per-event values: hashing, comparing and building
    them is done in C, which halved the cost of counting an event.
    """

    window_start_ms: int
    campaign_id: int
    creative_id: int

    def encode(self) -> str:
        """``window:campaign:creative``, the key in tables and topics."""
        return f"{self.window_start_ms}:{self.campaign_id}:{self.creative_id}"

    @classmethod
    def decode(cls, text: str) -> WindowKey:
        window, campaign, creative = text.split(":")
        return cls(int(window), int(campaign), int(creative))


class Totals(NamedTuple):
    """One row's sums. ``late`` counts events that came after their window closed.

    Spend is kept in micro-units (integers), so totals do not depend on the order of additions:
    a replayed stream gives the same bits. ``offset`` is the source position (see
    :func:`streaming.packer.position`) of the newest event counted in (-1: none); ``partition``
    the source partition that owns the row.
    """

    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    spend_micros: int = 0
    late: int = 0
    offset: int = -1
    partition: int = -1

    @property
    def spend(self) -> float:
        return self.spend_micros / MICROS

    @property
    def ctr(self) -> float | None:
        """Clicks per impression; None without impressions."""
        return self.clicks / self.impressions if self.impressions else None

    def add(self, event: AdEvent, offset: int) -> Totals:
        """These totals with ``event`` (found at ``offset``) counted in."""
        kind = event.type
        return Totals(
            self.impressions + (kind == "impression"),
            self.clicks + (kind == "click"),
            self.conversions + (kind == "conversion"),
            self.spend_micros + micros(event.cost),
            self.late,
            offset,
            self.partition,
        )

    def add_late(self, offset: int) -> Totals:
        """These totals with one more late event (found at ``offset``)."""
        return self._replace(late=self.late + 1, offset=offset)

    def counts(self) -> tuple[int, int, int, int, int]:
        """(impressions, clicks, conversions, spend_micros, late): what a report compares."""
        return (self.impressions, self.clicks, self.conversions, self.spend_micros, self.late)

    def to_json(self) -> list[int]:
        return list(self)

    @classmethod
    def from_json(cls, value: list[int]) -> Totals:
        return cls(*value)


def micros(cost: float) -> int:
    """A cost in micro-units, rounded (events carry at most micro precision that matters)."""
    return round(cost * MICROS)


def window_of(time_ms: int) -> int:
    """The start of the minute that holds ``time_ms``."""
    return time_ms - time_ms % WINDOW_MS


def is_late(time_ms: int, watermark_ms: int, allowed_lateness_ms: int) -> bool:
    """True when the window of ``time_ms`` closed: its end plus the lateness is before the watermark."""
    return window_of(time_ms) + WINDOW_MS + allowed_lateness_ms <= watermark_ms


class Outcome(Enum):
    """What :meth:`PartitionReport.add` did with an event."""

    COUNTED = "counted"
    LATE = "late"
    DUPLICATE = "duplicate"  # the same event_id, seen before at another offset
    REPLAYED = "replayed"  # this very offset is already in its row (a restart's replay)


class Seen(NamedTuple):
    """Where an event id first appeared; kept until its window is past the dedup horizon."""

    partition: int
    offset: int
    window_start_ms: int

    def to_json(self) -> list[int]:
        return list(self)

    @classmethod
    def from_json(cls, value: list[int]) -> Seen:
        return cls(*value)


@dataclass(frozen=True)
class Watermark:
    """The latest event time of a partition, the offset it was reached at, and its recent history.

    ``history`` holds (offset, time) at the end of recent batches. The consumer commits at batch
    ends, so after a crash the replay starts just past one of them; rewinding the watermark to it
    judges the replayed events' lateness exactly as the first pass did.
    """

    offset: int = -1
    time_ms: int = 0
    history: tuple[tuple[int, int], ...] = ()

    def checkpoint(self, keep: int = HISTORY) -> Watermark:
        """This watermark with its current (offset, time) added to the history."""
        if self.history and self.history[-1][0] == self.offset:
            return self
        return replace(self, history=(*self.history, (self.offset, self.time_ms))[-keep:])

    def rewind(self, offset: int) -> Watermark:
        """The watermark as it was just before ``offset`` (the newest checkpoint below it)."""
        if offset > self.offset:
            return self
        earlier = [(o, t) for o, t in self.history if o < offset]
        if not earlier:
            return replace(self, offset=-1, time_ms=0, history=())
        o, t = earlier[-1]
        return Watermark(o, t, tuple(earlier))

    def to_json(self) -> list[Any]:
        return [self.offset, self.time_ms, [list(h) for h in self.history]]

    @classmethod
    def from_json(cls, value: list[Any]) -> Watermark:
        offset, time_ms, *rest = value
        return cls(offset, time_ms, tuple((o, t) for o, t in (rest[0] if rest else ())))


@dataclass
class Changes:
    """What a batch changed, for the caller to write: rows and ids set (or deleted: None)."""

    rows: dict[WindowKey, Totals | None] = field(default_factory=dict)
    seen: dict[str, Seen | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rows or self.seen)


class PartitionReport:
    """The report state of one source partition over mappings the caller persists.

    ``rows`` and ``seen`` may be shared by several partitions (keys do not collide: a campaign
    lives in one partition); the caller writes :attr:`changes` and :attr:`watermark` after each
    batch, in any order: any subset of them that survives a crash gives the same final totals
    once the events are replayed.
    """

    def __init__(
        self,
        partition: int,
        rows: MutableMapping[WindowKey, Totals],
        seen: MutableMapping[str, Seen],
        *,
        watermark: Watermark | None = None,
        allowed_lateness_ms: int = 30_000,
        dedup_horizon_ms: int = 10 * 60_000,
        retention_ms: int = 2 * 3600_000,
    ) -> None:
        self.partition = partition
        self.rows = rows
        self.seen = seen
        self.watermark = watermark or Watermark()
        # The watermark as plain ints while a batch is counted; a Watermark at the batch's end.
        self._mark_offset, self._mark_ms = self.watermark.offset, self.watermark.time_ms
        self.allowed_lateness_ms = allowed_lateness_ms
        self.dedup_horizon_ms = dedup_horizon_ms
        self.retention_ms = retention_ms
        self.changes = Changes()
        self._resumed = False
        # Expiry indexes, by window start: rebuilt from the mappings (after a restore).
        self._ids_by_window: dict[int, list[str]] = {}
        self._rows_by_window: dict[int, set[WindowKey]] = {}
        for event_id, where in seen.items():
            if where.partition == partition:
                self._ids_by_window.setdefault(where.window_start_ms, []).append(event_id)
        for key, totals in rows.items():
            if totals.partition == partition:
                self._rows_by_window.setdefault(key.window_start_ms, set()).add(key)

    def owned(self) -> list[WindowKey]:
        """Every row this partition owns."""
        return [k for keys in self._rows_by_window.values() for k in keys]

    def add(self, event: AdEvent, offset: int) -> Outcome:
        """Count the event found at ``offset`` of this partition (its position: any number that
        grows with the partition's order, e.g. a Kafka offset, or offset and index in a record)."""
        if not self._resumed:
            # The first event after a restore is where the consumer resumed: if the stored
            # watermark is ahead of it, this is a replay; judge it as the first pass did.
            self._resumed = True
            self.watermark = self.watermark.rewind(offset)
            self._mark_offset, self._mark_ms = self.watermark.offset, self.watermark.time_ms
        event_id = event.event_id
        first = self.seen.get(event_id)
        if first is not None and first.offset != offset:
            return Outcome.DUPLICATE
        time_ms = event.time_ms
        window = time_ms - time_ms % WINDOW_MS
        key = WindowKey(window, event.campaign_id, event.creative_id)
        totals = self.rows.get(key)
        if totals is not None and offset <= totals.offset:
            outcome = Outcome.REPLAYED
        else:
            if totals is None:
                totals = Totals(partition=self.partition)
                self._rows_by_window.setdefault(window, set()).add(key)
            if is_late(time_ms, self._mark_ms, self.allowed_lateness_ms):
                totals, outcome = totals.add_late(offset), Outcome.LATE
            else:
                totals, outcome = totals.add(event, offset), Outcome.COUNTED
            self.rows[key] = totals
            self.changes.rows[key] = totals
        if first is None:  # also after a replay: the id's record may be what the crash lost
            where = Seen(self.partition, offset, window)
            self.seen[event_id] = where
            self.changes.seen[event_id] = where
            ids = self._ids_by_window.get(window)
            if ids is None:
                ids = self._ids_by_window[window] = []
            ids.append(event_id)
        if offset > self._mark_offset:
            self._mark_offset = offset
            if time_ms > self._mark_ms:
                self._mark_ms = time_ms
        return outcome

    def expire(self) -> None:
        """Forget ids past the dedup horizon and rows past the retention (as deletions in changes)."""
        now = self._mark_ms
        for window in [w for w in self._ids_by_window if w + WINDOW_MS + self.dedup_horizon_ms <= now]:
            for event_id in self._ids_by_window.pop(window):
                if self.seen.pop(event_id, None) is not None:
                    self.changes.seen[event_id] = None
        for window in [w for w in self._rows_by_window if w + WINDOW_MS + self.retention_ms <= now]:
            for key in self._rows_by_window.pop(window):
                if self.rows.pop(key, None) is not None:
                    self.changes.rows[key] = None

    def current_watermark(self) -> Watermark:
        """The watermark now (with the history of batch ends)."""
        w = self.watermark
        if (w.offset, w.time_ms) != (self._mark_offset, self._mark_ms):
            w = self.watermark = Watermark(self._mark_offset, self._mark_ms, w.history)
        return w

    def take_changes(self) -> Changes:
        """The changes since the last call (and start afresh); marks a batch end on the watermark."""
        self.watermark = self.current_watermark().checkpoint()
        changes, self.changes = self.changes, Changes()
        return changes


class Report:
    """A whole stream's report in memory: one :class:`PartitionReport` per partition.

    What the plain-consumer peer of the benchmark and the tests use; the Faust app keeps the same
    state in changelog-backed tables.
    """

    def __init__(self, **options: Any) -> None:
        self.rows: dict[WindowKey, Totals] = {}
        self.seen: dict[str, Seen] = {}
        self.partitions: dict[int, PartitionReport] = {}
        self.options = options
        self.outcomes: dict[Outcome, int] = dict.fromkeys(Outcome, 0)

    def add(self, event: AdEvent, offset: int, partition: int = 0) -> Outcome:
        part = self.partitions.get(partition)
        if part is None:
            part = self.partitions[partition] = PartitionReport(
                partition, self.rows, self.seen, **self.options
            )
        outcome = part.add(event, offset)
        self.outcomes[outcome] += 1
        return outcome
