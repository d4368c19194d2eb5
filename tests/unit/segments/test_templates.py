"""The templates as data: schemas, SQL files, staged names; params validation and hashing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from jsonschema import Draft202012Validator

from adtarget.segments import query
from adtarget.segments.params import ParamError, definition_hash, validate
from adtarget.segments.templates import TEMPLATES, template

AS_OF = dt.date(2026, 11, 27)


def test_about_twenty_templates_with_thirty_to_forty_params() -> None:
    assert 18 <= len(TEMPLATES) <= 22
    names = {name for t in TEMPLATES.values() for name in t.properties}
    assert 30 <= len(names) <= 40


@pytest.mark.parametrize("template_id", list(TEMPLATES))
def test_schema_is_valid_and_every_param_is_described(template_id: str) -> None:
    tmpl = TEMPLATES[template_id]
    Draft202012Validator.check_schema(tmpl.schema)
    for name, spec in tmpl.properties.items():
        assert spec.get("title"), name
        assert len(spec.get("description", "")) > 10, name


@pytest.mark.parametrize("template_id", [t for t in TEMPLATES if t != "segment_combination"])
def test_sql_file_selects_adid_and_reads_only_its_params(template_id: str) -> None:
    tmpl = TEMPLATES[template_id]
    assert tmpl.sql.upper().startswith("SELECT")
    assert query.references(tmpl) <= {*tmpl.list_params, "scalars"}
    # Spark substitutes ${...} even inside literals: the files must not use it.
    assert "${" not in tmpl.sql
    # LIKE / RLIKE would read a param's % _ or regex characters as patterns.
    assert not re.search(r"\b(R?LIKE|REGEXP)\b", tmpl.sql, re.IGNORECASE)


def test_unknown_template_is_named() -> None:
    with pytest.raises(KeyError, match="'nope' is not a template"):
        template("nope")


@pytest.mark.parametrize(
    ("template_id", "raw", "message"),
    [
        ("search_any", {}, r"search_any: keywords: is required \(got null\)"),
        ("search_any", {"keywords": []}, r"search_any: keywords: should be non-empty \(got \[\]\)"),
        (
            "search_any",
            {"keywords": ["ok", ""]},
            r"search_any: keywords\[1\]: should be non-empty \(got \"\"\)",
        ),
        ("search_any", {"keywords": ["a"], "match": "regex"}, r"search_any: match: is not one of"),
        (
            "search_any",
            {"keywords": ["a"], "days": 0},
            r"search_any: days: is less than the minimum of 1 \(got 0\)",
        ),
        (
            "search_any",
            {"keywords": ["a"], "kewords": ["b"]},
            r"search_any: kewords: not a param of this template",
        ),
        (
            "banner_click",
            {"banner_ids": ["7"]},
            r"banner_click: banner_ids\[0\]: is not of type 'integer' \(got \"7\"\)",
        ),
        (
            "demographic",
            {"as_of": "2026-13-01"},
            r"demographic: as_of: is not a 'date' \(got \"2026-13-01\"\)",
        ),
        ("demographic", {"genders": ["X"]}, r"demographic: genders\[0\]: is not one of"),
        ("demographic", {"as_of": "0001-01-01"}, r"as_of: must be between 2000-01-01 and 2100-12-31"),
        (
            "lapsed_users",
            {"days": 3, "quiet_days": 3},
            r"lapsed_users: quiet_days: must be smaller than days \(3\) \(got 3\)",
        ),
        (
            "creative_frequency",
            {"creative_ids": [1], "min_impressions": 5, "max_impressions": 4},
            r"max_impressions: must be at least min_impressions \(5\)",
        ),
        (
            "search_any",
            {"keywords": ["ok", "!!!"]},
            r"keywords\[1\]: has no letters or digits to match in token mode",
        ),
        (
            "search_any",
            {"keywords": ["   "], "match": "substring"},
            r"keywords\[0\]: has no letters or digits to match in substring mode",
        ),
        ("segment_combination", {"none_of": [1]}, r"all_of: all_of or any_of must name at least one segment"),
        ("segment_combination", {"all_of": [1], "none_of": [1]}, r"none_of: segment 1 is also in all_of"),
    ],
)
def test_a_bad_param_is_named_with_its_value(template_id: str, raw: dict[str, object], message: str) -> None:
    with pytest.raises(ParamError, match=message):
        validate(template(template_id), raw)


def test_defaults_are_filled_and_definitions_ignore_list_order_and_as_of() -> None:
    tmpl = template("search_any")
    values = validate(tmpl, {"keywords": ["b", "a"], "as_of": "2026-11-27"})
    assert values["days"] == 7
    assert values["match"] == "token"
    assert values["exclude_keywords"] == []
    assert values["as_of"] == AS_OF
    same = validate(tmpl, {"keywords": ["a", "b"]})
    assert definition_hash(tmpl, values) == definition_hash(tmpl, same)
    assert definition_hash(tmpl, values) != definition_hash(tmpl, validate(tmpl, {"keywords": ["a"]}))


HOSTILE = ["x'; DROP TABLE adtarget.search_log; --", "${hiveconf:a}", "back\\slash", "new\nline", '"q"']


def test_values_are_staged_never_written_into_the_sql() -> None:
    tmpl = template("search_any")
    values = validate(tmpl, {"keywords": HOSTILE, "exclude_keywords": ["zzz"], "regions": ["seoul"]})
    audience = query.build(tmpl, values, AS_OF)
    for value in [*HOSTILE, "zzz", "seoul", "2026-11-27"]:
        assert value not in audience.sql
    staged = {name.split("_", 1)[1]: table for name, table in audience.tables.items()}
    assert staged["keywords"].column("value").to_pylist() == HOSTILE
    assert staged["keywords"].column("needle").to_pylist()[0] == " x drop table adtarget search_log "
    assert staged["regions"].column("value").to_pylist() == ["seoul"]
    scalars = staged["scalars"].to_pylist()[0]
    assert scalars["dt_from"] == "2026-11-21"
    assert scalars["dt_to"] == "2026-11-27"
    assert scalars["any_regions"] is False
    # Only the filters that are set narrow the audience.
    assert "region IN" in audience.sql
    assert "age_band" not in audience.sql


def test_combination_builds_each_segment_and_refuses_cycles() -> None:
    combo = template("segment_combination")
    banner = template("banner_click")
    registered = {
        1: (banner, validate(banner, {"banner_ids": [1]})),
        2: (combo, validate(combo, {"any_of": [1, 3]})),
        3: (combo, validate(combo, {"all_of": [2]})),
    }
    audience = query.build(combo, validate(combo, {"all_of": [1]}), AS_OF, resolve=registered.__getitem__)
    assert "adtarget.ad_event_log" in audience.sql
    with pytest.raises(query.QueryError, match=r"segment 2 refers back to itself \(2 -> 3 -> 2\)"):
        query.build(combo, validate(combo, {"any_of": [2]}), AS_OF, resolve=registered.__getitem__)
