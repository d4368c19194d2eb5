"""The profile store as the API reads it: twelve prepared SELECTs fired at once, gathered
until a deadline.

The reads go through acsylla, an asyncio driver over the C++ Cassandra driver: its I/O thread
runs no Python, and a finished request wakes the event loop through a socket. Side by side in
one process, cassandra-driver spent 137-387 us of CPU per read and acsylla 40-64 us (3.4-7.6x
less; ``bench/profile_api.py``'s driver ceiling measures both): at 300 requests/s, 3,600
reads/s, 0.5-1.4 cores against 0.15-0.23, on a two-core host that also runs Cassandra.
The audience sketches (:meth:`ProfileStore.sketches`) are read through cassandra-driver, as
the batch jobs that write them do; that endpoint is not on the ad server's path.

acsylla serves the event loops of one thread per process: each uvicorn worker is a process
with one loop, which is what it needs.

What has not arrived by the deadline is reported missing and its late answer dropped; an error
on one table is reported for that table alone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adtarget.profiles.config import CassandraSettings, async_cluster, cluster
from adtarget.profiles.tables import PROFILE_TABLES, SELECT_ADID_BY_BID, ProfileTable
from adtarget.segments.sketch_cache import SketchCache
from adtarget.segments.sketches import SketchStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from cassandra.cluster import Cluster

log = logging.getLogger(__name__)

PING = "SELECT release_version FROM system.local WHERE key = ?"
#: The driver gives up on a read after this long; the API stopped waiting well before.
DRIVER_TIMEOUT = 2.0
#: Reads still out after their request answered without them. Held until they end: the loop
#: keeps only weak references to tasks, and a read's buffers belong to its task.
_LATE: set[asyncio.Task[Any]] = set()


@dataclass
class ProfileRead:
    """The outcome of one fan-out."""

    parts: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.missing or self.errors)

    def add(self, table: ProfileTable, rows: Any, error: BaseException | None) -> None:
        """Record one table's answer: its rows (dicts) as JSON-ready values, or its error."""
        if error is not None:
            self.errors[table.name] = f"{type(error).__name__}: {error}"[:200]
            return
        plain = [_plain(r) for r in rows]
        self.parts[table.name] = plain if table.many else (plain[0] if plain else None)

    def check_reachable(self, tables: int) -> None:
        """Raise :class:`StoreUnavailable` when every one of ``tables`` reads failed."""
        if self.errors and len(self.errors) == tables:
            raise StoreUnavailable(next(iter(self.errors.values())))

    @property
    def known(self) -> bool:
        """Whether any table holds something about the user."""
        return any(bool(v) for v in self.parts.values())


class StoreUnavailable(RuntimeError):
    """No Cassandra node can be reached right now."""


async def _rows(pending: Awaitable[Any]) -> list[dict[str, Any]]:
    return [row.as_dict() for row in await pending]


def _park(tasks: set[asyncio.Task[Any]]) -> None:
    """Keep reads that missed their deadline alive until the driver ends them (by their answer or
    :data:`DRIVER_TIMEOUT`). They are not cancelled: that would not withdraw a request already
    sent, only drop the task that owns its answer's buffers while the driver still fills them."""
    for task in tasks:
        _LATE.add(task)
        task.add_done_callback(_forget)


def _forget(task: asyncio.Task[Any]) -> None:
    _LATE.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a late failure is not "never retrieved" noise


async def _within(pending: Awaitable[Any], timeout: float) -> Any:
    """``pending``'s result, or TimeoutError after ``timeout`` s (the read goes on, unheard)."""
    task = asyncio.ensure_future(pending)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        _park({task})
        raise TimeoutError
    return task.result()


