"""The estimate cache: bounded by bytes, least recently used out first, misses counted."""

from __future__ import annotations

import pytest

from adtarget.segments.sketch_cache import ENTRY_OVERHEAD, SketchCache


def test_a_kept_entry_is_a_hit_and_an_unknown_key_a_miss() -> None:
    cache = SketchCache(10_000)
    cache.put("a", [b"x" * 10, b"y" * 5])
    assert cache.get("a") == [b"x" * 10, b"y" * 5]
    assert cache.get("b") is None
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)
    assert cache.size_bytes == ENTRY_OVERHEAD + 15


def test_nothing_stored_is_kept_too() -> None:
    cache = SketchCache(10_000)
    cache.put("empty", [])
    assert cache.get("empty") == []
    assert cache.stats.hits == 1


def test_the_least_recently_used_entries_go_first_when_over_the_bound() -> None:
    entry = ENTRY_OVERHEAD + 100
    cache = SketchCache(3 * entry)
    for key in "abc":
        cache.put(key, [b"z" * 100])
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", [b"z" * 100])
    assert cache.get("b") is None
    assert [k for k in "acd" if cache.get(k) is not None] == ["a", "c", "d"]
    assert (len(cache), cache.size_bytes, cache.stats.evictions) == (3, 3 * entry, 1)


def test_replacing_an_entry_counts_its_bytes_once() -> None:
    cache = SketchCache(10_000)
    cache.put("a", [b"z" * 100])
    cache.put("a", [b"z" * 300])
    assert (len(cache), cache.size_bytes) == (1, ENTRY_OVERHEAD + 300)


def test_an_entry_larger_than_the_bound_is_not_kept_and_evicts_nothing() -> None:
    cache = SketchCache(1_000)
    cache.put("small", [b"s"])
    cache.put("huge", [b"h" * 2_000])
    assert cache.get("huge") is None
    assert cache.get("small") == [b"s"]


def test_clear_drops_everything() -> None:
    cache = SketchCache(1_000)
    cache.put("a", [b"s"])
    cache.clear()
    assert (len(cache), cache.size_bytes, cache.get("a")) == (0, 0, None)


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes: 0"):
        SketchCache(0)


def test_each_lookup_is_reported() -> None:
    seen: list[bool] = []
    cache = SketchCache(1_000, on_lookup=seen.append)
    cache.put("a", [b"s"])
    cache.get("a")
    cache.get("b")
    assert seen == [True, False]
