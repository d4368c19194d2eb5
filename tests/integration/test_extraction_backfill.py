"""A backfill of three days the warehouse never extracted, in one run of the extraction job,
then a re-run of its last day.

A population of its own (three days across a month end, far from every other test's days) and
a registry of its own: segments of every template with windows of one to three days, so a
day's window reaches into the days backfilled before it, and combinations of them. Each day's
delivered memberships must equal the oracle as of that day, and each day's logs are passed
once: a later day reuses the signals of the earlier ones instead of passing them again. A
re-run of a day gives the same memberships, and a segment registered since gets a catch-up
pass over the earlier days of its window, for it alone.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adtarget import testdata
from adtarget.segments.settings import SegmentSettings
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.extraction import Extraction
from tests.warehouse import query

pytestmark = pytest.mark.integration

SEED = 31
USERS = 600
DAYS = (dt.date(2004, 2, 28), dt.date(2004, 2, 29), dt.date(2004, 3, 1))
#: Random segments per template, then combinations of them.
PER_TEMPLATE = 3
COMBINATIONS = 5
#: Templates whose audience over a shorter window is a subset of the one over a longer window.
MONOTONE = {"banner_click", "campaign_click", "app_install", "domain_visit", "path_visit"}


@dataclass
class Backfill:
    """The module's registry and the summary of its run of the three days."""

    ex: Extraction
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def backfill(
    stack: Callable[..., None],
    settings: StackSettings,
    segment_settings: SegmentSettings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Backfill:
    stack("spark-thrift", "postgres")
    testdata.generate(settings, start=DAYS[0], days=len(DAYS), users=USERS, seed=SEED, quiet=True)
    logs = audiences.Logs(SEED, USERS, DAYS)
    ex = Extraction(logs, segment_settings.registry_url, settings, tmp_path_factory.mktemp("research"))
    rng = random.Random(43)  # noqa: S311 - reproducible test data
    for template_id in audiences.ORACLES:
        for n in range(PER_TEMPLATE):
            raw = audiences.random_params(rng, template_id, logs)
            if "days" in raw:  # windows of up to the three days (random_params draws one or two)
                raw["days"] = max(raw["days"], raw.get("quiet_days", 0) + 1, rng.randint(1, 3))
            ex.register(template_id, raw, f"{template_id}-{n}")
    plain = list(ex.defs)
    for n in range(COMBINATIONS):
        ex.combine(rng, plain, n, f"combination-{n}")
    return Backfill(ex, ex.run(*DAYS))


def test_a_backfill_of_three_days_equals_the_oracle_on_each_day(backfill: Backfill) -> None:
    ex, summary = backfill.ex, backfill.summary
    assert [d["day"] for d in summary["days"]] == [d.isoformat() for d in DAYS]
    segments = list(ex.defs)
    for day, done in zip(DAYS, summary["days"], strict=True):
        wrong = ex.differences(day, segments)
        assert not wrong, f"{day}: {len(wrong)} segments differ, e.g. " + "; ".join(wrong[:3])
        # Oldest first: every earlier day of a window already holds a pass of every segment.
        assert [p["dt"] for p in done["passes"]] == [day.isoformat()], done["passes"]
        found = sum(1 for s in segments if ex.expected(s, day))
        assert found >= len(segments) // 2, f"{day}: only {found} of {len(segments)} segments found anyone"
    # Windows did reach back: some segments have members on the last day through the days
    # backfilled before it only (their members over the last day alone are fewer).
    last = DAYS[-1]
    reaching = []
    for s in segments:
        template_id, p = ex.defs[s][0], ex.params(s, last)
        if template_id in MONOTONE and p["days"] > 1:
            one_day = audiences.members(ex.logs, template_id, {**p, "days": 1})
            if ex.expected(s, last) > one_day:
                reaching.append(s)
    assert len(reaching) >= 5, reaching


def _warehouse(settings: StackSettings, day: dt.date) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The day's rows of segment_membership and segment_stats, sorted."""
    args = {"dt": day.isoformat()}
    members = query(
        settings,
        "SELECT segment_id, adid, segment_version FROM adtarget.segment_membership WHERE dt = %(dt)s",
        args,
    )
    stats = query(settings, "SELECT * FROM adtarget.segment_stats WHERE dt = %(dt)s", args)
    return sorted(members), sorted(stats)


def test_a_rerun_of_a_day_is_identical_and_a_new_segment_gets_catch_up_passes(backfill: Backfill) -> None:
    ex, last = backfill.ex, DAYS[-1]
    before, tables = ex.delivered(last), _warehouse(ex.settings, last)
    # New to the registry (a random keyword: a repeat would name an existing segment), and
    # found in the logs (a common word), so its members show the catch-up passes were read.
    added = ex.register(
        "search_any",
        {"keywords": [f"zz{uuid.uuid4().hex}", "운동화"], "match": "substring", "days": 3},
        "late",
    )
    summary = ex.run(last)
    (done,) = summary["days"]
    # The two earlier days of its window are passed again for the new segment only, the day in full.
    assert [(p["dt"], p["segments"]) for p in done["passes"][:2]] == [(d.isoformat(), 1) for d in DAYS[:2]]
    assert [p["dt"] for p in done["passes"][2:]] == [last.isoformat()]
    after = ex.delivered(last)
    assert after.pop(added, set()) == ex.expected(added, last)
    assert ex.expected(added, last), "the new segment found nobody: the check above proves nothing"
    assert after == before
    members, stats = _warehouse(ex.settings, last)
    assert [r for r in members if r[0] != added] == tables[0]
    assert [r for r in stats if r[0] != added] == tables[1]
