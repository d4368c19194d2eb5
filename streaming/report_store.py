"""The realtime report in Cassandra: idempotent row upserts, and recent windows for the views.

Each write carries ``USING TIMESTAMP`` = the row's source position + 1 (the position, offset and
index in the record, of the newest event the row includes). Cassandra keeps the write
with the highest timestamp, so snapshots of a row may arrive twice or out of order (a replay
after a crash, a worker that has just lost the partition) and the newest content still wins.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from adtarget.profiles.config import CassandraSettings, cluster
from streaming.report import MICROS, Totals, WindowKey

if TYPE_CHECKING:
    from cassandra.cluster import Cluster, Session

UPSERT = (
    "INSERT INTO {ks}.realtime_report (day, window_start, campaign_id, creative_id, impressions, clicks,"
    " conversions, spend_micros, late, source_partition, source_offset)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"
)
SELECT_SINCE = (
    "SELECT window_start, campaign_id, creative_id, impressions, clicks, conversions, spend_micros,"
    " late FROM {ks}.realtime_report WHERE day = ? AND window_start >= ?"
)
SELECT_DAY = (
    "SELECT window_start, campaign_id, creative_id, impressions, clicks, conversions, spend_micros,"
    " late FROM {ks}.realtime_report WHERE day = ?"
)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def row_json(key: WindowKey, totals: Totals) -> dict[str, Any]:
    """A row as the report topic and the views show it."""
    return {
        "window_start": _utc(key.window_start_ms).isoformat().replace("+00:00", "Z"),
        "campaign_id": key.campaign_id,
        "creative_id": key.creative_id,
        "impressions": totals.impressions,
        "clicks": totals.clicks,
        "conversions": totals.conversions,
        "spend": totals.spend_micros / MICROS,
        "ctr": totals.ctr,
        "late": totals.late,
    }


class ReportStore:
    """A connection to the report table; :meth:`upsert` and the reads are coroutines."""

    def __init__(self, settings: CassandraSettings | None = None) -> None:
        self.settings = settings or CassandraSettings()
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._lock = asyncio.Lock()

    def connect(self) -> None:
        """Connect (blocking; call before the event loop needs it, or in a thread)."""
        self._cluster = cluster(self.settings, request_timeout=5.0, reconnect_delay=1.0)
        self._session = self._cluster.connect()
        # The keyspace name is validated by CassandraSettings; it is a name, not a value to bind.
        ks = self.settings.keyspace
        self._upsert = self._session.prepare(UPSERT.format(ks=ks))
        self._since = self._session.prepare(SELECT_SINCE.format(ks=ks))
        self._day = self._session.prepare(SELECT_DAY.format(ks=ks))

    async def connected(self) -> None:
        """Connect on first use, in a thread (the driver blocks while it learns the ring)."""
        if self._session is None:
            async with self._lock:
                if self._session is None:
                    await asyncio.get_running_loop().run_in_executor(None, self.connect)

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None

    def _run(self, statement: Any, params: tuple[Any, ...]) -> asyncio.Future[Any]:
        if self._session is None:
            raise RuntimeError("ReportStore.connect() was not called")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(result: Any, error: BaseException | None) -> None:
            if not future.done():
                future.set_exception(error) if error else future.set_result(result)

        response = self._session.execute_async(statement, params)
        response.add_callbacks(
            callback=lambda rows: loop.call_soon_threadsafe(settle, list(rows or ()), None),
            errback=lambda exc: loop.call_soon_threadsafe(settle, None, exc),
        )
        return future

    async def upsert(self, rows: Mapping[WindowKey, Totals]) -> None:
        """Write every row (concurrently); raises the first error after all have finished."""
        futures = []
        for key, t in rows.items():
            start = _utc(key.window_start_ms)
            params = (
                start.date(),
                start,
                key.campaign_id,
                key.creative_id,
                t.impressions,
                t.clicks,
                t.conversions,
                t.spend_micros,
                t.late,
                t.partition,
                t.offset,
                t.offset + 1,
            )
            futures.append(self._run(self._upsert, params))
        for outcome in await asyncio.gather(*futures, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome

    async def recent(self, now_ms: int, minutes: int) -> dict[WindowKey, Totals]:
        """Rows of the last ``minutes`` windows up to ``now_ms`` (reads each day they span)."""
        since = _utc(now_ms - minutes * 60_000)
        days = {since.date(), _utc(now_ms).date()}
        results = await asyncio.gather(*(self._run(self._since, (day, since)) for day in sorted(days)))
        return {k: v for rows in results for k, v in map(_from_row, rows)}

    async def day(self, day: dt.date) -> dict[WindowKey, Totals]:
        """Every row of one UTC day."""
        return dict(map(_from_row, await self._run(self._day, (day,))))


def _from_row(row: Any) -> tuple[WindowKey, Totals]:
    start = row.window_start.replace(tzinfo=dt.UTC)
    key = WindowKey(int(start.timestamp() * 1000), row.campaign_id, row.creative_id)
    return key, Totals(row.impressions, row.clicks, row.conversions, row.spend_micros, row.late)
