"""A brute-force audience oracle: every template computed in plain Python over the generated rows.

Independent of the HiveQL under test: rows come straight from :mod:`adtarget.synthetic` (the
same pure functions that fill the warehouse), and each template's rule is written out here as
loops over them. Only the text normalisation (NFKC and case folding) is shared: it is the
definition of a match, not an implementation of one.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from adtarget import synthetic
from adtarget.matcher import normalize

Rows = list[dict[str, Any]]

#: The generated population the segment tests share (days far from any real data).
SEED = 23
USERS = 3_000
DAYS = (dt.date(2003, 7, 1), dt.date(2003, 7, 2))


class Logs:
    """All rows of a generated population over some days, per table."""

    def __init__(self, seed: int, users: int, days: Iterable[dt.date]) -> None:
        self.tables: dict[str, Rows] = defaultdict(list)
        for day in days:
            for name, make in synthetic.TABLES.items():
                for chunk in range(synthetic.chunk_count(users)):
                    for row in make(seed, day, chunk, users).to_pylist():
                        row["dt"] = day.isoformat()
                        self.tables[name].append(row)
        self._windows: dict[tuple[str, str, str], Rows] = {}

    def add(self, table: str, rows: Rows) -> None:
        self.tables[table].extend(rows)
        self._windows.clear()

    def rows(self, table: str, first: str, last: str) -> Rows:
        """The rows of ``table`` from day ``first`` to ``last`` (kept: thousands of oracle calls
        ask for the same few windows)."""
        key = (table, first, last)
        if key not in self._windows:
            self._windows[key] = [r for r in self.tables[table] if first <= r["dt"] <= last]
        return self._windows[key]


@functools.lru_cache(maxsize=100_000)
def _words(text: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\w+", normalize(text)))


@functools.lru_cache(maxsize=100_000)
def _spaced(text: str) -> str:
    return " ".join(normalize(text).split())


def contains(query: str, keyword: str, match: str) -> bool:
    """Does the search ``query`` hold ``keyword``: whole words in order, or a substring."""
    if match == "substring":
        return _spaced(keyword) in _spaced(query)
    want, have = _words(keyword), _words(query)
    return bool(want) and any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


def _window(p: dict[str, Any]) -> tuple[str, str]:
    as_of: dt.date = p["as_of"]
    return (as_of - dt.timedelta(days=p["days"] - 1)).isoformat(), as_of.isoformat()


def _quiet_from(p: dict[str, Any]) -> str:
    as_of: dt.date = p["as_of"]
    return (as_of - dt.timedelta(days=p["quiet_days"] - 1)).isoformat()


def _at_least(counter: Counter[str], k: int) -> set[str]:
    return {u for u, n in counter.items() if n >= k}


def _searches(logs: Logs, p: dict[str, Any]) -> Rows:
    first, last = _window(p)
    hits = []
    for r in logs.rows("search_log", first, last):
        if not any(contains(r["query"], k, p["match"]) for k in p["keywords"]):
            continue
        if any(contains(r["query"], k, p["match"]) for k in p.get("exclude_keywords", [])):
            continue
        hits.append(r)
    return hits


def _clicks(logs: Logs, p: dict[str, Any], key: str, ids: list[int]) -> Counter[str]:
    first, last = _window(p)
    wanted = set(ids)
    return Counter(
        r["adid"]
        for r in logs.rows("ad_event_log", first, last)
        if r["event"] == "click" and r[key] in wanted
    )


def _active_days(logs: Logs, p: dict[str, Any]) -> dict[str, set[str]]:
    first, last = _window(p)
    days: dict[str, set[str]] = defaultdict(set)
    for table in ("search_log", "ad_event_log", "app_install_log", "page_visit_log", "conversion_log"):
        for r in logs.rows(table, first, last):
            days[r["adid"]].add(r["dt"])
    return days


def search_any(logs: Logs, p: dict[str, Any]) -> set[str]:
    return {r["adid"] for r in _searches(logs, p)}


def search_all(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    return {
        r["adid"]
        for r in logs.rows("search_log", first, last)
        if all(contains(r["query"], k, p["match"]) for k in p["keywords"])
    }


def search_frequency(logs: Logs, p: dict[str, Any]) -> set[str]:
    return _at_least(Counter(r["adid"] for r in _searches(logs, p)), p["min_searches"])


def search_lapsed(logs: Logs, p: dict[str, Any]) -> set[str]:
    last_day: dict[str, str] = {}
    for r in _searches(logs, p):
        last_day[r["adid"]] = max(last_day.get(r["adid"], ""), r["dt"])
    return {u for u, d in last_day.items() if d < _quiet_from(p)}


def search_and_click(logs: Logs, p: dict[str, Any]) -> set[str]:
    return search_any(logs, p) & set(_clicks(logs, p, "campaign_id", p["campaign_ids"]))


def banner_click(logs: Logs, p: dict[str, Any]) -> set[str]:
    return _at_least(_clicks(logs, p, "banner_id", p["banner_ids"]), p["min_clicks"])


def campaign_click(logs: Logs, p: dict[str, Any]) -> set[str]:
    return _at_least(_clicks(logs, p, "campaign_id", p["campaign_ids"]), p["min_clicks"])


def impression_no_click(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    seen: Counter[str] = Counter()
    clicked = set()
    for r in logs.rows("ad_event_log", first, last):
        if r["campaign_id"] in p["campaign_ids"]:
            if r["event"] == "impression":
                seen[r["adid"]] += 1
            else:
                clicked.add(r["adid"])
    return _at_least(seen, p["min_impressions"]) - clicked


def creative_frequency(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    seen = Counter(
        r["adid"]
        for r in logs.rows("ad_event_log", first, last)
        if r["event"] == "impression" and r["creative_id"] in p["creative_ids"]
    )
    return {u for u, n in seen.items() if p["min_impressions"] <= n <= p["max_impressions"]}


def app_install(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    return {r["adid"] for r in logs.rows("app_install_log", first, last) if r["app_id"] in p["app_ids"]}


def app_category(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    apps: dict[str, set[str]] = defaultdict(set)
    for r in logs.rows("app_install_log", first, last):
        if r["app_category"] in p["app_categories"]:
            apps[r["adid"]].add(r["app_id"])
    return {u for u, a in apps.items() if len(a) >= p["min_apps"]}


def domain_visit(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    visits = Counter(
        r["adid"] for r in logs.rows("page_visit_log", first, last) if r["domain"] in p["domains"]
    )
    return _at_least(visits, p["min_visits"])


def path_visit(logs: Logs, p: dict[str, Any]) -> set[str]:
    first, last = _window(p)
    return {
        r["adid"]
        for r in logs.rows("page_visit_log", first, last)
        if r["domain"] in p["domains"] and any(r["path"].startswith(x) for x in p["path_prefixes"])
    }


def _conversions(logs: Logs, p: dict[str, Any]) -> Rows:
    first, last = _window(p)
    return logs.rows("conversion_log", first, last)


def campaign_conversion(logs: Logs, p: dict[str, Any]) -> set[str]:
    types = p["conversion_types"]
    return {
        r["adid"]
        for r in _conversions(logs, p)
        if r["campaign_id"] in p["campaign_ids"] and (not types or r["conversion_type"] in types)
    }


def clicked_not_converted(logs: Logs, p: dict[str, Any]) -> set[str]:
    converted = {r["adid"] for r in _conversions(logs, p) if r["campaign_id"] in p["campaign_ids"]}
    return set(_clicks(logs, p, "campaign_id", p["campaign_ids"])) - converted


def high_value(logs: Logs, p: dict[str, Any]) -> set[str]:
    total: dict[str, float] = defaultdict(float)
    for r in _conversions(logs, p):
        total[r["adid"]] += r["value"]
    return {u for u, v in total.items() if v >= p["min_total_value"]}


def active_users(logs: Logs, p: dict[str, Any]) -> set[str]:
    return {u for u, d in _active_days(logs, p).items() if len(d) >= p["min_active_days"]}


def lapsed_users(logs: Logs, p: dict[str, Any]) -> set[str]:
    return {u for u, d in _active_days(logs, p).items() if max(d) < _quiet_from(p)}


def demographic(logs: Logs, p: dict[str, Any]) -> set[str]:
    day = p["as_of"].isoformat()
    return {r["adid"] for r in logs.rows("user_attributes", day, day)}


_FILTERS = {
    "age_bands": "age_band",
    "genders": "gender",
    "regions": "region",
    "devices": "device",
    "oses": "os",
}


def filtered(logs: Logs, p: dict[str, Any], members: set[str]) -> set[str]:
    """``members`` narrowed by the demographic filters of ``p`` (attributes on the as-of day)."""
    active = {param: set(p[param]) for param in _FILTERS if p.get(param)}
    if not active:
        return members
    day = p["as_of"].isoformat()
    keep = {
        r["adid"]
        for r in logs.rows("user_attributes", day, day)
        if all(r[_FILTERS[param]] in values for param, values in active.items())
    }
    return members & keep


ORACLES: dict[str, Callable[[Logs, dict[str, Any]], set[str]]] = {
    f.__name__: f
    for f in (
        search_any,
        search_all,
        search_frequency,
        search_lapsed,
        search_and_click,
        banner_click,
        campaign_click,
        impression_no_click,
        creative_frequency,
        app_install,
        app_category,
        domain_visit,
        path_visit,
        campaign_conversion,
        clicked_not_converted,
        high_value,
        active_users,
        lapsed_users,
        demographic,
    )
}


def members(logs: Logs, template_id: str, p: dict[str, Any]) -> set[str]:
    """The audience of a (non-combination) template with validated params ``p``."""
    return filtered(logs, p, ORACLES[template_id](logs, p))


def random_params(rng: random.Random, template_id: str, logs: Logs) -> dict[str, Any]:
    """Random but plausible params of ``template_id``: keywords, phrases and substrings cut from
    the generated searches (Korean and English), ids seen in the logs, random windows and
    filters. Raw params, before validation (so ``as_of`` is absent)."""
    searches = logs.tables["search_log"]
    events = logs.tables["ad_event_log"]
    visits = logs.tables["page_visit_log"]
    installs = logs.tables["app_install_log"]
    conversions = logs.tables["conversion_log"]

    def keyword() -> str:
        words = str(rng.choice(searches)["query"]).split()
        if len(words) > 1 and rng.random() < 0.3:  # a phrase of two words in order
            start = rng.randrange(len(words) - 1)
            return " ".join(words[start : start + 2])
        word = rng.choice(words)
        if len(word) > 2 and rng.random() < 0.2:  # a piece of a word: substring mode finds it
            return word[: rng.randint(2, len(word) - 1)]
        return word.upper() if rng.random() < 0.1 else str(word)

    def some(rows: Rows, key: str, most: int) -> list[Any]:
        return sorted({rng.choice(rows)[key] for _ in range(rng.randint(1, most))})

    p: dict[str, Any] = {} if template_id == "demographic" else {"days": rng.randint(1, 2)}
    if template_id.startswith("search_"):
        p["keywords"] = sorted({keyword() for _ in range(rng.randint(1, 3))})
        p["match"] = rng.choice(["token", "substring"])
    match template_id:
        case "search_any":
            p["exclude_keywords"] = [keyword()] if rng.random() < 0.3 else []
        case "search_frequency":
            p["min_searches"] = rng.randint(1, 3)
        case "search_lapsed" | "lapsed_users":
            p["days"], p["quiet_days"] = 2, 1
        case "search_and_click" | "campaign_click" | "impression_no_click" | "clicked_not_converted":
            p["campaign_ids"] = some(events, "campaign_id", 4)
        case "banner_click":
            p["banner_ids"] = some(events, "banner_id", 4)
        case "creative_frequency":
            p["creative_ids"] = some(events, "creative_id", 6)
            p["min_impressions"] = rng.randint(1, 2)
            p["max_impressions"] = p["min_impressions"] + rng.randint(0, 3)
        case "app_install":
            p["app_ids"] = some(installs, "app_id", 5)
        case "app_category":
            p["app_categories"] = some(installs, "app_category", 3)
            p["min_apps"] = rng.randint(1, 2)
        case "domain_visit":
            p["domains"] = some(visits, "domain", 2)
            p["min_visits"] = rng.randint(1, 4)
        case "path_visit":
            p["domains"] = some(visits, "domain", 2)
            p["path_prefixes"] = sorted({rng.choice(visits)["path"][: rng.randint(2, 5)] for _ in range(2)})
        case "campaign_conversion":
            p["campaign_ids"] = some(conversions, "campaign_id", 6)
            p["conversion_types"] = rng.choice([[], ["purchase"], ["signup", "install"]])
        case "high_value":
            p["min_total_value"] = rng.choice([0, 10_000, 50_000])
        case "active_users":
            p["min_active_days"] = rng.randint(1, p["days"])
        case "demographic":
            p["age_bands"] = rng.sample(["13-19", "20-29", "30-39", "40-49"], 2)
    if template_id in {"campaign_click", "banner_click"}:
        p["min_clicks"] = rng.randint(1, 2)
    if template_id == "impression_no_click":
        p["min_impressions"] = rng.randint(1, 3)
    if rng.random() < 0.25:
        p["genders"] = [rng.choice(["F", "M"])]
    if rng.random() < 0.15:
        p["regions"] = ["seoul", "busan"]
    return p
