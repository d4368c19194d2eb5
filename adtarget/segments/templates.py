"""The audience templates sales pick from: id, title, description, params schema, HiveQL file.

Each template is data: a JSON schema for its params (one property per param, with a title and
a description that the Airflow trigger form shows) and the HiveQL file ``sql/segments/<id>.sql``
that selects its members (a column ``adid``). Params never enter the SQL text: lists and
scalars are staged as tables that the file reads as ``p_<param>`` and ``p_scalars``
(see :mod:`adtarget.segments.staging`).

Params shared by many templates are defined once here (:data:`PARAMS`); every template also
takes the demographic filters (:data:`FILTERS`) and ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from adtarget import vocabulary
from adtarget.hiveql import SQL_DIR

#: Where the templates' HiveQL lives.
TEMPLATE_SQL_DIR = SQL_DIR / "segments"

#: The most values a list param takes (a sales keyword list can be long; 10 k is plenty).
MAX_LIST = 10_000


def _strings(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "array",
        "title": title,
        "description": description,
        "items": {"type": "string", "minLength": 1, "maxLength": 200},
        "maxItems": MAX_LIST,
        "uniqueItems": True,
        **extra,
    }


def _ints(title: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "array",
        "title": title,
        "description": description,
        "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        "maxItems": MAX_LIST,
        "uniqueItems": True,
        **extra,
    }


def _choices(title: str, description: str, values: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "array",
        "title": title,
        "description": description + " Empty: any.",
        "items": {"type": "string", "enum": list(values)},
        # The trigger form shows an array with examples as a multi-select list.
        "examples": list(values),
        "uniqueItems": True,
        "default": [],
    }


def _count(title: str, description: str, default: int, maximum: int = 10_000) -> dict[str, Any]:
    return {
        "type": "integer",
        "title": title,
        "description": description,
        "minimum": 1,
        "maximum": maximum,
        "default": default,
    }


#: Params shared by several templates, by name.
PARAMS: dict[str, dict[str, Any]] = {
    "days": _count("Days", "Look back this many days, ending on the as-of day.", 7, maximum=90),
    "keywords": _strings(
        "Keywords",
        "Search keywords or phrases (Korean or English), matched literally after Unicode NFKC "
        "and case folding.",
        minItems=1,
    ),
    "match": {
        "type": "string",
        "title": "Match",
        "description": "token: whole words in order ('run' does not match 'running'); "
        "substring: anywhere in the text ('나이키' matches '나이키운동화').",
        "enum": ["token", "substring"],
        "default": "token",
    },
    "exclude_keywords": _strings(
        "Exclude keywords",
        "A search that also holds one of these does not count (same matching as keywords).",
        default=[],
    ),
    "min_searches": _count("Minimum searches", "At least this many matching searches.", 2),
    "quiet_days": _count(
        "Quiet days",
        "No matching activity in the last this many days of the window (lapsed users); "
        "must be smaller than days.",
        3,
        maximum=89,
    ),
    "banner_ids": _ints("Banner ids", "Banners, by id.", minItems=1),
    "campaign_ids": _ints("Campaign ids", "Campaigns, by id.", minItems=1),
    "creative_ids": _ints("Creative ids", "Creatives, by id.", minItems=1),
    "min_clicks": _count("Minimum clicks", "At least this many clicks.", 1),
    "min_impressions": _count("Minimum impressions", "At least this many impressions.", 3),
    "max_impressions": _count(
        "Maximum impressions", "At most this many impressions (frequency cap).", 10, maximum=1_000_000
    ),
    "app_ids": _strings("App ids", "Installed apps, by package id (e.g. app.00042).", minItems=1),
    "app_categories": {
        k: v
        for k, v in _choices(
            "App categories", "Categories of installed apps.", vocabulary.APP_CATEGORIES
        ).items()
        if k != "default"
    }
    | {"minItems": 1, "description": "Categories of installed apps."},
    "min_apps": _count("Minimum apps", "At least this many distinct apps installed.", 1),
    "domains": _strings("Domains", "Visited site domains (exact host names).", minItems=1),
    "path_prefixes": _strings(
        "Path prefixes", "Visited URL paths starting with one of these (literal, e.g. /cart).", minItems=1
    ),
    "min_visits": _count("Minimum visits", "At least this many visits.", 1),
    "conversion_types": _choices(
        "Conversion types", "Kinds of conversion that count.", ("purchase", "signup", "install")
    ),
    "min_total_value": {
        "type": "number",
        "title": "Minimum total value",
        "description": "Conversions worth at least this much in total (KRW).",
        "minimum": 0,
        "default": 100_000,
    },
    "min_active_days": _count("Minimum active days", "Active (any log) on at least this many days.", 1),
    "all_of": _ints("All of", "Members of every one of these registered segments.", default=[]),
    "any_of": _ints("Any of", "Members of at least one of these registered segments.", default=[]),
    "none_of": _ints("None of", "Not members of any of these registered segments.", default=[]),
}

#: Demographic filters every template takes (user attributes on the as-of day); empty = any.
FILTERS: dict[str, dict[str, Any]] = {
    "age_bands": _choices("Age bands", "Only users in these age bands.", vocabulary.AGE_BANDS),
    "genders": _choices("Genders", "Only users of these genders (U: unknown).", vocabulary.GENDERS),
    "regions": _choices("Regions", "Only users in these regions.", vocabulary.REGIONS),
    "devices": _choices("Devices", "Only users on these devices.", vocabulary.DEVICES),
    "oses": _choices("Operating systems", "Only users on these operating systems.", vocabulary.OSES),
}

#: The day the window ends on; shared by every template.
AS_OF: dict[str, Any] = {
    "type": ["null", "string"],
    "format": "date",
    "title": "As of",
    "description": "Last day of the window (YYYY-MM-DD). Empty: the newest day in the warehouse.",
    "default": None,
}


@dataclass(frozen=True)
class Template:
    """One audience template."""

    id: str
    title: str
    description: str
    #: Names of its own params (from :data:`PARAMS`), in the order the trigger form shows them.
    params: tuple[str, ...]

    @property
    def sql_path(self) -> Path:
        return TEMPLATE_SQL_DIR / f"{self.id}.sql"

    @cached_property
    def sql(self) -> str:
        """The member query (``SELECT adid ...``) of ``sql/segments/<id>.sql``."""
        lines = [ln for ln in self.sql_path.read_text().splitlines() if not ln.lstrip().startswith("--")]
        return "\n".join(lines).strip().removesuffix(";").strip()

    @property
    def properties(self) -> dict[str, dict[str, Any]]:
        """Every param's schema: its own, then the filters, then ``as_of``."""
        own = {name: PARAMS[name] for name in self.params}
        return {**own, **FILTERS, "as_of": AS_OF}

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema of the template's params (draft 2020-12)."""
        required = [n for n, p in self.properties.items() if "default" not in p]
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.title,
            "description": self.description,
            "type": "object",
            "properties": self.properties,
            "required": required,
            "additionalProperties": False,
        }

    @property
    def list_params(self) -> tuple[str, ...]:
        """Params staged as tables (``p_<name>``): the arrays."""
        return tuple(n for n, p in self.properties.items() if p.get("type") == "array")

    @property
    def scalar_params(self) -> tuple[str, ...]:
        """Params staged as columns of ``p_scalars``."""
        return tuple(n for n, p in self.properties.items() if p.get("type") != "array")


