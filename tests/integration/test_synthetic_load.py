"""adtarget-data loads the synthetic logs as Hive tables; a re-run of a day changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from adtarget import synthetic, testdata
from adtarget.stack.config import StackSettings
from tests.warehouse import query

pytestmark = pytest.mark.integration

# A day far from any real data a developer may have loaded.
DAY = dt.date(2001, 1, 1)
USERS = 3_000
SEED = 11


def _fingerprint(settings: StackSettings) -> list[tuple[Any, ...]]:
    return query(
        settings,
        "SELECT count(*), sum(hash(adid, bid, ts, query)) FROM adtarget.search_log WHERE dt = %(dt)s",
        {"dt": DAY.isoformat()},
    )


def test_generated_day_is_queryable_over_hiveserver2_and_rerunnable(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    stack("spark-thrift")
    out = testdata.generate(settings, start=DAY, users=USERS, seed=SEED, quiet=True)
    assert out.count("rows") == len(synthetic.TABLES)

    expected = {
        name: sum(make(SEED, DAY, c, USERS).num_rows for c in range(synthetic.chunk_count(USERS)))
        for name, make in synthetic.TABLES.items()
    }
    for name, rows in expected.items():
        # The table name comes from synthetic.TABLES; identifiers cannot be bound.
        sql = f"SELECT count(*) FROM adtarget.{name} WHERE dt = %(dt)s"  # noqa: S608
        got = query(settings, sql, {"dt": DAY.isoformat()})
        assert got == [(rows,)], name

    # A hostile value is bound, not run: it finds nothing and drops nothing.
    hostile = "x'; DROP TABLE adtarget.search_log; --"
    assert query(
        settings, "SELECT count(*) FROM adtarget.search_log WHERE query = %(q)s", {"q": hostile}
    ) == [(0,)]

    before = _fingerprint(settings)
    testdata.generate(settings, start=DAY, users=USERS, seed=SEED, tables=["search_log"], quiet=True)
    assert _fingerprint(settings) == before
    assert before[0][0] == expected["search_log"]
