"""adtarget-data loads the synthetic logs as Hive tables; a re-run of a day changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from adtarget import synthetic, testdata
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.warehouse import query

pytestmark = pytest.mark.integration

# The segment tests' second day, generated once per session by ``audience_logs``: this test
# checks every table of it against the generator, re-runs the generation of its search log (a
# re-run of more tables adds Spark writes, not cases) and checks nothing changed.
DAY = audiences.DAYS[-1]
USERS = audiences.USERS
SEED = audiences.SEED


def _fingerprint(settings: StackSettings) -> list[tuple[Any, ...]]:
    return query(
        settings,
        "SELECT count(*), sum(hash(adid, bid, ts, query)) FROM adtarget.search_log WHERE dt = %(dt)s",
        {"dt": DAY.isoformat()},
    )


def test_generated_day_is_queryable_over_hiveserver2_and_rerunnable(
    audience_logs: audiences.Logs, settings: StackSettings
) -> None:
    before = _fingerprint(settings)
    out = testdata.generate(settings, start=DAY, users=USERS, seed=SEED, tables=["search_log"], quiet=True)
    assert out.count("rows") == 1
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
    # The re-run replaced the day with the same rows.
    assert _fingerprint(settings) == before
    assert before[0][0] == expected["search_log"]
