"""The synthetic log generator: reproducible, realistic enough, matching the warehouse DDL."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import Counter

import pyarrow as pa
import pytest

from adtarget import hiveql, synthetic

DAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize("table", list(synthetic.TABLES))
def test_same_arguments_give_the_same_rows(table: str) -> None:
    make = synthetic.TABLES[table]
    assert make(7, DAY, 0, 3_000).equals(make(7, DAY, 0, 3_000))


def test_days_and_seeds_differ() -> None:
    a = synthetic.search_log(7, DAY, 0, 3_000)
    assert not a.equals(synthetic.search_log(7, DAY + dt.timedelta(days=1), 0, 3_000))
    assert not a.equals(synthetic.search_log(8, DAY, 0, 3_000))


def test_users_are_stable_across_days_and_keys_are_uuids() -> None:
    day1 = synthetic.user_attributes(7, DAY, 0, 2_500)
    day2 = synthetic.user_attributes(7, DAY + dt.timedelta(days=3), 0, 2_500)
    assert day1.equals(day2)
    adids = day1.column("adid").to_pylist()
    assert len(set(adids)) == 2_500
    assert all(uuid.UUID(a).version == 4 for a in adids[:100])
    assert len(set(day1.column("bid").to_pylist())) == 2_500


def test_chunks_partition_the_population() -> None:
    n = synthetic.CHUNK_USERS + 123
    assert synthetic.chunk_count(n) == 2
    sizes = [synthetic.user_attributes(7, DAY, c, n).num_rows for c in range(2)]
    assert sizes == [synthetic.CHUNK_USERS, 123]


def test_every_event_belongs_to_a_user_of_its_chunk_and_day() -> None:
    users = set(synthetic.user_attributes(7, DAY, 0, 2_000).column("adid").to_pylist())
    for name in ("search_log", "ad_event_log", "page_visit_log"):
        rows = synthetic.TABLES[name](7, DAY, 0, 2_000)
        assert rows.num_rows > 0
        assert set(rows.column("adid").to_pylist()) <= users
        ts = rows.column("ts").to_pylist()
        assert all(t.date() == DAY for t in ts)


def test_search_popularity_is_zipf_like_with_korean_and_english() -> None:
    queries = synthetic.search_log(7, DAY, 0, 10_000).column("query").to_pylist()
    words = Counter(w for q in queries for w in q.split())
    ranked = [w for w, _ in words.most_common()]
    assert ranked[0] == synthetic.KEYWORDS_KO[0]  # the most popular word of the vocabulary
    top, tenth = words[ranked[0]], words[ranked[9]]
    assert top > 3 * tenth
    assert any(re.search("[가-힣]", q) for q in queries)
    assert any(re.search("[a-z]", q) for q in queries)
    assert any(" " in q for q in queries)  # multi-word phrases


def test_clicks_are_a_small_share_of_ad_events() -> None:
    events = Counter(synthetic.ad_event_log(7, DAY, 0, 10_000).column("event").to_pylist())
    assert 0.005 < events["click"] / (events["click"] + events["impression"]) < 0.08


def _ddl_columns() -> dict[str, list[str]]:
    tables = {}
    for statement in hiveql.load("warehouse/logs.sql"):
        m = re.match(r"CREATE TABLE IF NOT EXISTS adtarget\.(\w+) \((.*)\) PARTITIONED BY", statement, re.S)
        if m:
            tables[m.group(1)] = re.findall(r"^\s*(\w+) [A-Z]+", m.group(2), re.M)
    return tables


def test_generated_columns_match_the_warehouse_ddl() -> None:
    ddl = _ddl_columns()
    assert set(ddl) == set(synthetic.TABLES)
    for name, make in synthetic.TABLES.items():
        assert make(7, DAY, 0, 100).schema.names == ddl[name], name
    assert synthetic.search_log(7, DAY, 0, 100).schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_statements_split_on_line_ending_semicolons_without_comments() -> None:
    script = "-- a comment; not a statement\nCREATE DATABASE x;\nSELECT ';'\nFROM t;\nSELECT 1"
    assert hiveql.statements(script) == ["CREATE DATABASE x", "SELECT ';'\nFROM t", "SELECT 1"]
