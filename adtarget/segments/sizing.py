"""The exact audience size: a template's HiveQL over HiveServer2, params staged as tables."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from adtarget.segments.query import Resolver, build
from adtarget.segments.staging import Staging
from adtarget.segments.templates import Template


class NoDataError(LookupError):
    """The warehouse has no day to size on."""


@dataclass(frozen=True)
class ExactSize:
    """An exact count, the day it is as of, and how long it took."""

    count: int
    as_of: dt.date
    seconds: float


def newest_day(cursor: Any) -> dt.date:
    """The newest day of user attributes in the warehouse: the default as-of day."""
    cursor.execute("SHOW PARTITIONS adtarget.user_attributes")
    days = [row[0].removeprefix("dt=") for row in cursor.fetchall()]
    if not days:
        raise NoDataError("as_of: the warehouse has no day of user_attributes yet; load a day first")
    return dt.date.fromisoformat(max(days))


def exact_size(
    cursor: Any,
    template: Template,
    values: dict[str, Any],
    *,
    staging: Staging,
    resolve: Resolver | None = None,
) -> ExactSize:
    """Count the distinct members of ``template`` with validated ``values`` on ``cursor``."""
    started = time.monotonic()
    as_of = values.get("as_of") or newest_day(cursor)
    audience = build(template, values, as_of, resolve=resolve)
    with staging.staged(cursor, audience.tables):
        cursor.execute(audience.count_sql)
        (count,) = cursor.fetchone()
    return ExactSize(int(count), as_of, time.monotonic() - started)
