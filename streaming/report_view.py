"""The report's views: recent windows as JSON, and a small HTML page that refreshes itself."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

from streaming.report import Totals, WindowKey
from streaming.report_store import row_json

REFRESH_SECONDS = 2


def report_json(rows: Mapping[WindowKey, Totals], *, now_ms: int, minutes: int) -> dict[str, Any]:
    """Windows newest first, each with its rows (by campaign and creative) and its totals."""
    since = now_ms - minutes * 60_000
    windows: dict[int, list[tuple[WindowKey, Totals]]] = {}
    for key, totals in rows.items():
        if key.window_start_ms >= since - 60_000:
            windows.setdefault(key.window_start_ms, []).append((key, totals))
    out = []
    for start in sorted(windows, reverse=True):
        members = sorted(windows[start])
        total = Totals(
            impressions=sum(t.impressions for _, t in members),
            clicks=sum(t.clicks for _, t in members),
            conversions=sum(t.conversions for _, t in members),
            spend_micros=sum(t.spend_micros for _, t in members),
            late=sum(t.late for _, t in members),
        )
        out.append(
            {
                "window_start": _iso(start),
                "totals": {
                    k: v for k, v in row_json(WindowKey(start, 0, 0), total).items() if k not in _KEYS
                },
                "rows": [row_json(k, t) for k, t in members],
            }
        )
    return {"generated_at": _iso(now_ms), "minutes": minutes, "windows": out}


_KEYS = {"window_start", "campaign_id", "creative_id"}


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _ctr(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def render_html(report: Mapping[str, Any]) -> str:
    """The page: one table per window, newest first; every value escaped."""
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<meta http-equiv='refresh' content='{REFRESH_SECONDS}'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>adtarget realtime report</title><style>",
        "body{font-family:system-ui,sans-serif;margin:1rem;color:#222}",
        "table{border-collapse:collapse;margin:.5rem 0 1.5rem;min-width:60%}",
        "th,td{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}",
        "th:first-child,td:first-child{text-align:left}tfoot td{font-weight:600}",
        "</style></head><body>",
        "<h1>Realtime ad report</h1>",
        f"<p>Last {e(str(report['minutes']))} minutes, as of {e(str(report['generated_at']))} (UTC);"
        f" refreshes every {REFRESH_SECONDS} s.</p>",
    ]
    if not report["windows"]:
        parts.append("<p>No events in these minutes.</p>")
    head = "".join(
        f"<th>{h}</th>"
        for h in ("campaign / creative", "impressions", "clicks", "CTR", "conversions", "spend", "late")
    )
    for window in report["windows"]:
        parts.append(f"<h2>{e(window['window_start'])}</h2><table><thead><tr>{head}</tr></thead><tbody>")
        for row in window["rows"]:
            parts.append(_tr(f"{row['campaign_id']} / {row['creative_id']}", row))
        parts.append(f"</tbody><tfoot>{_tr('all', window['totals'])}</tfoot></table>")
    parts.append("</body></html>")
    return "".join(parts)


def _tr(label: str, row: Mapping[str, Any]) -> str:
    cells = [
        label,
        f"{row['impressions']:,}",
        f"{row['clicks']:,}",
        _ctr(row["ctr"]),
        f"{row['conversions']:,}",
        f"{row['spend']:,.2f}",
        f"{row['late']:,}",
    ]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
