"""Small inline SVG charts for the daily report: no script, no external asset, no font file.

Mail clients block remote images and scripts; an inline ``<svg>`` with a ``viewBox`` scales to
a phone's width. Every chart carries a ``<title>`` and ``role="img"`` with an ``aria-label``, and
the page shows the same numbers in a table next to it, so a client that drops SVG loses nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

#: The palette: one hue per series, readable on white and for common colour blindness.
COLOURS = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#64748b")
FONT = "font-family='-apple-system,Segoe UI,Roboto,Noto Sans KR,sans-serif' font-size='11'"


def _svg(width: int, height: int, label: str, body: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {width} {height}' width='100%' "
        f"style='max-width:{width}px;height:auto' role='img' aria-label='{escape(label)}'>"
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _short(value: float) -> str:
    """1234567 -> 1.2M: axis and bar labels stay narrow."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:g}"


def bars(label: str, items: Sequence[tuple[str, float]], *, width: int = 400) -> str:
    """Horizontal bars, one per ``(name, value)``, longest scaled to the chart's width."""
    row, name_w, value_w = 22, 150, 44
    top = max((v for _, v in items), default=0) or 1
    parts = []
    for i, (name, value) in enumerate(items):
        y = i * row
        length = max(0.0, value) / top * (width - name_w - value_w)
        text = name if len(name) <= 24 else name[:23] + "…"
        parts.append(
            f"<text x='{name_w - 6}' y='{y + 15}' text-anchor='end' {FONT}>{escape(text)}</text>"
            f"<rect x='{name_w}' y='{y + 4}' width='{length:.1f}' height='{row - 8}' rx='2' "
            f"fill='{COLOURS[0]}'><title>{escape(name)}: {value:,.0f}</title></rect>"
            f"<text x='{name_w + length + 4:.1f}' y='{y + 15}' {FONT}>{_short(value)}</text>"
        )
    return _svg(width, max(row, row * len(items)), label, "".join(parts))


def columns(label: str, names: Sequence[str], values: Sequence[float], *, width: int = 400) -> str:
    """Vertical columns (e.g. impressions per hour) with every fourth name under its column."""
    height, bottom, left = 150, 18, 36
    top = max(values, default=0) or 1
    step = (width - left) / max(1, len(values))
    parts = [
        f"<text x='{left - 4}' y='12' text-anchor='end' {FONT}>{_short(top)}</text>",
        f"<line x1='{left}' y1='{height - bottom}' x2='{width}' y2='{height - bottom}' stroke='#cbd5e1'/>",
    ]
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        h = max(0.0, value) / top * (height - bottom - 8)
        x = left + i * step
        parts.append(
            f"<rect x='{x + 1:.1f}' y='{height - bottom - h:.1f}' width='{max(1.0, step - 2):.1f}' "
            f"height='{h:.1f}' fill='{COLOURS[0]}'><title>{escape(name)}: {value:,.0f}</title></rect>"
        )
        if i % 4 == 0:
            parts.append(f"<text x='{x + 1:.1f}' y='{height - 4}' {FONT}>{escape(name)}</text>")
    return _svg(width, height, label, "".join(parts))


def lines(
    label: str, names: Sequence[str], series: dict[str, Sequence[float | None]], *, width: int = 400
) -> str:
    """One line per series over ``names`` (days); a missing value breaks its line."""
    height, bottom, left, legend = 170, 18, 44, 16 * ((len(series) + 2) // 3)
    plot_h = height - bottom - 8
    known = [v for values in series.values() for v in values if v is not None]
    top = max(known, default=0) or 1
    step = (width - left - 10) / max(1, len(names) - 1)
    parts = [
        f"<text x='{left - 4}' y='{legend + 12}' text-anchor='end' {FONT}>{_short(top)}</text>",
        f"<line x1='{left}' y1='{legend + height - bottom}' x2='{width}' y2='{legend + height - bottom}' "
        "stroke='#cbd5e1'/>",
    ]
    for i, name in enumerate(names):
        if i == 0 or i == len(names) - 1 or len(names) <= 8:
            # The first and last labels align with the plot's edges, so neither is cut off.
            anchor = "start" if i == 0 else "end" if i == len(names) - 1 else "middle"
            parts.append(
                f"<text x='{left + i * step:.1f}' y='{legend + height - 4}' text-anchor='{anchor}' "
                f"{FONT}>{escape(name)}</text>"
            )
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        parts.append(
            f"<rect x='{(n % 3) * 130 + 4}' y='{(n // 3) * 16 + 2}' width='10' height='10' fill='{colour}'/>"
            f"<text x='{(n % 3) * 130 + 18}' y='{(n // 3) * 16 + 11}' {FONT}>{escape(name)}</text>"
        )
        points: list[str] = []
        for i, value in enumerate([*values, None]):
            if value is None:
                if len(points) > 1:
                    joined = " ".join(points)
                    line = f"stroke='{colour}' stroke-width='2' points='{joined}'"
                    parts.append(f"<polyline fill='none' {line}/>")
                for p in points if len(points) == 1 else []:
                    cx, cy = p.split(",")  # a lone value: a dot, not an invisible line
                    parts.append(f"<circle cx='{cx}' cy='{cy}' r='3' fill='{colour}'/>")
                points = []
                continue
            y = legend + 8 + plot_h - max(0.0, value) / top * plot_h
            points.append(f"{left + i * step:.1f},{y:.1f}")
    return _svg(width, height + legend, label, "".join(parts))
