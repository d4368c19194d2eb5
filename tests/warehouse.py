"""Reading the warehouse in tests: queries over HiveServer2 with bound values, and oracles."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

from adtarget.stack.config import StackSettings


def query(settings: StackSettings, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the stack's HiveServer2, ``%(name)s`` values bound by pyhive."""
    from pyhive import hive

    conn = hive.connect(host=settings.host, port=settings.hive_port, username="adtarget", auth="NONE")
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()]
    finally:
        conn.close()


def keyword_oracle(settings: StackSettings, day: dt.date) -> list[tuple[str, int, int]]:
    """``(keyword, searches, users)`` of a day, computed in Python from the raw search log."""
    rows = query(
        settings, "SELECT adid, query FROM adtarget.search_log WHERE dt = %(dt)s", {"dt": day.isoformat()}
    )
    searches: Counter[str] = Counter()
    users: dict[str, set[str]] = {}
    for adid, text in rows:
        # Spark's split(lower(trim(q)), '\\s+'): Java's \s is ASCII whitespace.
        for word in re.split(r"[ \t\n\x0b\f\r]+", text.lower()):
            if word:
                searches[word] += 1
                users.setdefault(word, set()).add(adid)
    return sorted((w, n, len(users[w])) for w, n in searches.items())


def keyword_stats(settings: StackSettings, day: dt.date) -> list[tuple[Any, ...]]:
    """The ``adtarget.keyword_stats`` partition of a day, sorted."""
    return sorted(
        query(
            settings,
            "SELECT keyword, searches, users FROM adtarget.keyword_stats WHERE dt = %(dt)s",
            {"dt": day.isoformat()},
        )
    )
