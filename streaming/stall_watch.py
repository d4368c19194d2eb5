"""Stalled partitions of the report worker: assigned, behind the log's end, and handed nothing.

In one CI run, Faust (0.15) stopped handing one partition's records to the report's agent after
a ``kill -9`` and the rebalances that followed: its committed offset stayed at 255 of 647 for the
2.5 minutes the test waited, while the other three partitions were read to their end. Nothing was
lost (the records stayed uncommitted in Kafka, and a restart would have counted them), but the
report stopped moving. Faust keeps a partition's flow in several places that a rebalance resets
in turn (the consumer's active, paused and buffered partitions, its read offsets, below which it
drops records, and aiokafka's fetch position); which one went wrong there is not known.

:class:`StallWatch` notices the symptom, whatever the cause: a partition whose log end is past
the next offset the report needs, and that has been handed no record for ``timeout`` seconds.
The worker then resumes the partition in Faust and seeks every partition to its committed offset,
as Faust does after a rebalance, which sets every one of those places again. Records handed over
twice are harmless: the report recognises a position it has already counted
(:class:`streaming.report.PartitionReport`).

No Faust here: the worker feeds the watch and acts on its answers (:mod:`streaming.report_app`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass


@dataclass
class _Watched:
    since: float  # when the watch started, the last record came, or the partition was at its end
    next_offset: int | None = None  # after the last record handed over; None: none since assigned
    remedies: int = 0  # in a row, without a record since


class StallWatch:
    """Which assigned partitions stalled, and the next offset the report needs of each."""

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        if timeout <= 0:
            raise ValueError(f"stall timeout must be positive, got {timeout!r}")
        self.timeout = timeout
        self._clock = clock
        self._watched: dict[int, _Watched] = {}
        #: Stalls found per partition since the worker started (assignments come and go).
        self.stalls: dict[int, int] = {}

    def track(self, assigned: Iterable[int]) -> None:
        """Watch exactly these partitions: new ones from now, others no more."""
        now = self._clock()
        assigned = set(assigned)
        for number in self._watched.keys() - assigned:
            del self._watched[number]
        for number in assigned - self._watched.keys():
            self._watched[number] = _Watched(now)

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop revoked partitions: after a revocation, reading starts again at the committed offset."""
        for number in partitions:
            self._watched.pop(number, None)

    def hold(self) -> None:
        """Restart every partition's clock (while the consumer rebalances or recovers its tables)."""
        now = self._clock()
        for watched in self._watched.values():
            watched.since = now

    def delivered(self, partition: int, offset: int) -> None:
        """The record at ``offset`` of ``partition`` was handed to the report (called per record)."""
        watched = self._watched.get(partition)
        if watched is None:
            watched = self._watched[partition] = _Watched(0.0)
        watched.since = self._clock()
        watched.next_offset = offset + 1
        watched.remedies = 0

    def stalled(self, ends: Mapping[int, int], committed: Mapping[int, int]) -> dict[int, int | None]:
        """The stalled partitions, each with the next offset the report needs (for the log).

        ``ends`` are the log end offsets of the watched partitions and ``committed`` the group's
        committed offsets (either may lack a partition). The offset is the one after the last
        record handed over, else the committed one; None when neither is known (nothing was
        committed yet). A partition is reported again after
        another ``timeout`` if it is still stalled.
        """
        now = self._clock()
        found: dict[int, int | None] = {}
        for number, watched in self._watched.items():
            end = ends.get(number)
            position = watched.next_offset if watched.next_offset is not None else committed.get(number)
            if end is None:
                continue
            if end <= (position or 0):
                watched.since = now  # nothing to read: at its end is not stalled
                continue
            if now - watched.since >= self.timeout:
                found[number] = position
                watched.since = now
                watched.remedies += 1
                self.stalls[number] = self.stalls.get(number, 0) + 1
        return found

    def remedies(self, partition: int) -> int:
        """Remedies applied to ``partition`` in a row without a record since (0 when not watched)."""
        watched = self._watched.get(partition)
        return watched.remedies if watched is not None else 0
