"""The realtime ad report: a Faust app over the bridge's ``ad-events`` topic.

    python -m streaming.report_app          # a worker; web views on :6066

One agent reads the records (packs of events, see :mod:`streaming.packer`) one by one and counts
their events with :class:`streaming.report.PartitionReport`, per source partition, into three
changelog-backed tables: the report rows, the event ids seen (dedup, stored in groups) and each
partition's watermark. Every ``batch_size`` records, or ``batch_wait`` seconds, the changelog of
what changed is sent to the records' own partitions and, once Kafka has stored it, the records
are acknowledged, so a committed offset never runs ahead of stored state. A partition's state
moves with it on a rebalance and is rebuilt from Kafka after a crash (the memory store keeps
nothing on disk).

The rows are exact across restarts whichever processing guarantee is set: a row carries the
position (offset and index in the record) of the newest event it includes, so the replay that
follows a ``kill -9`` recognises what is already counted (Faust's exactly-once has known holes,
e.g. faust-streaming #517, #323; the report does not depend on it). Changed rows go out every
``flush_interval`` as whole-row upserts to the compacted ``ad-report`` topic and, every
``store_interval`` in the background, to Cassandra (``realtime_report``, newest position wins),
without waiting for the batch's changelog; after a partition is assigned, all its rows are
written again, so a write lost in a crash is made good.

Views (Faust's web server): ``/report`` (JSON), ``/report.html`` (refreshes itself), ``/metrics``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, cast

import faust
from faust.types import TP, EventT, TableT
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest

from adtarget.profiles.config import CassandraSettings
from streaming.events import AdEvent
from streaming.faust_transport import ReportApp
from streaming.packer import PACK_SLOTS
from streaming.report import WINDOW_MS, Outcome, PartitionReport, Seen, Totals, Watermark, WindowKey
from streaming.report_store import ReportStore, row_json
from streaming.report_view import render_html, report_json
from streaming.settings import StreamingSettings
from streaming.stall_watch import StallWatch

log = logging.getLogger(__name__)


class Metrics:
    """The worker's Prometheus counters (a registry of its own, served at ``/metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "report_events",
            "Events taken from the events topic, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "report_dead_lettered", "Records that were not events", registry=self.registry
        )
        self.flushed = Counter("report_rows_flushed", "Row snapshots written out", registry=self.registry)
        self.flush_errors = Counter("report_flush_errors", "Failed flushes (retried)", registry=self.registry)
        self.pending = Gauge(
            "report_rows_pending", "Changed rows not yet written out", registry=self.registry
        )
        self.watermark = Gauge(
            "report_watermark_ms", "Latest event time per partition", ["partition"], registry=self.registry
        )
        self.stalls = Counter(
            "report_partition_stalls",
            "Stalled partitions resumed and read again (see streaming.stall_watch)",
            ["partition"],
            registry=self.registry,
        )


