"""The instant audience estimate: unions, intersections and differences of theta sketches.

Each template becomes an expression over stored sketches (:mod:`adtarget.segments.sketches`):
a leaf is the union of the sketches of some values of one kind over some days (daily sketches,
or window sketches that stand for runs of them: :mod:`adtarget.segments.windows`); ``And``,
``Or`` and ``Minus`` combine them. Most templates translate exactly; where sketches of single values
cannot say what a template says (a phrase is searched as a run of words, "at least K times",
"not excluded", a total value), the expression describes a superset or a subset of the audience
and the answer says so: its ``relation`` is ``superset`` (the audience is at most ``upper``),
``subset`` (at least ``lower``) or ``approximate``. ``lower`` and ``upper`` are the sketch's
2-sigma bounds (~95 %); in exact mode (fewer users than the sketch's 4,096 entries) they equal
the estimate.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import datasketches

from adtarget.matcher import normalize, tokens
from adtarget.segments.query import Resolver, window
from adtarget.segments.sketches import LG_K, SketchStore, load, split_markers
from adtarget.segments.templates import Template
from adtarget.segments.windows import cover

_WORD = re.compile(r"\w+")

#: Standard deviations of the stated bounds.
SIGMAS = 2


class Relation(StrEnum):
    """How the estimated set relates to the template's audience."""

    EXACT = "exact"
    SUPERSET = "superset"
    SUBSET = "subset"
    APPROXIMATE = "approximate"


def _combine(relations: Sequence[Relation]) -> Relation:
    found = set(relations) - {Relation.EXACT}
    if not found:
        return Relation.EXACT
    if len(found) == 1:
        return found.pop()
    return Relation.APPROXIMATE


def _flip(relation: Relation) -> Relation:
    return {Relation.SUPERSET: Relation.SUBSET, Relation.SUBSET: Relation.SUPERSET}.get(relation, relation)


@dataclass(frozen=True)
class Leaf:
    """Users with any of ``values`` of ``kind`` on any day of ``first..last``."""

    kind: str
    values: tuple[str, ...]
    first: dt.date
    last: dt.date
    relation: Relation = Relation.EXACT


@dataclass(frozen=True)
class Op:
    """``and`` / ``or`` of the parts, or ``minus``: the first part without the others."""

    op: str
    parts: tuple[Expr, ...]
    #: What the translation gave up on here (e.g. "at least K times" estimated at once).
    relation: Relation = Relation.EXACT


Expr = Leaf | Op


def relation_of(expr: Expr) -> Relation:
    if isinstance(expr, Leaf):
        return expr.relation
    relations = [relation_of(p) for p in expr.parts]
    if expr.op == "minus":
        relations = [relations[0], *(_flip(r) for r in relations[1:])]
    return _combine([expr.relation, *relations])


def leaves(expr: Expr) -> list[Leaf]:
    if isinstance(expr, Leaf):
        return [expr]
    return [leaf for part in expr.parts for leaf in leaves(part)]


@dataclass
class Estimate:
    """An instant estimate and what it means."""

    estimate: float
    lower: float | None
    upper: float | None
    relation: Relation
    notes: list[str] = field(default_factory=list)
    sketches: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "estimate": round(self.estimate),
            "lower": None if self.lower is None else round(self.lower),
            "upper": None if self.upper is None else round(self.upper),
            "relation": self.relation.value,
            "sigmas": SIGMAS,
            "notes": self.notes,
            "sketches": self.sketches,
            "seconds": round(self.seconds, 4),
        }


