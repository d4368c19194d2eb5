"""The profile store as the API reads it: twelve prepared SELECTs fired at once, gathered
until a deadline, bridged from the driver's callbacks to asyncio.

The driver runs its I/O on its own thread and calls back there; each callback hands its rows to
the event loop with ``call_soon_threadsafe``, so the request coroutine never blocks. What has
not arrived by the deadline is reported missing (and its late answer dropped); an error on one
table is reported for that table alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adtarget.profiles.config import CassandraSettings, cluster
from adtarget.profiles.tables import PROFILE_TABLES, SELECT_ADID_BY_BID, ProfileTable
from adtarget.segments.sketch_cache import SketchCache
from adtarget.segments.sketches import SketchStore

if TYPE_CHECKING:
    from cassandra.cluster import Cluster, Session

log = logging.getLogger(__name__)

PING = "SELECT release_version FROM system.local WHERE key = ?"
#: The driver gives up on a read after this long; the API stopped waiting well before.
DRIVER_TIMEOUT = 2.0


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
        """Record one table's answer: its rows as JSON-ready values, or its error."""
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


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the deadline passed and the request went on without it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class ProfileStore:
    """Owns the cluster and session; :meth:`start` never fails, it keeps trying in the background."""

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
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._selects: dict[str, Any] = {}
        self._by_bid: Any = None
        self._ping: Any = None
        self._connector: asyncio.Task[None] | None = None
        self._sketches: SketchStore | None = None

    def _connect(self) -> None:
        c = cluster(
            self._settings,
            request_timeout=DRIVER_TIMEOUT,
            reconnect_delay=self._reconnect_interval,
            dict_rows=True,
        )
        try:
            session = c.connect(self._settings.keyspace)
            self._selects = {t.name: session.prepare(t.select) for t in self.tables}
            self._by_bid = session.prepare(SELECT_ADID_BY_BID)
            self._ping = session.prepare(PING)
        except Exception:
            c.shutdown()
            raise
        self._cluster, self._session = c, session

    async def _keep_connecting(self) -> None:
        while self._session is None:
            try:
                await asyncio.to_thread(self._connect)
                log.info("profile store: connected to %s", self._settings.hosts)
            except Exception as exc:  # the API answers 503 until Cassandra is there
                log.warning("profile store: cannot connect yet (%s); retrying", exc)
                await asyncio.sleep(self._reconnect_interval)

    def sketches(self) -> SketchStore:
        """The audience sketches over this store's session (prepared once)."""
        session = self._session
        if session is None:
            raise StoreUnavailable("not connected")
        if self._sketches is None:
            self._sketches = SketchStore(session, cache=self._sketch_cache)
        return self._sketches

    async def start(self) -> None:
        """Connect now if Cassandra is up, else keep trying in the background."""
        self._connector = asyncio.create_task(self._keep_connecting())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._connector), timeout=self._settings.connect_timeout)

    async def close(self) -> None:
        if self._connector is not None:
            self._connector.cancel()
        if self._cluster is not None:
            await asyncio.to_thread(self._cluster.shutdown)
        self._cluster = self._session = None
        self._sketches = None

    @property
    def ready(self) -> bool:
        """Connected, and at least one node is up."""
        c = self._cluster
        return self._session is not None and c is not None and any(h.is_up for h in c.metadata.all_hosts())

    async def ping(self, timeout: float = 0.5) -> bool:
        """Whether Cassandra answers a trivial query now (what ``/readyz`` reports)."""
        if self._session is None:
            return False
        try:
            await asyncio.wait_for(self._execute(self._ping, "local"), timeout)
        except Exception:  # any failure means "not ready"; the reason is in the driver's log
            return False
        return True

    def _execute(self, statement: Any, key: str) -> asyncio.Future[Any]:
        if self._session is None:
            raise StoreUnavailable("not connected to Cassandra")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        response = self._session.execute_async(statement, (key,), timeout=DRIVER_TIMEOUT)
        response.add_callbacks(
            callback=lambda rows: loop.call_soon_threadsafe(_settle, future, rows, None),
            errback=lambda exc: loop.call_soon_threadsafe(_settle, future, None, exc),
        )
        return future

    async def adid_for_bid(self, bid: str, timeout: float) -> str | None:
        """The ADID a browser id belongs to, or None; raises TimeoutError past ``timeout``."""
        rows = await asyncio.wait_for(self._execute(self._by_bid, bid), timeout)
        return str(rows[0]["adid"]) if rows else None

    async def read(self, adid: str, timeout: float) -> ProfileRead:
        """Read every table for ``adid`` at once; give up on what is not there by ``timeout`` s."""
        if not self.ready:
            raise StoreUnavailable("no Cassandra node is up")
        started = time.perf_counter()
        if self._sequential:
            return await self._read_sequentially(adid, timeout, started)
        loop = asyncio.get_running_loop()
        everything: asyncio.Future[None] = loop.create_future()
        # Filled on the driver's I/O thread; one wake-up of the event loop when all 12 are in,
        # instead of one per table (each wake-up is a syscall and a GIL hand-over).
        arrived: dict[str, tuple[float, Any, BaseException | None]] = {}
        outstanding = [len(self.tables)]
        lock = threading.Lock()

        def landed(name: str, rows: Any, error: BaseException | None) -> None:
            arrived[name] = (time.perf_counter() - started, rows, error)
            with lock:
                outstanding[0] -= 1
                last = outstanding[0] == 0
            if last:
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, everything, None, None)

        def ok(rows: Any, name: str) -> None:
            landed(name, rows, None)

        def failed(error: BaseException, name: str) -> None:
            landed(name, None, error)

        for table in self.tables:
            self._send(table.name, adid, ok, failed)
        await asyncio.wait([everything], timeout=timeout)
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

    def _send(
        self,
        table: str,
        adid: str,
        ok: Callable[[Any, str], None],
        failed: Callable[[BaseException, str], None],
    ) -> None:
        """Start one table's read; ``ok(rows, table)`` or ``failed(error, table)`` runs on the
        driver's I/O thread when it ends."""
        if self._session is None:
            raise StoreUnavailable("not connected to Cassandra")
        response = self._session.execute_async(self._selects[table], (adid,), timeout=DRIVER_TIMEOUT)
        response.add_callbacks(callback=ok, callback_args=(table,), errback=failed, errback_args=(table,))

    async def _read_sequentially(self, adid: str, timeout: float, started: float) -> ProfileRead:
        """The seed's "before": one table after another, until the deadline."""
        result = ProfileRead()
        for table in self.tables:
            remaining = timeout - (time.perf_counter() - started)
            if remaining <= 0:
                result.missing.append(table.name)
                continue
            try:
                rows = await asyncio.wait_for(self._execute(self._selects[table.name], adid), remaining)
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
    """A row as JSON-ready values (timestamps in ISO 8601, maps with their keys)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "items"):  # the driver's maps are Mappings, not dicts
            value = dict(value.items())
        elif isinstance(value, list | tuple | set | frozenset):
            value = list(value)
        out[key] = value
    return out
