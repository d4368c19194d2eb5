"""The matcher as a Spark SQL table function gives the matcher's own answers."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import pytest

from adtarget import match_udtf
from adtarget.matcher import MatcherError, MatchMode, Require, SegmentMatcher, SegmentRule
from adtarget.segments.params import validate
from adtarget.segments.registry import Registry, Status
from adtarget.segments.settings import SegmentSettings
from adtarget.segments.templates import template
from adtarget.stack.config import StackSettings
from adtarget.stack.engines.spark import spark_env
from tests.warehouse import query

pytestmark = pytest.mark.integration

RULES = [
    SegmentRule(1, ("nike", "adidas")),
    SegmentRule(2, ("running shoes",)),
    SegmentRule(3, ("나이키",), mode=MatchMode.SUBSTRING),
    SegmentRule(4, ("hotel", "jeju"), require=Require.ALL),
    SegmentRule(5, ("shoes",), exclude=("used",)),
    SegmentRule(6, ("'; DROP TABLE x; --",), mode=MatchMode.SUBSTRING),
]
LINES = [
    "Nike RUNNING shoes",
    "나이키운동화 할인",
    "jeju hotel",
    "used shoes",
    "x'; DROP TABLE x; -- y",
    "nothing here",
    None,
]


@pytest.fixture(scope="module")
def spark(settings: StackSettings) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    # py4j logs "Closing down clientserver connection" from __del__ after pytest closed its streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    os.environ.update(spark_env(settings))
    session = (
        SparkSession.builder.master("local[2]")
        .appName("adtarget-test-udtf")
        # No metastore needed: keep this session off the shared one.
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_lateral_match_segments_equals_the_matcher(spark: Any) -> None:
    match_udtf.register(spark, RULES)
    logs = spark.createDataFrame(list(enumerate(LINES)), "id INT, text STRING")
    logs.createOrReplaceTempView("logs")
    rows = spark.sql("SELECT l.id, m.segment_id FROM logs l, LATERAL match_segments(l.text) m").collect()
    got = sorted((r.id, r.segment_id) for r in rows)
    matcher = SegmentMatcher(RULES)
    expected = sorted((i, s) for i, line in enumerate(LINES) if line is not None for s in matcher.match(line))
    assert got == expected
    assert (3, 5) not in got  # "used shoes": excluded
    assert (4, 6) in got  # the hostile string, matched literally


def test_match_segments_table_equals_the_matcher(spark: Any) -> None:
    # The Arrow form over a TABLE argument: the same memberships, the key given back as a string,
    # and a TABLE of the wrong shape refused with its columns named.
    match_udtf.register(spark, RULES)
    logs = spark.createDataFrame(list(enumerate(LINES)), "id INT, text STRING")
    logs.createOrReplaceTempView("logs")
    rows = spark.sql(
        "SELECT key, segment_id FROM match_segments_table(TABLE(SELECT id, text FROM logs))"
    ).collect()
    got = sorted((int(r.key), r.segment_id) for r in rows)
    matcher = SegmentMatcher(RULES)
    expected = sorted((i, s) for i, line in enumerate(LINES) if line is not None for s in matcher.match(line))
    assert got == expected
    assert {type(r.key) for r in rows} == {str}
    with pytest.raises(Exception, match=r"two columns.*it has \(text string, id int"):
        spark.sql("SELECT * FROM match_segments_table(TABLE(SELECT text, id FROM logs))").collect()


def test_a_bad_rule_fails_on_the_driver_naming_the_segment(spark: Any) -> None:
    with pytest.raises(MatcherError, match="segment 8: pattern '\\?\\?' has nothing to match"):
        match_udtf.register(spark, [SegmentRule(8, ("??",))])


def test_match_segments_over_hiveserver2_follows_the_registry(
    stack: Callable[..., None], settings: StackSettings
) -> None:
    """Ad-hoc HiveQL on the Thrift server matches with the registry's active segments."""
    stack("postgres", "spark-thrift")
    word = f"zq{uuid.uuid4().hex[:10]}"  # a keyword no other segment has
    tmpl = template("search_any")
    with closing(Registry(SegmentSettings().registry_url)) as registry:
        segment, _ = registry.register(
            tmpl, validate(tmpl, {"keywords": [word.upper()]}), name=f"udtf-{word}", owner="test"
        )
        try:
            sql = "SELECT m.segment_id FROM (SELECT %(q)s AS q) l, LATERAL match_segments(l.q) m"
            deadline = time.monotonic() + 60  # the server polls the registry every 10 s
            while (segment.segment_id,) not in (rows := query(settings, sql, {"q": f"cheap {word}!"})):
                assert time.monotonic() < deadline, (
                    f"match_segments did not pick up segment {segment.segment_id}"
                )
                time.sleep(2)
            assert rows == [(segment.segment_id,)]
            table_sql = (
                "SELECT key, segment_id FROM match_segments_table(TABLE("
                "SELECT 'u1' AS adid, %(q)s AS q UNION ALL SELECT 'u2', 'nothing'))"
            )
            assert query(settings, table_sql, {"q": f"cheap {word}!"}) == [("u1", segment.segment_id)]
        finally:
            registry.set_status(segment.segment_id, Status.EXPIRED)