class ReportWorker:
    """The agent's state: one :class:`PartitionReport` per assigned partition, and the flush."""

    def __init__(
        self,
        settings: StreamingSettings,
        *,
        rows: TableT[str, Any],
        seen: TableT[str, Any],
        watermarks: TableT[str, Any],
        report_topic: faust.TopicT,
        dead_letter_topic: faust.TopicT,
        store: ReportStore | None,
    ) -> None:
        self.settings = settings
        self.rows_table, self.seen_table, self.watermarks_table = rows, seen, watermarks
        self.report_topic, self.dead_letter_topic = report_topic, dead_letter_topic
        self.store = store
        # The rows of the assigned partitions, live: counting an event must not cost a store
        # round trip (decoding and encoding the row took half the worker's time). The table's
        # store gets a row's value with its changelog, in :meth:`write_changes`.
        self.rows: dict[WindowKey, Totals] = {}
        # Event ids are kept in memory per id, and stored in groups: one changelog record per
        # partition and batch (``partition:first position`` -> [[id, position, window], ...]), so
        # dedup costs a record per batch, not per event. A group is deleted once all its windows
        # are past the dedup horizon.
        self.seen: dict[str, Seen] = {}
        self.groups: dict[int, dict[str, int]] = {}  # partition -> group key -> newest window
        self.partitions: dict[int, PartitionReport] = {}
        # Rows changed since they were last written to the report topic, and to Cassandra.
        self.dirty: dict[WindowKey, Totals] = {}
        self.dirty_store: dict[WindowKey, Totals] = {}
        self._store_task: asyncio.Task[None] | None = None
        self._next_store = 0.0  # monotonic time of the next Cassandra write
        self.metrics = Metrics()
        self.watch = StallWatch(settings.stall_timeout)
        self._declared = False
        # The batch being taken: records to acknowledge, partitions touched, bad records, outcomes.
        self._pending: list[EventT[bytes]] = []
        self._touched: dict[int, PartitionReport] = {}
        self._bad: list[tuple[Any, str]] = []
        self._counts = dict.fromkeys(Outcome, 0)
        self._lock = asyncio.Lock()
        self._failing = False

    def partition(self, number: int) -> PartitionReport:
        """The state of a partition, restored from the tables on first use after an assignment."""
        part = self.partitions.get(number)
        if part is None:
            groups = self.groups[number] = {}
            for raw_key, raw_row in list(self.rows_table.data.items()):
                totals = Totals.from_json(raw_row) if raw_row is not None else None
                if totals is not None and totals.partition == number:
                    self.rows[WindowKey.decode(raw_key)] = totals
            prefix = f"{number}:"
            for group, members in list(self.seen_table.data.items()):
                if members and group.startswith(prefix):
                    groups[group] = max(window for _, _, window in members)
                    for event_id, where, window in members:
                        self.seen[event_id] = Seen(number, where, window)
            raw = self.watermarks_table.data.get(str(number))
            s = self.settings
            part = PartitionReport(
                number,
                self.rows,
                self.seen,
                watermark=Watermark.from_json(raw) if raw else None,
                allowed_lateness_ms=s.allowed_lateness_ms,
                dedup_horizon_ms=s.dedup_horizon_ms,
                retention_ms=s.retention_ms,
            )
            self.partitions[number] = part
            # Whatever the previous owner (or this process before a crash) had not flushed yet.
            for key in part.owned():
                self.dirty[key] = self.dirty_store[key] = self.rows[key]
            log.info(
                "partition %d: %d rows restored, watermark %s", number, len(part.owned()), part.watermark
            )
        return part

    def add(self, event: EventT[bytes]) -> None:
        """Count the events of one record; it is acknowledged by the next :meth:`persist`."""
        message = event.message
        part = self.partitions.get(message.partition) or self.partition(message.partition)
        self.watch.delivered(message.partition, message.offset)
        self._touched[message.partition] = part
        self._pending.append(event)
        try:
            ads = AdEvent.decode_many(message.value or b"")
        except (ValueError, TypeError, KeyError) as exc:
            self._bad.append((message, f"not an event: {exc}"))
            return
        add, at = part.add, message.offset * PACK_SLOTS
        counts = self._counts
        for index, ad in enumerate(ads):
            counts[add(ad, at + index)] += 1

    def due(self) -> bool:
        """Whether the records taken since the last persist make a batch."""
        return len(self._pending) >= self.settings.batch_size

    async def persist(self) -> None:
        """Write what the pending records changed, wait until Kafka has it, then acknowledge them.

        Records are acknowledged by hand (the stream is ``noack``), only once their changelog is
        stored. Faust's own path is not safe for this: before a commit it flushes its producer
        buffer for at most 0.1 s per message (``ProducerBuffer.flush_atmost``), so a commit can
        overtake queued changelog writes; and ``take_events`` handed out the wrong events when
        its buffer filled (records skipped and repeated), both seen losing counts after kill -9.
        """
        async with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, []
            touched, self._touched = self._touched, {}
            bad, self._bad = self._bad, []
            counts, self._counts = self._counts, dict.fromkeys(Outcome, 0)
            stored: list[Awaitable[Any]] = [await self.dead_letter(m, reason) for m, reason in bad]
            for number, part in touched.items():
                part.expire()
                stored += await self.write_changes(number, part)
            await asyncio.gather(*stored)
            for event in pending:
                event.ack()
            for outcome, n in counts.items():
                if n:
                    self.metrics.events.labels(outcome.value).inc(n)

    async def write_changes(self, number: int, part: PartitionReport) -> list[Awaitable[Any]]:
        """Send the changelog of a partition's batch; the delivery futures."""
        changes = part.take_changes()
        stored = []
        for key, totals in changes.rows.items():
            stored.append(await self._changelog(self.rows_table, number, key.encode(), totals))
            if totals is not None:
                self.dirty[key] = self.dirty_store[key] = totals
        added = [(e, w.offset, w.window_start_ms) for e, w in changes.seen.items() if w is not None]
        groups = self.groups[number]
        if added:
            group = f"{number}:{added[0][1]}"
            stored.append(await self._changelog(self.seen_table, number, group, added))
            groups[group] = max(window for _, _, window in added)
        horizon = part.watermark.time_ms - WINDOW_MS - self.settings.dedup_horizon_ms
        for group in [g for g, newest in groups.items() if newest <= horizon]:
            del groups[group]
            stored.append(await self._changelog(self.seen_table, number, group, None))
        stored.append(await self._changelog(self.watermarks_table, number, str(number), part.watermark))
        self.metrics.watermark.labels(str(number)).set(part.watermark.time_ms)
        self.metrics.pending.set(len(self.dirty))
        return stored

    @staticmethod
    async def _changelog(table: TableT[str, Any], partition: int, key: str, value: Any) -> Awaitable[Any]:
        """Set ``key`` in the table's store and send its changelog record to ``partition``; None
        deletes it (a tombstone: gone after a restore too)."""
        body = value if value is None or isinstance(value, list) else value.to_json()
        if body is None:
            table.data.pop(key, None)
        else:
            table.data[key] = body
        return await table.changelog_topic.send(
            key=key,
            value=body,
            partition=partition,
            # The table's own serializers (Faust's TableT does not declare them), as in restores.
            key_serializer=cast(Any, table).key_serializer,
            value_serializer="raw" if value is None else cast(Any, table).value_serializer,
        )

    async def dead_letter(self, message: Any, reason: str) -> Awaitable[Any]:
        """Send a record that is not events to the dead-letter topic; the delivery future."""
        self.metrics.dead_lettered.inc()
        return await self.dead_letter_topic.send(
            key=message.key,
            value=message.value,
            headers=[("reason", reason.encode()), ("field", b"")],
        )

    def on_revoked(self, revoked: set[TP]) -> None:
        """Forget revoked partitions' in-memory state; it is rebuilt from the tables if they return.

        The tables' own data is left to Faust, which restores it from the changelog as needed.
        """
        gone = {tp.partition for tp in revoked if tp.topic == self.settings.events_topic}
        self.watch.forget(gone)
        for number in gone:
            part = self.partitions.pop(number, None)
            if part is None:
                continue
            for key in part.owned():
                self.rows.pop(key, None)
                self.dirty.pop(key, None)
                self.dirty_store.pop(key, None)
            for event_id in [i for i, where in self.seen.items() if where.partition == number]:
                del self.seen[event_id]
            self.groups.pop(number, None)

    async def flush(self) -> None:
        """Write the changed rows out: the report topic now, Cassandra in the background.

        The topic is the realtime feed, written every tick. Cassandra (what the views read) is
        written every ``store_interval``: a write of many rows can take longer than a tick on a
        busy machine, so it runs on its own and takes whatever changed meanwhile when it is done.
        Rows of a failed write are kept for a retry.
        """
        # Rows counted since the last persist go out too: the report does not wait for their
        # changelog. A row carries its position: after a crash the replay rebuilds the same row
        # at the same position, and readers keep the newest position (Cassandra's write time is
        # the position; a reader of the topic compares it), so an older row sent meanwhile by
        # the replay never wins.
        for part in self.partitions.values():
            for key, totals in part.changes.rows.items():
                if totals is not None:
                    self.dirty[key] = self.dirty_store[key] = totals
        now = time.monotonic()
        if (
            self.store is not None
            and now >= self._next_store
            and (self._store_task is None or self._store_task.done())
        ):
            self._next_store = now + self.settings.store_interval
            self._store_task = asyncio.create_task(self._flush_store())
        if not self.dirty:
            return
        rows, self.dirty = self.dirty, {}
        try:
            if not self._declared:  # created with its partitions and compaction, not by auto-create
                await self.report_topic.maybe_declare()
                await self.dead_letter_topic.maybe_declare()
                self._declared = True
            for key, totals in rows.items():
                body = row_json(key, totals) | {"partition": totals.partition, "position": totals.offset}
                await self.report_topic.send(
                    key=key.encode().encode(), value=json.dumps(body).encode(), partition=totals.partition
                )
        except Exception as exc:
            self._flush_failed(rows, self.dirty, exc)
            return
        self._failing = False
        self.metrics.flushed.inc(len(rows))
        self.metrics.pending.set(len(self.dirty))

    async def _flush_store(self) -> None:
        if not self.dirty_store or self.store is None:
            return
        rows, self.dirty_store = self.dirty_store, {}
        try:
            await self.store.connected()
            await self.store.upsert(rows)
        except Exception as exc:
            self._flush_failed(rows, self.dirty_store, exc)

    def _flush_failed(
        self, rows: dict[WindowKey, Totals], dirty: dict[WindowKey, Totals], exc: Exception
    ) -> None:
        self.metrics.flush_errors.inc()
        if not self._failing:  # the first failure in a row with its traceback, then one line each
            log.error("writing %d report rows failed; retrying", len(rows), exc_info=exc)
        else:
            log.warning("writing %d report rows failed again (%s); retrying", len(rows), exc)
        self._failing = True
        for key, totals in rows.items():  # newer snapshots taken meanwhile win
            dirty.setdefault(key, totals)


