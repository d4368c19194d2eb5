"""Asynchronous bulk writes with bounded concurrency, a rate limit and retries.

One :class:`BulkWriter` per process: ``submit`` hands a statement (normally a single-partition
unlogged batch) to the driver's ``execute_async`` and returns at once unless ``concurrency``
statements are already in flight or the rate limiter asks it to wait. Failed statements are
retried with a backoff; what still fails after ``attempts`` makes :meth:`flush` raise
:class:`LoadError`, so a chunk is only marked done when every row of it is written.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adtarget.profiles.errors import LoadError
from adtarget.profiles.throttle import RateLimiter

if TYPE_CHECKING:
    from cassandra.cluster import Session


@dataclass
class WriteStats:
    """What a writer did so far."""

    statements: int = 0
    rows: int = 0
    retries: int = 0
    throttled_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def rows_per_second(self) -> float:
        return self.rows / max(time.monotonic() - self.started, 1e-9)


class BulkWriter:
    """Writes statements concurrently; see the module's docstring."""

    def __init__(
        self,
        session: Session,
        *,
        concurrency: int = 64,
        limiter: RateLimiter | None = None,
        attempts: int = 5,
        backoff: float = 0.2,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency: {concurrency!r} must be at least 1")
        self._session = session
        self._slots = threading.BoundedSemaphore(concurrency)
        self._concurrency = concurrency
        self._limiter = limiter
        self._attempts = attempts
        self._backoff = backoff
        self._lock = threading.Lock()
        self._failed: list[tuple[Any, int, int, BaseException]] = []
        self.stats = WriteStats()

    def submit(self, statement: Any, rows: int = 1, *, _attempt: int = 1) -> None:
        """Send ``statement`` (worth ``rows`` rows) once a slot and the rate allow it."""
        if self._limiter is not None:
            self.stats.throttled_seconds += self._limiter.acquire(rows)
        self._slots.acquire()
        try:
            future = self._session.execute_async(statement)
        except BaseException:
            self._slots.release()
            raise
        future.add_callbacks(
            callback=self._done,
            callback_args=(rows,),
            errback=self._error,
            errback_args=(statement, rows, _attempt),
        )
        self._retry_failed()

    def _done(self, _result: Any, rows: int) -> None:
        # Runs on the driver's I/O thread: count and free the slot, nothing that could block.
        with self._lock:
            self.stats.statements += 1
            self.stats.rows += rows
        self._slots.release()

    def _error(self, exc: BaseException, statement: Any, rows: int, attempt: int) -> None:
        with self._lock:
            self._failed.append((statement, rows, attempt, exc))
        self._slots.release()

    def _retry_failed(self) -> None:
        with self._lock:
            failed, self._failed = self._failed, []
        for statement, rows, attempt, exc in failed:
            if attempt >= self._attempts:
                raise LoadError(f"a write failed {attempt} times, last with {type(exc).__name__}: {exc}")
            self.stats.retries += 1
            time.sleep(self._backoff * 2 ** (attempt - 1))
            self.submit(statement, rows, _attempt=attempt + 1)

    def flush(self) -> WriteStats:
        """Wait for every statement in flight (retrying failures); raises :class:`LoadError`."""
        while True:
            for _ in range(self._concurrency):
                self._slots.acquire()
            for _ in range(self._concurrency):
                self._slots.release()
            with self._lock:
                pending = bool(self._failed)
            if not pending:
                return self.stats
            self._retry_failed()