class ProfileStore:
    """Owns the driver sessions; :meth:`start` never fails, it keeps trying in the background."""

    def __init__(
        self,
        settings: CassandraSettings,
        *,
        reconnect_interval: float = 2.0,
        tables: tuple[ProfileTable, ...] = PROFILE_TABLES,
        on_table: Callable[[str, float, bool], None] | None = None,
        sequential: bool = False,
        sketch_cache: SketchCache | None = None,
    ) -> None:
        self._settings = settings
        self._sketch_cache = sketch_cache
        self._reconnect_interval = reconnect_interval
        self.tables = tables
        self._on_table = on_table
        self._sequential = sequential
        self._session: Any = None  # acsylla's Session
        self._selects: dict[str, Any] = {}
        self._by_bid: Any = None
        self._ping: Any = None
        self._sketch_cluster: Cluster | None = None
        self._sketches: SketchStore | None = None
        self._connector: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        driver = async_cluster(
            self._settings, request_timeout=DRIVER_TIMEOUT, reconnect_delay=self._reconnect_interval
        )
        session = await driver.create_session(keyspace=self._settings.keyspace)
        try:
            self._selects = {t.name: await session.create_prepared(t.select) for t in self.tables}
            self._by_bid = await session.create_prepared(SELECT_ADID_BY_BID)
            self._ping = await session.create_prepared(PING)
            sketch_cluster = await asyncio.to_thread(self._connect_sketches)
        except BaseException:
            await session.close()
            raise
        self._sketch_cluster, self._session = sketch_cluster, session

    def _connect_sketches(self) -> Cluster:
        c = cluster(self._settings, reconnect_delay=self._reconnect_interval, dict_rows=True)
        try:
            self._sketches = SketchStore(c.connect(self._settings.keyspace), cache=self._sketch_cache)
        except Exception:
            c.shutdown()
            raise
        return c

    async def _keep_connecting(self) -> None:
        while self._session is None:
            try:
                await self._connect()
                log.info("profile store: connected to %s", self._settings.hosts)
            except Exception as exc:  # the API answers 503 until Cassandra is there
                log.warning("profile store: cannot connect yet (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_interval)

    def sketches(self) -> SketchStore:
        """The audience sketches (through cassandra-driver; prepared once)."""
        if self._sketches is None:
            raise StoreUnavailable("not connected")
        return self._sketches

    async def start(self) -> None:
        """Connect now if Cassandra is up, else keep trying in the background."""
        self._connector = asyncio.create_task(self._keep_connecting())
        done, _ = await asyncio.wait({self._connector}, timeout=self._settings.connect_timeout)
        if done:
            self._connector.result()

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._sketch_cluster is not None:
            await asyncio.to_thread(self._sketch_cluster.shutdown)
        self._sketch_cluster = self._sketches = None

    async def ping(self, timeout: float = 0.5) -> bool:
        """Whether Cassandra answers a trivial query now (what ``/readyz`` reports)."""
        if self._session is None:
            return False
        try:
            await _within(self._execute(self._ping, "local"), timeout)
        except Exception:  # any failure means "not ready"; the reason is in the driver's log
            return False
        return True

    def _execute(self, prepared: Any, key: str) -> Awaitable[Any]:
        session = self._session
        if session is None:
            raise StoreUnavailable("not connected to Cassandra")
        pending: Awaitable[Any] = session.execute(prepared.bind((key,)))
        return pending

    async def adid_for_bid(self, bid: str, timeout: float) -> str | None:
        """The ADID a browser id belongs to, or None; raises TimeoutError past ``timeout``."""
        rows = await _within(_rows(self._execute(self._by_bid, bid)), timeout)
        return str(rows[0]["adid"]) if rows else None

    def _read_table(self, table: str, adid: str) -> Awaitable[list[dict[str, Any]]]:
        """One table's rows for ``adid``, as dicts."""
        return _rows(self._execute(self._selects[table], adid))

    async def read(self, adid: str, timeout: float) -> ProfileRead:
        """Read every table for ``adid`` at once; give up on what is not there by ``timeout`` s."""
        if self._session is None:
            raise StoreUnavailable("not connected to Cassandra")
        started = time.perf_counter()
        if self._sequential:
            return await self._read_sequentially(adid, timeout, started)
        arrived: dict[str, tuple[float, Any, BaseException | None]] = {}

        async def one(table: str) -> None:
            try:
                rows, error = await self._read_table(table, adid), None
            except Exception as exc:  # one table's error is that table's alone
                rows, error = None, exc
            arrived[table] = (time.perf_counter() - started, rows, error)

        loop = asyncio.get_running_loop()
        tasks = {loop.create_task(one(t.name)) for t in self.tables}
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        _park(pending)
        snapshot = dict(arrived)  # answers landing after this point are dropped
        result = ProfileRead()
        for table in self.tables:
            got = snapshot.get(table.name)
            if got is None:
                result.missing.append(table.name)
                continue
            seconds, rows, error = got
            result.latency[table.name] = seconds
            if self._on_table is not None:
                self._on_table(table.name, seconds, error is not None)
            result.add(table, rows, error)
        result.check_reachable(len(self.tables))
        return result

    async def _read_sequentially(self, adid: str, timeout: float, started: float) -> ProfileRead:
        """The seed's "before": one table after another, until the deadline."""
        result = ProfileRead()
        for table in self.tables:
            remaining = timeout - (time.perf_counter() - started)
            if remaining <= 0:
                result.missing.append(table.name)
                continue
            try:
                rows = await _within(self._read_table(table.name, adid), remaining)
            except TimeoutError:
                result.missing.append(table.name)
                continue
            except Exception as exc:  # one table's error is that table's alone
                result.add(table, None, exc)
                continue
            result.add(table, rows, None)
        result.check_reachable(len(self.tables))
        return result


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready values: timestamps in ISO 8601 (UTC, written without an offset, as
    the API has always answered them), maps with their keys, sets as lists."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None).isoformat()
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "items"):  # the driver's maps are Mappings, not dicts
            value = dict(value.items())
        elif isinstance(value, list | tuple | set | frozenset):
            value = list(value)
        out[key] = value
    return out