async def resume_stalled(app: faust.App, worker: ReportWorker) -> None:
    """Resume the events partitions that :class:`StallWatch` finds stalled, and read them again.

    The remedy is the one Faust applies after a rebalance, for this worker's assignment as it
    is: stop the flow of records, resume the partitions, seek them to their committed offsets
    (which also resets the read offsets below which Faust drops records), start the flow again.
    The flow stops first so that no record fetched before the seek is handed over after it.
    Every partition is read again from its committed offset, not only the stalled one; what was
    already counted is recognised by its position.
    """
    consumer = cast(Any, app.consumer)  # Faust's Consumer; its TP bookkeeping is not typed
    recovery = cast(Any, app.tables).recovery
    watch, topic = worker.watch, worker.settings.events_topic
    if app.rebalancing or not recovery.completed.is_set():
        watch.hold()
        return
    assigned = {tp.partition: tp for tp in consumer.assignment() if tp.topic == topic}
    watch.track(assigned)
    if not assigned:
        return
    try:
        ends = {tp.partition: end for tp, end in (await consumer.highwaters(*assigned.values())).items()}
    except Exception as exc:  # Kafka unreachable: the consumer says so itself; look again later
        log.warning("stall watch: no log end offsets (%s)", exc)
        return
    committed = {
        tp.partition: offset
        for tp, offset in consumer._committed_offset.items()
        if tp.topic == topic and offset is not None
    }
    stalled = watch.stalled(ends, committed)
    if not stalled:
        return
    for number, offset in stalled.items():
        tp = assigned[number]
        log.warning(
            "partition %d stalled: no record handed over for %.0f s, the log ends at offset %d and"
            " the report needs offset %s (Faust: %s); resuming it and reading again from the"
            " committed offsets (remedy %d in a row)",
            number,
            watch.timeout,
            ends[number],
            offset,
            _flow_state(consumer, tp),
            watch.remedies(number),
        )
        worker.metrics.stalls.labels(str(number)).inc()
    consumer.stop_flow()
    try:
        await asyncio.sleep(0.1)  # the fetcher loop hands over or drops what it holds, then waits
        consumer.resume_partitions({assigned[number] for number in stalled})
        await consumer.perform_seek()
        for number in stalled:
            tp = assigned[number]
            if consumer._committed_offset.get(tp) is None:  # nothing (or 0) committed: from the start
                await consumer.seek(tp, (await consumer.earliest_offsets(tp))[tp])
    finally:
        consumer.resume_flow()


