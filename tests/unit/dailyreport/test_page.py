"""The report page and mail from figures: numbers shown, user text escaped, missing parts said."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from adtarget.dailyreport import charts, page
from adtarget.dailyreport.settings import DailyReportSettings
from adtarget.dailyreport.task import publish

HOSTILE = "<script>alert('x')</script> & \"한국어\""


def _figures() -> dict[str, Any]:
    movers = [
        {"segment_id": 7, "name": HOSTILE, "template": "search_any", "members": 1200, "joined": 40, "left": 3}
    ]
    return {
        "day": "2026-11-27",
        "logs": {
            "logs": [{"log": "search_log", "rows": 123456, "users": 3000, "rows_before": 100000}],
            "total_rows": 123456,
            "total_rows_before": 100000,
            "trend_days": [f"2026-11-{d}" for d in range(21, 28)],
            "trend": {"search_log": [None, None, None, None, None, 100000, 123456]},
        },
        "segments": {
            "segments": 4040,
            "segments_before": 4000,
            "memberships": 987654,
            "memberships_before": 900000,
            "empty": 12,
            "by_template": {"search_any": 4040},
            "largest": movers,
            "movers": movers,
        },
        "audiences": {
            "requests": 3,
            "registered": 1,
            "by_template": {"banner_click": 3},
            "median_seconds": 4.2,
            "max_seconds": 9.0,
        },
        "api": {"missing": "the profile API at http://127.0.0.1:8000/metrics did not answer"},
        "realtime": {
            "impressions": 5000,
            "clicks": 50,
            "conversions": 5,
            "spend": 12.5,
            "late": 2,
            "ctr": 0.01,
            "campaigns_total": 1,
            "hourly_impressions": [0] * 23 + [5000],
            "campaigns": [
                {
                    "campaign_id": 42,
                    "impressions": 5000,
                    "clicks": 50,
                    "conversions": 5,
                    "spend": 12.5,
                    "ctr": 0.01,
                }
            ],
        },
        "pipelines": {
            "runs": 3,
            "succeeded": 2,
            "failed": 1,
            "by_dag": [{"dag_id": "segment_extraction", "success": 2, "failed": 1}],
            "failed_runs": [{"dag_id": "segment_extraction", "run_id": "scheduled__x", "end_date": "t"}],
        },
    }


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_the_page_shows_the_numbers_escapes_names_and_says_what_is_missing() -> None:
    html = page.html(
        _figures(),
        archive="http://x/daily-2026-11-27.html",
        made_at=dt.datetime(2026, 11, 28, 6, tzinfo=dt.UTC),
    )
    for shown in (
        "123,456",
        "+23.5%",
        "4,040",
        "987,654",
        "5,000",
        "1.00%",
        "scheduled__x",
        "Not available: the profile API",
    ):
        assert shown in html, shown
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    tags = _Tags()
    tags.feed(html)
    assert "script" not in tags.tags
    assert "img" not in tags.tags
    assert tags.tags.count("svg") == 3  # log trend, largest segments, impressions per hour
    assert 'name="viewport"' in html


def test_charts_are_well_formed_svg() -> None:
    for svg in (
        charts.bars("b", [(HOSTILE, 3.0), ("two", 0.0)]),
        charts.columns("c", ["00h", "01h"], [1.0, 2.0]),
        charts.lines("l", ["a", "b", "c"], {"x": [1.0, None, 3.0], "y": [None, None, None]}),
        charts.bars("empty", []),
    ):
        root = ET.fromstring(svg)  # noqa: S314 - our own output; raises on unescaped text or broken markup
        assert root.tag.endswith("svg")
        assert root.get("viewBox")


def test_publish_keeps_the_page_and_mails_html_and_text(tmp_path: Path) -> None:
    sent: list[EmailMessage] = []
    settings = DailyReportSettings(archive_dir=tmp_path, recipients=["a@x", "b@x"], archive_url="http://h/r/")
    result = publish(_figures(), settings, sent.append)
    kept = tmp_path / "daily-2026-11-27.html"
    assert result["path"] == str(kept)
    assert result["url"] == "http://h/r/daily-2026-11-27.html"
    assert result["missing"] == ["api"]
    (msg,) = sent
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["To"] == "a@x, b@x"
    assert "(1 part(s) missing)" in parsed["Subject"]
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    assert html_part is not None
    assert text_part is not None
    assert html_part.get_content().rstrip("\n") == kept.read_text().rstrip("\n")
    assert "Log rows: 123,456" in text_part.get_content()
    assert not list(tmp_path.glob(".*.tmp"))
