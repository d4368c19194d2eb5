"""The report's HTML page (the mail's HTML part and the kept copy) and its plain-text part."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from adtarget.dailyreport import charts

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent),
    autoescape=True,  # segment names and run ids are user text
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _charts(figures: dict[str, Any]) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    logs, segments, realtime = figures["logs"], figures["segments"], figures["realtime"]
    if "missing" not in logs:
        out["logs"] = Markup(  # noqa: S704 - built by charts, which escapes every text it writes
            charts.lines(
                "Rows per log over the last days", [d[5:] for d in logs["trend_days"]], logs["trend"]
            )
        )
    if "missing" not in segments:
        out["largest"] = Markup(  # noqa: S704 - as above
            charts.bars(
                "Largest segments by members", [(s["name"], s["members"]) for s in segments["largest"]]
            )
        )
    if "missing" not in realtime:
        out["hourly"] = Markup(  # noqa: S704 - as above
            charts.columns(
                "Impressions per hour (UTC)", [f"{h:02d}h" for h in range(24)], realtime["hourly_impressions"]
            )
        )
    return out


def html(figures: dict[str, Any], *, archive: str, made_at: dt.datetime) -> str:
    """The page of one day's figures (see :func:`adtarget.dailyreport.task.collect`)."""
    return _ENV.get_template("daily.html.j2").render(
        **{k: figures[k] for k in ("day", "logs", "segments", "audiences", "api", "realtime", "pipelines")},
        charts=_charts(figures),
        archive=archive,
        made_at=made_at.strftime("%Y-%m-%d %H:%M UTC"),
    )


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def text(figures: dict[str, Any]) -> str:
    """The mail's plain-text part: the headline numbers, for clients that show no HTML."""
    lines = [f"adtarget daily report {figures['day']} (UTC)", ""]
    sections: list[tuple[str, dict[str, Any], Callable[[dict[str, Any]], str]]] = [
        ("Log rows", figures["logs"], lambda s: _n(s["total_rows"])),
        (
            "Segments",
            figures["segments"],
            lambda s: f"{_n(s['segments'])} delivered, {_n(s['memberships'])} memberships",
        ),
        ("Audience-size requests", figures["audiences"], lambda s: _n(s["requests"])),
        (
            "Profile API",
            figures["api"],
            lambda s: f"{_n(s['requests'])} requests, p99 {s['p99_ms']} ms, {_n(s['timeouts'])} timeouts",
        ),
        (
            "Realtime report",
            figures["realtime"],
            lambda s: (
                f"{_n(s['impressions'])} impressions, {_n(s['clicks'])} clicks, "
                f"{_n(s['conversions'])} conversions"
            ),
        ),
        (
            "Pipelines",
            figures["pipelines"],
            lambda s: f"{_n(s['runs'])} runs, {_n(s['failed'])} failed",
        ),
    ]
    for title, section, line in sections:
        lines.append(
            f"{title}: "
            + (f"not available ({section['missing']})" if "missing" in section else line(section))
        )
    lines += ["", "The HTML part has the charts and tables."]
    return "\n".join(lines) + "\n"