_SEARCH = ("keywords", "match")

#: Every template, by id.
TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template(
            "search_any",
            "Searched any of the keywords",
            "Users who searched any of the keywords in the last N days (a search holding an "
            "excluded keyword does not count).",
            ("days", *_SEARCH, "exclude_keywords"),
        ),
        Template(
            "search_all",
            "Searched all of the keywords at once",
            "Users with a search that holds every one of the keywords, in the last N days.",
            ("days", *_SEARCH),
        ),
        Template(
            "search_frequency",
            "Searched the keywords at least K times",
            "Users with at least K searches holding any of the keywords in the last N days.",
            ("days", *_SEARCH, "min_searches"),
        ),
        Template(
            "search_lapsed",
            "Searched the keywords, then stopped",
            "Users who searched any of the keywords in the last N days but not in the last Q days.",
            ("days", *_SEARCH, "quiet_days"),
        ),
        Template(
            "search_and_click",
            "Searched the keywords and clicked the campaigns",
            "Users who both searched any of the keywords and clicked any of the campaigns in the "
            "last N days.",
            ("days", *_SEARCH, "campaign_ids"),
        ),
        Template(
            "banner_click",
            "Clicked banners",
            "Users with at least K clicks on any of the banners in the last N days.",
            ("days", "banner_ids", "min_clicks"),
        ),
        Template(
            "campaign_click",
            "Clicked campaigns",
            "Users with at least K clicks on any of the campaigns in the last N days.",
            ("days", "campaign_ids", "min_clicks"),
        ),
        Template(
            "impression_no_click",
            "Saw the ads, never clicked",
            "Users who saw at least K impressions of the campaigns in the last N days and clicked "
            "none of them.",
            ("days", "campaign_ids", "min_impressions"),
        ),
        Template(
            "creative_frequency",
            "Saw creatives between K and M times",
            "Users who saw the creatives at least K and at most M times in the last N days "
            "(frequency windows).",
            ("days", "creative_ids", "min_impressions", "max_impressions"),
        ),
        Template(
            "app_install",
            "Installed apps",
            "Users who installed any of the apps in the last N days.",
            ("days", "app_ids"),
        ),
        Template(
            "app_category",
            "Installed apps of categories",
            "Users who installed at least K distinct apps of the categories in the last N days.",
            ("days", "app_categories", "min_apps"),
        ),
        Template(
            "domain_visit",
            "Visited sites",
            "Users with at least K visits to any of the domains in the last N days.",
            ("days", "domains", "min_visits"),
        ),
        Template(
            "path_visit",
            "Visited pages",
            "Users who visited a path starting with one of the prefixes on one of the domains in "
            "the last N days.",
            ("days", "domains", "path_prefixes"),
        ),
        Template(
            "campaign_conversion",
            "Converted on campaigns",
            "Users who converted (of the given types) on any of the campaigns in the last N days.",
            ("days", "campaign_ids", "conversion_types"),
        ),
        Template(
            "clicked_not_converted",
            "Clicked but did not convert",
            "Users who clicked any of the campaigns in the last N days and did not convert on it "
            "(retargeting).",
            ("days", "campaign_ids"),
        ),
        Template(
            "high_value",
            "High-value converters",
            "Users whose conversions in the last N days are worth at least the amount in total.",
            ("days", "min_total_value"),
        ),
        Template(
            "active_users",
            "Active users",
            "Users active (in any log) on at least K of the last N days (frequency).",
            ("days", "min_active_days"),
        ),
        Template(
            "lapsed_users",
            "Lapsed users",
            "Users active in the last N days but not in the last Q days (recency).",
            ("days", "quiet_days"),
        ),
        Template(
            "demographic",
            "Demographic",
            "Users known on the as-of day, by age band, gender, region, device and OS (the filters).",
            (),
        ),
        Template(
            "segment_combination",
            "Combination of segments",
            "Members of all of the first segments, of any of the second and of none of the third "
            "(AND / OR / NOT of registered segments, each as of the same day).",
            ("all_of", "any_of", "none_of"),
        ),
    )
}


def template(template_id: str) -> Template:
    """The template named ``template_id``; a clear error for an unknown one."""
    try:
        return TEMPLATES[template_id]
    except KeyError:
        raise KeyError(
            f"template: {template_id!r} is not a template; known: {', '.join(TEMPLATES)}"
        ) from None
