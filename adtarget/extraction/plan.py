"""What the daily extraction does with a set of registered segments: the plan, pure Python.

The extraction works in two stages (``spark/extract_segments.py``):

1. **Signals**, one pass per log table and day, every segment at once: the search log through
   the Aho-Corasick matcher (:attr:`Plan.text_rules`), the id-keyed logs through one hash join
   with :attr:`Plan.probes` (banner, campaign, creative, app, category, domain). Each pass
   writes, per segment and user, the day's matching events: the ``adtarget.segment_signal``
   table.
2. **Memberships** as of a day: each segment's window of signals (and of user activity and
   attributes) aggregated and judged by its template's rule (:attr:`Plan.segments`), narrowed
   by its demographic filters; combinations of segments follow, level by level
   (:attr:`Plan.combinations`).

The plan turns the registry's segments into those rules and tables. Every value stays data:
the tables are handed to Spark as DataFrames, never as SQL text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from adtarget.matcher import MatchMode, Require, SegmentRule
from adtarget.segments.params import definition_hash, validate
from adtarget.segments.query import MAX_DEPTH
from adtarget.segments.registry import Segment
from adtarget.segments.templates import template

#: Templates judged on the search signal (the Aho-Corasick pass).
TEXT_TEMPLATES = ("search_any", "search_all", "search_frequency", "search_lapsed", "search_and_click")
#: Templates judged on the days a user was active in any log.
ACTIVITY_TEMPLATES = ("active_users", "lapsed_users")
#: Signal kinds and the log each one comes from.
KINDS = ("search", "click", "impression", "conversion", "visit", "install")
#: The user attribute column of each demographic filter param.
FILTER_COLUMNS = {
    "age_bands": "age_band",
    "genders": "gender",
    "regions": "region",
    "devices": "device",
    "oses": "os",
}
#: The thresholds a template rule may read; a segment's row carries each (NULL when unused).
THRESHOLDS = (
    "min_searches",
    "min_clicks",
    "min_impressions",
    "max_impressions",
    "min_apps",
    "min_visits",
    "min_total_value",
    "min_active_days",
)

SEGMENTS_SCHEMA = (
    "segment_id int, version int, definition string, template string, deliver boolean, level int, "
    "dt_from string, dt_to string, quiet_from string, filtered boolean, "
    + ", ".join(f"{name} array<string>" for name in FILTER_COLUMNS)
    + ", "
    + ", ".join(f"{name} double" for name in THRESHOLDS)
)
PROBES_SCHEMA = (
    "segment_id int, kind string, field string, value string, types array<string>, prefixes array<string>"
)
COMBINATIONS_SCHEMA = "segment_id int, ref_id int, grp string, n_all int, n_any int"


class PlanError(ValueError):
    """A segment cannot be extracted as registered; the message names the segment."""


@dataclass(frozen=True)
class Planned:
    """One segment of the plan: its registry row, validated params and nesting level."""

    segment_id: int
    version: int
    template: str
    values: dict[str, Any]
    #: False for a segment only read by a combination (paused or expired): computed, not delivered.
    deliver: bool
    #: 0 for a template over logs; a combination is one more than the deepest segment it names.
    level: int = 0
    #: A digest of the definition (template and params), made once when the plan is built.
    digest: str = ""

    @property
    def key(self) -> tuple[int, str]:
        """What a signal pass records per segment: its id and the digest of its definition.

        The digest, not the version number, so that signals computed for one definition are
        never taken for another's (two registries writing one warehouse, a re-created id).
        """
        return (self.segment_id, self.digest)

    @property
    def days(self) -> int:
        """How many days back (ending on the extraction day) the rule reads."""
        return int(self.values.get("days") or 1)


@dataclass
class Plan:
    """The rules and tables of one extraction day."""

    day: dt.date
    planned: dict[int, Planned]
    text_rules: list[SegmentRule] = field(default_factory=list)
    probes: list[tuple[Any, ...]] = field(default_factory=list)
    #: One row per segment (:data:`SEGMENTS_SCHEMA`): window, thresholds, filter values.
    segments: list[tuple[Any, ...]] = field(default_factory=list)
    #: Level (1, 2, ...) -> rows of the combinations at that level.
    combinations: dict[int, list[tuple[Any, ...]]] = field(default_factory=dict)

    @property
    def signal_segments(self) -> list[Planned]:
        """Segments whose rule reads signals (not activity, attributes or other segments)."""
        return [p for p in self.planned.values() if p.template in SIGNAL_TEMPLATES]

    @property
    def first_day(self) -> dt.date:
        """The first day any planned segment's window reads."""
        return self.day - dt.timedelta(days=max((p.days for p in self.planned.values()), default=1) - 1)

    def needed(self) -> dict[dt.date, set[tuple[int, str]]]:
        """Day -> the segment keys (:attr:`Planned.key`) whose signals of that day the windows read."""
        out: dict[dt.date, set[tuple[int, str]]] = {}
        for p in self.signal_segments:
            for back in range(p.days):
                out.setdefault(self.day - dt.timedelta(days=back), set()).add(p.key)
        return out

    def for_segments(self, keys: Iterable[tuple[int, str]]) -> Plan:
        """The signal part of this plan for some segment keys only (a catch-up pass)."""
        wanted = {segment_id for segment_id, _ in keys}
        return _signals(Plan(self.day, {i: p for i, p in self.planned.items() if i in wanted}))


def pass_id(keys: Iterable[tuple[int, str]]) -> str:
    """The name of a signal pass over these segment keys: equal sets, equal names,
    so re-running a pass replaces its partition instead of adding a second copy."""
    digest = hashlib.sha256(json.dumps(sorted(keys)).encode()).hexdigest()
    return f"p{digest[:16]}"


