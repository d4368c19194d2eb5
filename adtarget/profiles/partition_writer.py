"""The part of a warehouse load that runs in each Spark task: one partition, one chunk.

``spark/load_profiles.py`` hash-partitions a table's rows by their Cassandra partition key and
sorts each Spark partition by it; :func:`write_partition` then groups consecutive rows per user,
turns each group into one statement and writes the chunk with a :class:`BulkWriter`, skipping it
if a checkpoint says an earlier run already wrote it. The Cassandra session is opened once per
Python worker and reused by the tasks that worker runs.

With a rate cap and ``adaptive``, each task also runs a :class:`ReadProbe` on the users of its
chunk: the task starts at a quarter of its cap and climbs towards it while profile reads stay as
fast as before the load, and halves its rate when they slow down. The idle baseline is measured
once per worker, before its first write, so a task that starts while others load does not take
their slowdown for normal.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.loader import Checkpoints, MembershipChange, MembershipStatements
from adtarget.profiles.probe import ReadProbe
from adtarget.profiles.statements import CounterStatements, RowStatements, ttl_of
from adtarget.profiles.throttle import RateLimiter
from adtarget.profiles.writer import BulkWriter

if TYPE_CHECKING:
    from cassandra.cluster import Session

#: The partition key of the tables that are not keyed by ``adid``.
PARTITION_KEYS = {"ids_by_bid": "bid"}

#: Users of a chunk whose profiles the adaptive probe reads (the chunk's first ones).
PROBE_KEYS = 200

_sessions: dict[str, Session] = {}
_baselines: dict[str, float] = {}


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
    #: Below the cap, back off while profile reads are slower than before the load.
    adaptive: bool = False


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
    probe: ReadProbe | None = None
    if limiter is not None and load.adaptive:
        head, rows = _peek(rows, PROBE_KEYS)
        keys = [str(r["adid"]) for r in head if r.get("adid")]
        if keys:
            limiter.set_rate(load.rate / 4)  # a slow start: the probe raises it while reads stay fast
            worker = load.settings.model_dump_json()
            probe = ReadProbe(session, keys, limiter, maximum=load.rate, baseline=_baselines.get(worker))
            _baselines.setdefault(worker, probe.control.baseline)
    writer = BulkWriter(session, concurrency=load.concurrency, limiter=limiter)
    started = time.monotonic()
    rows_written = 0
    with probe or contextlib.nullcontext():
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
        **({"probe": probe.report()} if probe is not None else {}),
    }


def _peek(
    rows: Iterable[Mapping[str, Any]], n: int
) -> tuple[list[Mapping[str, Any]], Iterator[Mapping[str, Any]]]:
    """The first ``n`` rows, and all the rows again (those first ones included)."""
    it = iter(rows)
    head = list(itertools.islice(it, n))
    return head, itertools.chain(head, it)
