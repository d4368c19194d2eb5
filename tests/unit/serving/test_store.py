"""The profile store's pure parts: rows made JSON-ready, the C++ driver's log routed to Python's."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from types import SimpleNamespace

import pytest

from adtarget.profiles.config import _driver_message
from serving.store import _plain


def test_rows_become_json_ready_with_timestamps_in_utc_without_an_offset() -> None:
    seoul = dt.timezone(dt.timedelta(hours=9))
    row = {
        "at": dt.datetime(2026, 11, 27, 21, 0, tzinfo=seoul),
        "naive": dt.datetime(2026, 11, 27, 12, 0),
        "day": dt.date(2026, 11, 27),
        "segments": {101: 1},
        "tags": {"a"},
        "n": 3,
    }
    assert _plain(row) == {
        "at": "2026-11-27T12:00:00",
        "naive": "2026-11-27T12:00:00",
        "day": "2026-11-27",
        "segments": {101: 1},
        "tags": ["a"],
        "n": 3,
    }


@pytest.mark.parametrize(
    ("level", "text", "expected"),
    [
        ("ERROR", "Unable to connect to host 127.0.0.1", logging.ERROR),
        ("WARN", "Lost connection to host 127.0.0.1", logging.WARNING),
        ("INFO", "anything else", logging.INFO),
        # Scylla's shard info, looked for on every connection, never exists on Cassandra.
        ("ERROR", "Could not retrieve sharding info from connection to 127.0.0.1.", logging.DEBUG),
    ],
)
def test_the_driver_log_keeps_its_levels_but_scylla_only_noise(
    caplog: pytest.LogCaptureFixture, level: str, text: str, expected: int
) -> None:
    with caplog.at_level(logging.DEBUG, logger="acsylla"):
        asyncio.run(_driver_message(SimpleNamespace(log_level=level, message=text)))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(expected, text)]