class _Builder:
    """Translates one template's params into an expression; collects what it had to relax."""

    def __init__(self, store: SketchStore, values: dict[str, Any], as_of: dt.date) -> None:
        self.store, self.v, self.as_of, self.notes = store, values, as_of, list[str]()
        days = window(values, as_of)
        self.first = dt.date.fromisoformat(days.get("dt_from", days["as_of"]))
        self.quiet = dt.date.fromisoformat(days["quiet_from"]) if "quiet_from" in days else None

    def leaf(
        self,
        kind: str,
        values: Sequence[Any],
        first: dt.date | None = None,
        relation: Relation = Relation.EXACT,
    ) -> Leaf:
        return Leaf(kind, tuple(str(v) for v in values), first or self.first, self.as_of, relation)

    def days(self, first: dt.date) -> list[dt.date]:
        """Every day of ``first..as_of``."""
        return [first + dt.timedelta(days=i) for i in range((self.as_of - first).days + 1)]

    def relax(self, note: str) -> Relation:
        self.notes.append(note)
        return Relation.SUPERSET

    def at_least(self, param: str, expr: Expr) -> Expr:
        """``expr`` stands for "at least once"; more than once is a subset of it."""
        if self.v[param] > 1:
            return Op(
                "or",
                (expr,),
                self.relax(f"{param}={self.v[param]}: sketches count users, not events; estimated at 1"),
            )
        return expr

    def keyword(self, keyword: str, first: dt.date | None = None) -> Expr:
        first = first or self.first
        if self.v["match"] == "substring":
            needle = " ".join(normalize(keyword).split())
            if " " in needle:
                words = tokens(needle)
                if not words:  # only punctuation and spaces: no word sketch says anything
                    self.notes.append(f"{keyword!r}: no words to estimate it by")
                    return self.leaf("keyword", [], first, Relation.SUBSET)
                # Its end words may be parts of longer words: no direction can be promised.
                self.notes.append(f"{keyword!r}: a substring across words is estimated as its words, roughly")
                return Op("and", tuple(self.leaf("keyword", [t], first, Relation.APPROXIMATE) for t in words))
            found = sorted(t for t in self.store.values("keyword", self.days(first)) if needle in t)
            # Letters and digits only: a match lies inside one word, so the words holding it
            # are exactly the searches holding it. Punctuation can join words ("e-s").
            relation = Relation.EXACT if _WORD.fullmatch(needle) else Relation.SUBSET
            if relation is Relation.SUBSET:
                self.notes.append(f"{keyword!r}: substring estimated over the {len(found)} words holding it")
            return self.leaf("keyword", found, first, relation)
        words = tokens(keyword)
        if len(words) == 1:
            return self.leaf("keyword", words, first)
        self.notes.append(f"{keyword!r}: a phrase is estimated as users who searched each of its words")
        return Op("and", tuple(self.leaf("keyword", [w], first, Relation.SUPERSET) for w in words))

    def searched(self, first: dt.date | None = None) -> Expr:
        return Op("or", tuple(self.keyword(k, first) for k in self.v["keywords"]))


def _translate(b: _Builder, tmpl: Template) -> Expr:
    v, t = b.v, tmpl.id
    if t in ("search_any", "search_frequency"):
        expr: Expr = b.searched()
        if v.get("exclude_keywords"):
            expr = Op(
                "or",
                (expr,),
                b.relax("exclude_keywords: a search holding one is not left out of the estimate"),
            )
        return b.at_least("min_searches", expr) if t == "search_frequency" else expr
    if t == "search_all":
        relation = Relation.EXACT
        if len(v["keywords"]) > 1:
            relation = b.relax("all keywords: estimated as users who searched each, not in one search")
        return Op("and", tuple(b.keyword(k) for k in v["keywords"]), relation)
    if t == "search_lapsed":
        return Op("minus", (b.searched(), b.searched(b.quiet)))
    if t == "search_and_click":
        return Op("and", (b.searched(), b.leaf("campaign_click", v["campaign_ids"])))
    if t == "banner_click":
        return b.at_least("min_clicks", b.leaf("banner_click", v["banner_ids"]))
    if t == "campaign_click":
        return b.at_least("min_clicks", b.leaf("campaign_click", v["campaign_ids"]))
    if t == "impression_no_click":
        seen = Op(
            "minus",
            (b.leaf("campaign_impression", v["campaign_ids"]), b.leaf("campaign_click", v["campaign_ids"])),
        )
        return b.at_least("min_impressions", seen)
    if t == "creative_frequency":
        b.relax("min/max_impressions: sketches count users, not impressions; estimated as any impression")
        return b.leaf("creative_impression", v["creative_ids"], relation=Relation.SUPERSET)
    if t == "app_install":
        return b.leaf("app", v["app_ids"])
    if t == "app_category":
        return b.at_least("min_apps", b.leaf("app_category", v["app_categories"]))
    if t == "domain_visit":
        return b.at_least("min_visits", b.leaf("domain", v["domains"]))
    if t == "path_visit":
        pages = sorted(
            p
            for p in b.store.values("domain_path", b.days(b.first))
            if p.split(" ", 1)[0] in v["domains"]
            and any(p.split(" ", 1)[1].startswith(x) for x in v["path_prefixes"])
        )
        return b.leaf("domain_path", pages)
    if t in ("campaign_conversion", "clicked_not_converted"):
        kinds = v.get("conversion_types") or ["purchase", "signup", "install"]
        converted = b.leaf("conversion", [f"{c}:{k}" for c in v["campaign_ids"] for k in kinds])
        if t == "campaign_conversion":
            return converted
        return Op("minus", (b.leaf("campaign_click", v["campaign_ids"]), converted))
    if t == "high_value":
        b.relax("min_total_value: sketches hold no amounts; estimated as every converter")
        return b.leaf("converter", ["all"], relation=Relation.SUPERSET)
    if t == "active_users":
        return b.at_least("min_active_days", b.leaf("active", ["all"]))
    if t == "lapsed_users":
        return Op("minus", (b.leaf("active", ["all"]), b.leaf("active", ["all"], b.quiet)))
    if t == "demographic":
        return b.leaf("user", ["all"], b.as_of)
    raise ValueError(f"{t}: no estimate for this template")


_FILTER_KIND = {
    "age_bands": "age_band",
    "genders": "gender",
    "regions": "region",
    "devices": "device",
    "oses": "os",
}


