"""Sketches kept in memory by a long-lived process, keyed by the version of what holds them.

Reading a 100-keyword estimate's sketches from Cassandra moves about 3 MB (each full sketch is
~32 KB) and takes 25-100 ms here, while their union takes ~3 ms. Stored sketches never change
in place: a day or window that is rebuilt gets a new marker time
(``attribute_sketch_markers.built_at``), so an entry keyed by (kind, value, piece, marker time)
is valid for as long as it exists and needs no expiry. The cache holds at most ``max_bytes`` of
sketches and drops the least recently used first. Entries also remember "nothing stored" (a
value without a row in a piece), which costs a read as well.

The profile API keeps one per worker process (``SERVING_ESTIMATE_CACHE_MB``); one-off callers
(the Airflow sizing task, the benchmark's cold peer) use none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

#: What an entry costs beyond its sketches' bytes (key, list, bookkeeping), roughly.
ENTRY_OVERHEAD = 200


@dataclass
class CacheStats:
    """Counters since the cache was made."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0


class SketchCache:
    """A thread-safe LRU of ``key -> list of sketch blobs``, bounded by their total bytes."""

    def __init__(self, max_bytes: int, *, on_lookup: Callable[[bool], None] | None = None) -> None:
        """``on_lookup(hit)`` is called after each :meth:`get` (e.g. to count in metrics)."""
        if max_bytes <= 0:
            raise ValueError(f"max_bytes: {max_bytes!r} must be positive")
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, tuple[list[bytes], int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._on_lookup = on_lookup

    @property
    def size_bytes(self) -> int:
        """The bytes held now (sketches plus :data:`ENTRY_OVERHEAD` per entry)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> list[bytes] | None:
        """The blobs kept for ``key`` (possibly none: nothing stored), or None if not kept."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
            else:
                self._entries.move_to_end(key)
                self.stats.hits += 1
        if self._on_lookup is not None:
            self._on_lookup(entry is not None)
        return None if entry is None else entry[0]

    def put(self, key: Hashable, blobs: list[bytes]) -> None:
        """Keep ``blobs`` for ``key``, dropping the least recently used entries over the bound;
        an entry larger than the whole bound is not kept."""
        size = ENTRY_OVERHEAD + sum(len(b) for b in blobs)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (list(blobs), size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped
                self.stats.evictions += 1

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
