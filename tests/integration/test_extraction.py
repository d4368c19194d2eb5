"""The daily extraction on the real warehouse equals a brute-force oracle, at 4,000+ segments.

Random segments of every template (keywords, phrases and substrings cut from the generated
Korean and English searches, ids seen in the logs, random windows and filters) plus nested
combinations are registered in a registry of the test's own; ``spark/extract_segments.py``
runs on the shared two-day population (:mod:`tests.audiences`), and each segment's members
are compared with :func:`tests.audiences.members`, which recomputes them in plain Python.
Backfills and re-runs of days: ``test_extraction_backfill.py``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adtarget.segments.registry import Status
from adtarget.segments.settings import SegmentSettings
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.extraction import Extraction
from tests.warehouse import query

pytestmark = pytest.mark.integration

DAY1, DAY2 = audiences.DAYS
#: Distinct random segments over logs (19 templates in turn), then combinations of them.
SEGMENTS = 4_000
COMBINATIONS = 40
BROAD = {"active_users", "lapsed_users", "demographic", "domain_visit", "high_value", "app_category"}


@dataclass
class Daily:
    """The module's registry and its first run of the job for DAY2."""

    ex: Extraction
    paused: int
    expired: int
    fresh: int
    summary: dict[str, Any]


@pytest.fixture(scope="module")
def daily(
    audience_logs: audiences.Logs,
    segment_settings: SegmentSettings,
    settings: StackSettings,
    stack: Callable[..., None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Daily:
    stack("spark-thrift", "postgres")
    ex = Extraction(
        audience_logs, segment_settings.registry_url, settings, tmp_path_factory.mktemp("research")
    )
    rng = random.Random(41)  # noqa: S311 - reproducible test data
    # Templates whose members are most of the population (anyone active, an age band) are drawn
    # less often: they add rows to move, not cases to check.
    templates = [t for t in audiences.ORACLES for _ in range(1 if t in BROAD else 4)]
    tries = 0
    # A repeated definition registers nothing new (the registry answers with the existing one).
    while len(ex.defs) < SEGMENTS and tries < 3 * SEGMENTS:
        template_id = templates[tries % len(templates)]
        raw = audiences.random_params(rng, template_id, audience_logs)
        ex.register(template_id, raw, f"{template_id}-{tries}")
        tries += 1
    plain = list(ex.defs)
    # A paused segment only a combination reads (computed, not delivered), an expired one.
    # Definitions no random draw makes (a repeat would name the random segment instead).
    paused = ex.register("search_any", {"keywords": ["나이키", "zz-paused"], "days": 2}, "paused")
    ex.registry.set_status(paused, Status.PAUSED)
    expired = ex.register(
        "app_install", {"app_ids": ["app.00001", "zz-expired"], "days": 2}, "expired", expires_on=DAY1
    )
    combos: list[int] = []
    for n in range(COMBINATIONS):
        # Later combinations may nest earlier ones; the first reads the paused segment.
        any_of = [paused] if n == 0 else None
        combos.append(ex.combine(rng, plain + combos, n, f"combination-{n}", any_of=any_of))
    # A definition new to this warehouse, whatever earlier runs left: DAY1 needs a catch-up pass.
    fresh = ex.register("search_any", {"keywords": [f"zz{uuid.uuid4().hex}"], "days": 2}, "fresh")
    return Daily(ex, paused, expired, fresh, ex.run(DAY2))


def test_every_segment_equals_the_brute_force_oracle(daily: Daily) -> None:
    ex = daily.ex
    got = ex.delivered(DAY2)
    delivered = [s for s in ex.defs if s not in (daily.paused, daily.expired)]
    assert len(delivered) >= 4_000
    wrong = ex.differences(DAY2, delivered)
    assert not wrong, f"{len(wrong)} segments differ, e.g. " + "; ".join(wrong[:3])
    assert daily.paused not in got
    assert daily.expired not in got
    templates = {ex.defs[s][0] for s in delivered if ex.expected(s, DAY2)}
    assert len(templates) == 20, f"some template found nobody: {set(audiences.ORACLES) - templates}"
    # DAY1 lacked at least the fresh segment: a catch-up pass for what it lacked, then the day.
    first, day = daily.summary["days"][0]["passes"]
    assert (first["dt"], day["dt"]) == (DAY1.isoformat(), DAY2.isoformat())
    assert 1 <= first["segments"] < day["segments"]


def test_warehouse_and_stats_agree_with_the_research_copy(daily: Daily) -> None:
    ex = daily.ex
    got = ex.delivered(DAY2)
    (total,) = query(
        ex.settings,
        "SELECT count(*) FROM adtarget.segment_membership WHERE dt = %(dt)s",
        {"dt": DAY2.isoformat()},
    )
    assert total[0] == sum(len(m) for m in got.values())
    stats = query(
        ex.settings,
        "SELECT segment_id, members FROM adtarget.segment_stats WHERE dt = %(dt)s",
        {"dt": DAY2.isoformat()},
    )
    assert {s: n for s, n in stats if n} == {s: len(m) for s, m in got.items()}