def expression(
    tmpl: Template,
    values: dict[str, Any],
    as_of: dt.date,
    store: SketchStore,
    *,
    resolve: Resolver | None = None,
    notes: list[str] | None = None,
    seen: tuple[int, ...] = (),
) -> Expr:
    """The sketch expression of a template with validated ``values`` (combinations included)."""
    notes = notes if notes is not None else []
    if tmpl.id == "segment_combination":
        if resolve is None:
            raise ValueError("segment_combination: no registry to find the segments in")

        def segment(segment_id: int) -> Expr:
            if segment_id in seen:
                raise ValueError(f"segment_combination: segment {segment_id} refers back to itself")
            inner, params = resolve(segment_id)
            return expression(
                inner, params, as_of, store, resolve=resolve, notes=notes, seen=(*seen, segment_id)
            )

        parts: list[Expr] = [segment(i) for i in values["all_of"]]
        if values["any_of"]:
            parts.append(Op("or", tuple(segment(i) for i in values["any_of"])))
        expr: Expr = Op("and", tuple(parts))
        if values["none_of"]:
            expr = Op("minus", (expr, *(segment(i) for i in values["none_of"])))
    else:
        builder = _Builder(store, values, as_of)
        expr = _translate(builder, tmpl)
        notes.extend(builder.notes)
    filters = [
        Leaf(kind, tuple(values[p]), as_of, as_of) for p, kind in _FILTER_KIND.items() if values.get(p)
    ]
    return Op("and", (expr, *filters)) if filters else expr


def _evaluate(expr: Expr, fetched: dict[Leaf, list[bytes]]) -> Any:
    if isinstance(expr, Leaf):
        blobs = fetched[expr]
        if len(blobs) == 1:  # a union's result would be a sorted copy of it (~0.3 ms each for 4k entries)
            return load(blobs[0])
        union = datasketches.theta_union(LG_K)
        for blob in blobs:
            union.update(load(blob))
        return union.get_result()
    if expr.op == "or":
        # The union of unions: fed straight from the leaves' sketches, without a result each.
        union = datasketches.theta_union(LG_K)
        for part in expr.parts:
            if isinstance(part, Leaf):
                for blob in fetched[part]:
                    union.update(load(blob))
            else:
                union.update(_evaluate(part, fetched))
        return union.get_result()
    parts = [_evaluate(p, fetched) for p in expr.parts]
    if expr.op == "and":
        inter = datasketches.theta_intersection()
        for part in parts:
            inter.update(part)
        return inter.get_result()
    result = parts[0]
    for part in parts[1:]:
        result = datasketches.theta_a_not_b().compute(result, part)
    return result


def estimate(
    tmpl: Template,
    values: dict[str, Any],
    as_of: dt.date,
    store: SketchStore,
    *,
    resolve: Resolver | None = None,
) -> Estimate:
    """Estimate the audience of ``tmpl`` with validated ``values`` as of ``as_of``."""
    started = time.monotonic()
    notes: list[str] = []
    expr = expression(tmpl, values, as_of, store, resolve=resolve, notes=notes)
    unique = list(dict.fromkeys(leaves(expr)))
    first = min(leaf.first for leaf in unique)
    # One read for the checks, the cover below and the versions the store's cache keys by.
    markers = store.markers(first, as_of)
    built, kept = split_markers(markers)
    if as_of not in built:
        raise LookupError(f"as_of: no sketches for {as_of} (the daily sketch build has not run for it)")
    by_range: dict[tuple[dt.date, dt.date], set[tuple[str, str]]] = {}
    for leaf in unique:
        by_range.setdefault((leaf.first, leaf.last), set()).update(
            (leaf.kind, value) for value in leaf.values
        )
    # Every range's sketches in one round of concurrent queries (a combination's leaves span
    # different ranges, e.g. 30 days of keywords and the as-of day of a demographic filter).
    ranges = list(by_range)
    days = set(built)
    requests = [(sorted(by_range[rng]), cover(*rng, days, kept)) for rng in ranges]
    blobs = dict(zip(ranges, store.fetch_all(requests, markers), strict=True))
    fetched = {
        leaf: [b for value in leaf.values for b in blobs[(leaf.first, leaf.last)][(leaf.kind, value)]]
        for leaf in unique
    }
    missing = (as_of - first).days + 1 - len(built)
    if missing:
        notes.append(f"{missing} day(s) of {first}..{as_of} have no sketches: the estimate leaves them out")
    result = _evaluate(expr, fetched)
    relation = relation_of(expr)
    point = float(result.get_estimate())
    lower, upper = float(result.get_lower_bound(SIGMAS)), float(result.get_upper_bound(SIGMAS))
    if relation is Relation.SUPERSET:
        lower_out, upper_out = 0.0, upper
    elif relation is Relation.SUBSET:
        lower_out, upper_out = lower, None
    elif relation is Relation.APPROXIMATE:
        lower_out, upper_out = None, None
    else:
        lower_out, upper_out = lower, upper
    count = sum(len(v) for v in fetched.values())
    return Estimate(point, lower_out, upper_out, relation, notes, count, time.monotonic() - started)
