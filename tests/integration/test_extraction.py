"""The daily extraction on the real warehouse equals a brute-force oracle, at 4,000+ segments.

Random segments of every template (keywords, phrases and substrings cut from the generated
Korean and English searches, ids seen in the logs, random windows and filters) plus nested
combinations are registered in a registry of the test's own; ``spark/extract_segments.py``
runs on the shared two-day population (:mod:`tests.audiences`), and each segment's members
are compared with :func:`tests.audiences.members`, which recomputes them in plain Python.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from adtarget import spark_submit
from adtarget.segments.params import validate
from adtarget.segments.registry import Registry, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.templates import template
from adtarget.stack.config import StackSettings
from tests import audiences
from tests.warehouse import query

pytestmark = pytest.mark.integration

DAY1, DAY2 = audiences.DAYS
#: Distinct random segments over logs (19 templates in turn), then combinations of them.
SEGMENTS = 4_000
COMBINATIONS = 40
BROAD = {"active_users", "lapsed_users", "demographic", "domain_visit", "high_value", "app_category"}


class Extraction:
    """The registered segments, what the oracle says of them, and runs of the job."""

    def __init__(self, logs: audiences.Logs, url: str, settings: StackSettings, research: Path) -> None:
        self.logs, self.url, self.settings, self.research = logs, url, settings, research
        self.registry = Registry(url)
        #: segment id -> (template id, validated params as of DAY2)
        self.defs: dict[int, tuple[str, dict[str, Any]]] = {}
        self._members: dict[int, set[str]] = {}
        self.paused = self.expired = self.fresh = 0
        self.summary: dict[str, Any] = {}

    def register(self, template_id: str, raw: dict[str, Any], name: str, **kw: Any) -> int:
        tmpl = template(template_id)
        segment, _ = self.registry.register(tmpl, validate(tmpl, raw), name=name, owner="test", **kw)
        self.defs[segment.segment_id] = (template_id, validate(tmpl, {**raw, "as_of": DAY2.isoformat()}))
        return segment.segment_id

    def expected(self, segment_id: int) -> set[str]:
        """The oracle's members as of DAY2 (a combination: set algebra of its segments)."""
        if segment_id not in self._members:
            template_id, p = self.defs[segment_id]
            if template_id != "segment_combination":
                found = audiences.members(self.logs, template_id, p)
            else:
                groups = [set.intersection(*map(self.expected, p["all_of"]))] if p["all_of"] else []
                if p["any_of"]:
                    groups.append(set().union(*map(self.expected, p["any_of"])))
                base = set.intersection(*groups) - set().union(*map(self.expected, p["none_of"]))
                found = audiences.filtered(self.logs, p, base)
            self._members[segment_id] = found
        return self._members[segment_id]

    def run(self, *days: dt.date) -> dict[str, Any]:
        env = {
            "ADTARGET_SEGMENTS_REGISTRY_URL": self.url,
            "ADTARGET_SEGMENTS_RESEARCH_URI": self.research.as_uri(),
        }
        out = spark_submit.submit(
            self.settings,
            "extract_segments.py",
            ["--day", *(d.isoformat() for d in days)],
            env=env,
            quiet=True,
        )
        summary: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        return summary

    def delivered(self, day: dt.date) -> dict[int, set[str]]:
        """The research copy of the day's memberships: segment id -> members."""
        table = pq.read_table(self.research / "segment_membership" / f"dt={day.isoformat()}")
        out: dict[int, set[str]] = defaultdict(set)
        for adid, segment_id in zip(table["adid"].to_pylist(), table["segment_id"].to_pylist(), strict=True):
            out[segment_id].add(adid)
        return out


@pytest.fixture(scope="module")
def extraction(
    audience_logs: audiences.Logs,
    segment_settings: SegmentSettings,
    settings: StackSettings,
    stack: Callable[..., None],
    tmp_path_factory: pytest.TempPathFactory,
) -> Extraction:
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
    ex.paused = ex.register("search_any", {"keywords": ["나이키", "zz-paused"], "days": 2}, "paused")
    ex.registry.set_status(ex.paused, Status.PAUSED)
    ex.expired = ex.register(
        "app_install", {"app_ids": ["app.00001", "zz-expired"], "days": 2}, "expired", expires_on=DAY1
    )
    combos: list[int] = []
    for n in range(COMBINATIONS):
        pool = plain + combos  # later combinations may nest earlier ones
        picked = rng.sample(pool, 4)
        combo: dict[str, Any] = {
            "all_of": picked[:1],
            "any_of": picked[1:3] if n % 2 else [],
            "none_of": picked[3:],
        }
        if n == 0:
            combo["any_of"] = [ex.paused]
        if n % 5 == 0:
            combo["genders"] = ["F"]
        combos.append(ex.register("segment_combination", combo, f"combination-{n}"))
    # A definition new to this warehouse, whatever earlier runs left: DAY1 needs a catch-up pass.
    ex.fresh = ex.register("search_any", {"keywords": [f"zz{uuid.uuid4().hex}"], "days": 2}, "fresh")
    ex.summary = ex.run(DAY2)
    return ex


def test_every_segment_equals_the_brute_force_oracle(extraction: Extraction) -> None:
    ex = extraction
    got = ex.delivered(DAY2)
    delivered = [s for s in ex.defs if s not in (ex.paused, ex.expired)]
    assert len(delivered) >= 4_000
    wrong = [
        f"{s} {ex.defs[s][0]} {ex.defs[s][1]}: {len(got.get(s, set()))} found, {len(ex.expected(s))} expected"
        for s in delivered
        if got.get(s, set()) != ex.expected(s)
    ]
    assert not wrong, f"{len(wrong)} segments differ, e.g. " + "; ".join(wrong[:3])
    assert ex.paused not in got
    assert ex.expired not in got
    templates = {ex.defs[s][0] for s in delivered if ex.expected(s)}
    assert len(templates) == 20, f"some template found nobody: {set(audiences.ORACLES) - templates}"
    # DAY1 lacked at least the fresh segment: a catch-up pass for what it lacked, then the day.
    first, daily = ex.summary["days"][0]["passes"]
    assert (first["dt"], daily["dt"]) == (DAY1.isoformat(), DAY2.isoformat())
    assert 1 <= first["segments"] < daily["segments"]


def test_warehouse_and_stats_agree_with_the_research_copy(extraction: Extraction) -> None:
    ex = extraction
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


def test_rerun_is_identical_and_a_new_segment_gets_a_catch_up_pass(extraction: Extraction) -> None:
    ex = extraction
    before = ex.delivered(DAY2)
    added = ex.register(
        "search_frequency",
        {"keywords": ["운동화", f"zz{uuid.uuid4().hex}"], "match": "substring", "min_searches": 2, "days": 2},
        "late",
    )
    summary = ex.run(DAY2)
    passes = summary["days"][0]["passes"]
    # DAY1 is passed again for the new segment only; the day itself in full.
    assert next((p["dt"], p["segments"]) for p in passes) == (DAY1.isoformat(), 1)
    after = ex.delivered(DAY2)
    assert after.pop(added, set()) == ex.expected(added)
    assert after == before