def _text_rule(p: Planned) -> SegmentRule:
    v = p.values
    return SegmentRule(
        segment_id=p.segment_id,
        patterns=tuple(v["keywords"]),
        mode=MatchMode(v["match"]),
        require=Require.ALL if p.template == "search_all" else Require.ANY,
        exclude=tuple(v.get("exclude_keywords") or ()),
    )


def _probes(p: Planned) -> list[tuple[Any, ...]]:
    """The (kind, field, value) keys a segment's signals are joined on."""
    v, sid = p.values, p.segment_id

    def rows(kind: str, name: str, values: Iterable[Any], **extra: Any) -> list[tuple[Any, ...]]:
        return [(sid, kind, name, str(value), extra.get("types"), extra.get("prefixes")) for value in values]

    match p.template:
        case "search_and_click":
            return rows("click", "campaign_id", v["campaign_ids"])
        case "banner_click":
            return rows("click", "banner_id", v["banner_ids"])
        case "campaign_click":
            return rows("click", "campaign_id", v["campaign_ids"])
        case "impression_no_click":
            return rows("impression", "campaign_id", v["campaign_ids"]) + rows(
                "click", "campaign_id", v["campaign_ids"]
            )
        case "creative_frequency":
            return rows("impression", "creative_id", v["creative_ids"])
        case "app_install":
            return rows("install", "app_id", v["app_ids"])
        case "app_category":
            return rows("install", "app_category", v["app_categories"])
        case "domain_visit":
            return rows("visit", "domain", v["domains"])
        case "path_visit":
            return rows("visit", "domain", v["domains"], prefixes=list(v["path_prefixes"]))
        case "campaign_conversion":
            types = list(v["conversion_types"]) or None  # empty: every type counts
            return rows("conversion", "campaign_id", v["campaign_ids"], types=types)
        case "clicked_not_converted":
            return rows("click", "campaign_id", v["campaign_ids"]) + rows(
                "conversion", "campaign_id", v["campaign_ids"]
            )
        case "high_value":
            return rows("conversion", "*", ["*"])  # every conversion counts toward the total
    return []


#: Templates with probes or text rules: their rule reads the signal table.
SIGNAL_TEMPLATES = (
    *TEXT_TEMPLATES,
    "banner_click",
    "campaign_click",
    "impression_no_click",
    "creative_frequency",
    "app_install",
    "app_category",
    "domain_visit",
    "path_visit",
    "campaign_conversion",
    "clicked_not_converted",
    "high_value",
)


def _signals(plan: Plan) -> Plan:
    for p in plan.planned.values():
        if p.template in TEXT_TEMPLATES:
            plan.text_rules.append(_text_rule(p))
        plan.probes.extend(_probes(p))
    return plan


def _segment_row(p: Planned, day: dt.date) -> tuple[Any, ...]:
    v = p.values
    dt_from = (day - dt.timedelta(days=p.days - 1)).isoformat()
    quiet = v.get("quiet_days")
    quiet_from = (day - dt.timedelta(days=quiet - 1)).isoformat() if quiet else None
    filters = tuple(list(v[param]) if v.get(param) else None for param in FILTER_COLUMNS)
    thresholds = tuple(float(v[name]) if v.get(name) is not None else None for name in THRESHOLDS)
    return (
        p.segment_id,
        p.version,
        p.key[1],
        p.template,
        p.deliver,
        p.level,
        dt_from,
        day.isoformat(),
        quiet_from,
        any(f is not None for f in filters),
        *filters,
        *thresholds,
    )


def build(day: dt.date, active: Iterable[Segment], lookup: Callable[[int], Segment]) -> Plan:
    """The plan of ``day`` for the ``active`` segments; ``lookup`` finds a segment a combination
    names that is not active itself (computed for the combination, not delivered)."""
    planned: dict[int, Planned] = {}
    delivered = {s.segment_id: s for s in active}

    def add(segment: Segment, deliver: bool, chain: tuple[int, ...]) -> Planned:
        known = planned.get(segment.segment_id)
        if known is not None:
            return known
        if len(chain) > MAX_DEPTH:
            raise PlanError(
                f"segment {chain[0]}: combinations nested deeper than {MAX_DEPTH} levels "
                f"({' -> '.join(map(str, chain))})"
            )
        try:
            tmpl = template(segment.template)
            values = validate(tmpl, segment.params)
        except (KeyError, ValueError) as exc:
            raise PlanError(f"segment {segment.segment_id} ({segment.name}): {exc}") from None
        level = 0
        if tmpl.id == "segment_combination":
            for group in ("all_of", "any_of", "none_of"):
                for ref in values[group]:
                    if ref in chain:
                        raise PlanError(
                            f"segment {segment.segment_id}: {group} refers back to itself "
                            f"({' -> '.join(map(str, (*chain, ref)))})"
                        )
                    inner = delivered.get(ref) or lookup(ref)
                    level = max(level, add(inner, ref in delivered, (*chain, ref)).level + 1)
        found = planned[segment.segment_id] = Planned(
            segment.segment_id,
            segment.version,
            tmpl.id,
            values,
            deliver,
            level,
            definition_hash(tmpl, values)[:16],
        )
        return found

    for segment in delivered.values():
        add(segment, True, (segment.segment_id,))
    plan = _signals(Plan(day, planned))
    for p in planned.values():
        plan.segments.append(_segment_row(p, day))
        if p.template == "segment_combination":
            v = p.values
            n_all, n_any = len(set(v["all_of"])), len(set(v["any_of"]))
            rows = plan.combinations.setdefault(p.level, [])
            for group in ("all_of", "any_of", "none_of"):
                rows.extend((p.segment_id, ref, group, n_all, n_any) for ref in sorted(set(v[group])))
    return plan
