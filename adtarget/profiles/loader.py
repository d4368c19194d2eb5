"""Bulk loads into the profile tables: grouped per user, checkpointed per chunk, idempotent.

A load is a sequence of *chunks*, each a deterministic slice of the users (a hash bucket of the
ADID, or a Spark partition of a hash-partitioned frame). Every user's rows of one table go in
one single-partition unlogged batch, which Cassandra applies atomically and which token-aware
routing sends straight to a replica. A chunk is recorded in ``load_checkpoints`` only after all
its writes are acknowledged, so a load that crashed is run again with the same ``load_id`` and
skips what is done; since every write is an upsert (or a delete) the redone chunk changes
nothing that was already right.

Memberships are synchronised, not appended: each user's row holds the whole set of segments and
is rewritten by every load, and users of the previously loaded set who are in no segment now are
deleted; so a user who left a segment is removed at once, and the TTL removes whatever a lost
previous set would have left behind.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adtarget.profiles.errors import LoadError
from adtarget.profiles.writer import BulkWriter

if TYPE_CHECKING:
    from cassandra.cluster import Session

#: Memberships not refreshed for this long expire (the daily load refreshes them every day).
DEFAULT_MEMBERSHIP_TTL = 3 * 86_400

INSERT_MEMBERSHIP = (
    "INSERT INTO segment_memberships (adid, segments, loaded_day, expires_at) VALUES (?, ?, ?, ?) USING TTL ?"
)
DELETE_MEMBERSHIP = "DELETE FROM segment_memberships WHERE adid = ?"
INSERT_BID = "INSERT INTO ids_by_bid (bid, adid) VALUES (?, ?) USING TTL ?"
SELECT_DONE = "SELECT chunk, rows FROM load_checkpoints WHERE load_id = ?"
INSERT_DONE = (
    "INSERT INTO load_checkpoints (load_id, chunk, rows, done_at) VALUES (?, ?, ?, toTimestamp(now()))"
)
DELETE_LOAD = "DELETE FROM load_checkpoints WHERE load_id = ?"
#: Checkpoints are kept a while for the record, then expire.
CHECKPOINT_TTL = 30 * 86_400


@dataclass(frozen=True)
class MembershipChange:
    """One user's memberships after the load (segment id -> version); empty means none left."""

    adid: str
    segments: Mapping[int, int]

    @property
    def rows(self) -> int:
        """Membership rows written (a deletion counts as one)."""
        return max(len(self.segments), 1)


def diff_memberships(
    current: Mapping[str, Iterable[int]],
    previous: Iterable[str] = (),
    versions: Mapping[int, int] | None = None,
) -> Iterator[MembershipChange]:
    """The changes that turn the previously loaded users into the ``current`` sets.

    ``previous`` holds the users of the last load; those with no segment now are deleted.
    ``versions`` gives each segment's definition version (1 when not given).
    """
    versions = versions or {}
    for adid in sorted(set(current) | set(previous)):
        yield MembershipChange(adid, {s: versions.get(s, 1) for s in sorted(set(current.get(adid, ())))})


#: Chunks per table of a load when the caller names none: each is a Spark task and a checkpoint,
#: and a retry resumes after the last one written.
DEFAULT_CHUNKS = 16


def chunk_of(key: str, chunks: int) -> int:
    """The chunk a user key belongs to: stable across runs, processes and machines."""
    return zlib.crc32(key.encode()) % chunks


class Checkpoints:
    """The chunks of one load that are done, in ``load_checkpoints``."""

    def __init__(self, session: Session, load_id: str) -> None:
        if not load_id or len(load_id) > 200:
            raise ValueError(f"load_id: {load_id!r} must be 1 to 200 characters")
        self._session = session
        self.load_id = load_id
        self._insert = session.prepare(INSERT_DONE + " USING TTL ?")
        self._select = session.prepare(SELECT_DONE)
        self._delete = session.prepare(DELETE_LOAD)

    def done(self) -> dict[int, int]:
        """Chunk -> rows of every chunk already written."""
        rows = self._session.execute(self._select, (self.load_id,))
        return {row.chunk: row.rows for row in rows}

    def mark(self, chunk: int, rows: int) -> None:
        self._session.execute(self._insert, (self.load_id, chunk, rows, CHECKPOINT_TTL))

    def reset(self) -> None:
        """Forget the load, so the next run with this id writes everything again."""
        self._session.execute(self._delete, (self.load_id,))