def _flow_state(consumer: Any, tp: TP) -> str:
    """Where Faust keeps a partition's flow, for the log of a stall."""
    active = consumer._active_partitions
    return (
        f"active={active is None or tp in active} paused={tp in consumer._paused_partitions}"
        f" buffered={tp in consumer._buffered_partitions} read_offset={consumer._read_offset.get(tp)}"
        f" committed={consumer._committed_offset.get(tp)} flow_active={consumer.flow_active}"
    )


def create_app(
    settings: StreamingSettings | None = None,
    cassandra: CassandraSettings | None = None,
    *,
    use_cassandra: bool = True,
) -> faust.App:
    """The Faust app, configured from ``STREAMING_*`` (and ``ADTARGET_CASSANDRA_*`` for the sink)."""
    s = settings or StreamingSettings()
    Path(s.report_datadir).mkdir(parents=True, exist_ok=True)
    app = ReportApp(
        s.report_app_id,
        fetch_max_wait_ms=s.fetch_max_wait_ms,
        broker=[f"kafka://{host.strip()}" for host in s.kafka_bootstrap.split(",")],
        store="memory://",
        processing_guarantee=s.report_guarantee,
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=s.session_timeout,
        broker_heartbeat_interval=max(0.5, s.session_timeout / 5),
        broker_rebalance_timeout=s.session_timeout * 2,
        producer_acks=-1,
        web_host=s.report_host,
        web_port=s.report_port,
        datadir=s.report_datadir,
        autodiscover=False,
    )
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    events = app.topic(s.events_topic, partitions=s.partitions, **raw)
    report_topic = app.topic(s.report_topic, partitions=s.partitions, compacting=True, **raw)
    dead_letter_topic = app.topic(s.dead_letter_topic, partitions=s.partitions, **raw)
    tables = {
        name: app.Table(f"report-{name}", partitions=s.partitions, key_type=str)
        for name in ("rows", "seen", "watermarks")
    }
    store = ReportStore(cassandra) if use_cassandra else None
    worker = ReportWorker(
        s,
        rows=tables["rows"],
        seen=tables["seen"],
        watermarks=tables["watermarks"],
        report_topic=report_topic,
        dead_letter_topic=dead_letter_topic,
        store=store,
    )
    app.report_worker = worker  # type: ignore[attr-defined]

    fault = s.fault_stall_partition
    faulted: set[int] = set()  # generations in which the fault was injected

    @app.agent(events)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for event in cast("faust.Stream[bytes]", stream).noack().events():
            if fault is not None and event.message.partition == fault:
                _inject_stall(app, worker, event.message.tp, faulted)
            worker.add(event)
            if worker.due():
                await worker.persist()

    @app.timer(min(5.0, s.stall_timeout / 3))  # type: ignore[untyped-decorator]  # not annotated
    async def unstall() -> None:
        await resume_stalled(app, worker)

    @app.timer(s.batch_wait)  # type: ignore[untyped-decorator]  # faust's timer is not annotated
    async def persist_quiet() -> None:
        await worker.persist()  # what a quiet stream left pending

    @app.timer(s.flush_interval)  # type: ignore[untyped-decorator]  # faust's timer is not annotated
    async def flush() -> None:
        await worker.flush()

    @app.on_partitions_revoked.connect
    async def forget(sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        worker.on_revoked(args[0])  # the revoked partitions

    @app.page("/report")
    async def report(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return view.json(await _recent(request))

    @app.page("/report.html")
    async def report_html(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return view.html(render_html(await _recent(request)))

    @app.page("/readyz")
    async def readyz(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        # Ready means counting: partitions assigned and their tables recovered (the web server
        # answers long before), and the report's store reachable.
        waiting = []
        recovery = cast("Any", app.tables).recovery  # TableManagerT does not declare it
        if app.rebalancing or not recovery.completed.is_set():
            waiting.append("partition assignment and table recovery")
        if store is not None:
            try:
                await store.connected()
            except Exception as exc:  # any driver error means not ready; say which
                waiting.append(f"cassandra: {exc}")
        return view.json({"ready": not waiting, "waiting": waiting}, status=503 if waiting else 200)

    @app.page("/metrics")
    async def metrics(view: faust.web.View, request: faust.web.Request) -> faust.web.Response:
        return view.bytes(
            generate_latest(worker.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _recent(request: faust.web.Request) -> dict[str, Any]:
        try:
            minutes = int(request.query.get("minutes", s.report_minutes))
        except ValueError:
            minutes = s.report_minutes
        minutes = min(max(minutes, 1), 1440)
        now_ms = int(time.time() * 1000)
        if store is None:
            rows = dict(worker.rows.items())
        else:
            await store.connected()
            rows = await store.recent(now_ms, minutes)
        return report_json(rows, now_ms=now_ms, minutes=minutes)

    return app


def _inject_stall(app: faust.App, worker: ReportWorker, tp: TP, faulted: set[int]) -> None:
    """The ``fault_stall_partition`` test fault: Faust stops handing over ``tp``'s records.

    Injected once per consumer generation (a rebalance resets Faust's state, and with it the
    fault) until the stall watch has resumed the partition once.
    """
    generation = app.consumer_generation_id
    if generation in faulted or worker.watch.stalls.get(tp.partition):
        return
    faulted.add(generation)
    cast(Any, app.consumer).pause_partitions({tp})  # as Faust does during a recovery
    log.warning("test fault: partition %d paused", tp.partition)


def main(argv: list[str] | None = None) -> None:
    """Run a worker (``python -m streaming.report_app [faust worker options]``)."""
    s = StreamingSettings()
    app = create_app(s)
    extra = list(sys.argv[1:] if argv is None else argv)
    web = ["--web-bind", s.report_host, "--web-host", s.report_host, "--web-port", str(s.report_port)]
    sys.argv = [sys.argv[0], "worker", "--loglevel", "info", *web, *extra]
    app.main()


if __name__ == "__main__":
    main()
