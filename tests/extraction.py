"""Runs of the extraction job on a registry of the test's own, and what the oracle says of them.

Segments are registered in a test registry; ``spark/extract_segments.py`` runs on the warehouse
for some days, and each segment's members as of a day are recomputed in plain Python by
:func:`tests.audiences.members` (combinations: set algebra of their segments).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from adtarget import spark_submit
from adtarget.segments.params import validate
from adtarget.segments.registry import Registry
from adtarget.segments.templates import template
from adtarget.stack.config import StackSettings
from tests import audiences


class Extraction:
    """The registered segments, what the oracle says of them, and runs of the job."""

    def __init__(self, logs: audiences.Logs, url: str, settings: StackSettings, research: Path) -> None:
        self.logs, self.url, self.settings, self.research = logs, url, settings, research
        self.registry = Registry(url)
        #: segment id -> (template id, raw params)
        self.defs: dict[int, tuple[str, dict[str, Any]]] = {}
        self._members: dict[tuple[int, dt.date], set[str]] = {}

    def register(self, template_id: str, raw: dict[str, Any], name: str, **kw: Any) -> int:
        tmpl = template(template_id)
        segment, _ = self.registry.register(tmpl, validate(tmpl, raw), name=name, owner="test", **kw)
        self.defs[segment.segment_id] = (template_id, raw)
        return segment.segment_id

    def combine(
        self, rng: random.Random, pool: list[int], n: int, name: str, *, any_of: list[int] | None = None
    ) -> int:
        """Register the ``n``-th random combination of four segments of ``pool`` (``any_of``, if
        given, replaces its random one)."""
        picked = rng.sample(pool, 4)
        combo: dict[str, Any] = {
            "all_of": picked[:1],
            "any_of": picked[1:3] if n % 2 else [],
            "none_of": picked[3:],
        }
        if any_of is not None:
            combo["any_of"] = any_of
        if n % 5 == 0:
            combo["genders"] = ["F"]
        return self.register("segment_combination", combo, name)

    def params(self, segment_id: int, day: dt.date) -> dict[str, Any]:
        """The segment's validated params as of ``day``."""
        template_id, raw = self.defs[segment_id]
        return validate(template(template_id), {**raw, "as_of": day.isoformat()})

    def expected(self, segment_id: int, day: dt.date) -> set[str]:
        """The oracle's members as of ``day`` (a combination: set algebra of its segments)."""
        key = (segment_id, day)
        if key not in self._members:
            template_id, p = self.defs[segment_id][0], self.params(segment_id, day)
            if template_id != "segment_combination":
                found = audiences.members(self.logs, template_id, p)
            else:
                members = [self.expected(s, day) for s in p["all_of"]]
                groups = [set.intersection(*members)] if members else []
                if p["any_of"]:
                    groups.append(set().union(*(self.expected(s, day) for s in p["any_of"])))
                excluded = set().union(*(self.expected(s, day) for s in p["none_of"]))
                found = audiences.filtered(self.logs, p, set.intersection(*groups) - excluded)
            self._members[key] = found
        return self._members[key]

    def differences(self, day: dt.date, segments: list[int]) -> list[str]:
        """One line per segment of ``segments`` whose delivered members of ``day`` are not the
        oracle's."""
        got = self.delivered(day)
        return [
            f"{s} {self.defs[s][0]} {self.defs[s][1]}: "
            f"{len(got.get(s, set()))} found, {len(self.expected(s, day))} expected"
            for s in segments
            if got.get(s, set()) != self.expected(s, day)
        ]

    def run(self, *days: dt.date) -> dict[str, Any]:
        """Run the job for ``days``; returns its summary (the last line of its output)."""
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