@dataclass
class LoadReport:
    """What one run of a load did."""

    load_id: str
    chunks_total: int = 0
    chunks_skipped: int = 0
    chunks_written: int = 0
    rows: int = 0
    seconds: float = 0.0
    throttled_seconds: float = 0.0
    retries: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_chunks(
    checkpoints: Checkpoints,
    writer: BulkWriter,
    chunks: Iterable[tuple[int, Iterable[tuple[Any, int]]]],
    *,
    progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Write each chunk's ``(statement, rows)`` pairs, skipping chunks already done.

    ``chunks`` yields ``(chunk_id, statements)``; a chunk is marked done after its statements
    are all acknowledged. Returns what this run did.
    """
    report = LoadReport(checkpoints.load_id)
    done = checkpoints.done()
    began = time.monotonic()
    throttled, retries = writer.stats.throttled_seconds, writer.stats.retries
    for chunk_id, statements in chunks:
        report.chunks_total += 1
        if chunk_id in done:
            report.chunks_skipped += 1
            continue
        rows = 0
        for statement, n in statements:
            writer.submit(statement, n)
            rows += n
        writer.flush()
        checkpoints.mark(chunk_id, rows)
        report.chunks_written += 1
        report.rows += rows
        if progress is not None:
            progress(report)
    report.seconds = round(time.monotonic() - began, 3)
    report.throttled_seconds = round(writer.stats.throttled_seconds - throttled, 3)
    report.retries = writer.stats.retries - retries
    return report


class MembershipStatements:
    """Turns :class:`MembershipChange` s into bound statements, one per user."""

    def __init__(self, session: Session, *, day: str, ttl: int = DEFAULT_MEMBERSHIP_TTL) -> None:
        if ttl < 1:
            raise ValueError(f"ttl: {ttl!r} must be at least 1 second")
        dt.date.fromisoformat(day)  # a malformed day fails here, naming itself below
        self._insert = session.prepare(INSERT_MEMBERSHIP)
        self._delete = session.prepare(DELETE_MEMBERSHIP)
        self.day = day
        self.ttl = ttl

    def statement(self, change: MembershipChange, *, now: dt.datetime | None = None) -> tuple[Any, int]:
        """One statement per user: the whole row, or its deletion when no segment is left."""
        if not change.segments:
            return self._delete.bind((change.adid,)), 1
        expires = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(seconds=self.ttl)
        values = (change.adid, dict(change.segments), self.day, expires, self.ttl)
        return self._insert.bind(values), len(change.segments)


def load_memberships(
    session: Session,
    changes: Iterable[MembershipChange],
    *,
    load_id: str,
    day: str,
    chunks: int = 64,
    writer: BulkWriter,
    ttl: int = DEFAULT_MEMBERSHIP_TTL,
    progress: Callable[[LoadReport], None] | None = None,
) -> LoadReport:
    """Synchronise memberships from in-memory changes, in ``chunks`` hash buckets of the ADID.

    The Python path for small data and tests; the Spark job uses the same statements per
    partition. Raises :class:`LoadError` if a write keeps failing.
    """
    if chunks < 1:
        raise LoadError(f"chunks: {chunks!r} must be at least 1")
    statements = MembershipStatements(session, day=day, ttl=ttl)
    buckets: dict[int, list[MembershipChange]] = {}
    for change in changes:
        buckets.setdefault(chunk_of(change.adid, chunks), []).append(change)
    ordered = ((chunk, (statements.statement(c) for c in buckets[chunk])) for chunk in sorted(buckets))
    return run_chunks(Checkpoints(session, load_id), writer, ordered, progress=progress)


SELECT_STATE = "SELECT day, load_id FROM load_state WHERE name = ?"
INSERT_STATE = "INSERT INTO load_state (name, day, load_id, finished_at) VALUES (?, ?, ?, toTimestamp(now()))"


class LoadState:
    """The newest day loaded into each table: an older day must not overwrite newer state."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._select = session.prepare(SELECT_STATE)
        self._insert = session.prepare(INSERT_STATE)

    def newest(self, table: str) -> str | None:
        row = self._session.execute(self._select, (table,)).one()
        return None if row is None else str(row.day)

    def is_stale(self, table: str, day: str) -> bool:
        """True when a newer day than ``day`` is already loaded into ``table``."""
        newest = self.newest(table)
        return newest is not None and newest > day

    def record(self, table: str, day: str, load_id: str) -> None:
        newest = self.newest(table)
        if newest is None or newest <= day:
            self._session.execute(self._insert, (table, day, load_id))
