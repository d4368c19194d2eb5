"""The part of a warehouse load that runs in each Spark task: one partition, one chunk.

``spark/load_profiles.py`` hash-partitions a table's rows by their Cassandra partition key and
sorts each Spark partition by it; :func:`write_partition` then groups consecutive rows per user,
turns each group into one statement and writes the chunk with a :class:`BulkWriter`, skipping it
if a checkpoint says an earlier run already wrote it. The Cassandra session is opened once per
Python worker and reused by the tasks that worker runs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.loader import Checkpoints, MembershipChange, MembershipStatements
from adtarget.profiles.statements import CounterStatements, RowStatements, ttl_of
from adtarget.profiles.throttle import RateLimiter
from adtarget.profiles.writer import BulkWriter

if TYPE_CHECKING:
    from cassandra.cluster import Session

#: The partition key of the tables that are not keyed by ``adid``.
PARTITION_KEYS = {"ids_by_bid": "bid"}

_sessions: dict[str, Session] = {}


def partition_key(table: str) -> str:
    return PARTITION_KEYS.get(table, "adid")


@dataclass(frozen=True)
class TableLoad:
    """What every task of one table's load needs to know (pickled to the workers)."""

    settings: CassandraSettings
    table: str
    columns: tuple[str, ...]
    load_id: str
    day: str
    concurrency: int = 64
    #: Rows per second for this task (0: no limit).
    rate: float = 0.0


def session_for(settings: CassandraSettings) -> Session:
    """This worker's session to the profile keyspace (opened on first use)."""
    key = settings.model_dump_json()
    if key not in _sessions:
        _sessions[key] = cluster(settings).connect(settings.keyspace)
    return _sessions[key]


def _statements(
    load: TableLoad, session: Session, rows: Iterable[Mapping[str, Any]]
) -> Iterator[tuple[Any, int]]:
    key = partition_key(load.table)
    if load.table == "segment_memberships":
        members = MembershipStatements(session, day=load.day, ttl=ttl_of(load.table))
        for row in rows:
            segments = row["segments"] or {}
            yield members.statement(MembershipChange(row["adid"], dict(segments)))
        return
    writer: RowStatements | CounterStatements
    if load.table == "ad_counters":
        writer = CounterStatements(session)
    else:
        writer = RowStatements(session, load.settings.keyspace, load.table, load.columns)
    for _, group in itertools.groupby(rows, key=lambda r: r[key]):
        statement = writer.statement(list(group))
        if statement is not None:
            yield statement


def write_partition(load: TableLoad, chunk: int, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Write one chunk (rows sorted by the partition key); returns what was done."""
    session = session_for(load.settings)
    checkpoints = Checkpoints(session, f"{load.load_id}:{load.table}")
    if chunk in checkpoints.done():
        return {"table": load.table, "chunk": chunk, "skipped": True, "rows": 0, "seconds": 0.0}
    limiter = RateLimiter(load.rate) if load.rate > 0 else None
    writer = BulkWriter(session, concurrency=load.concurrency, limiter=limiter)
    started = time.monotonic()
    rows_written = 0
    for statement, n in _statements(load, session, rows):
        writer.submit(statement, n)
        rows_written += n
    writer.flush()
    checkpoints.mark(chunk, rows_written)
    return {
        "table": load.table,
        "chunk": chunk,
        "skipped": False,
        "rows": rows_written,
        "seconds": round(time.monotonic() - started, 3),
        "retries": writer.stats.retries,
        "throttled_seconds": round(writer.stats.throttled_seconds, 3),
    }
