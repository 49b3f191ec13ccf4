"""Trend charts as server-made SVG: nothing to load in the browser, works without JavaScript, and
passes the content security policy (presentation attributes and classes only, no inline style).

Colours come from insight.css through classes (`series-0` … `series-7`), so charts follow the
light and dark themes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from markupsafe import Markup, escape

SERIES_CLASSES = 8


def _short(day: dt.date) -> str:
    return f"{day:%b} {day.day}"


def sparkline(counts: Sequence[int], *, width: int = 120, height: int = 28, label: str = "") -> Markup:
    """A small line of weekly counts, for lists of topics."""
    if not counts:
        return Markup("")
    top = max(max(counts), 1)
    step = width / max(len(counts) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - (c / top) * (height - 4):.1f}" for i, c in enumerate(counts)
    )
    title = escape(label or f"papers per week, last {len(counts)} weeks")
    return Markup(
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{title}"><title>{title}</title>'
        f'<polyline class="spark-line" points="{points}" fill="none"/></svg>'
    )


def weekly_chart(
    weeks: Sequence[dt.date],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 720,
    height: int = 240,
    title: str = "Papers per week",
) -> Markup:
    """Lines of papers per week, one per (name, counts), with axes, week ticks and a legend."""
    if not weeks or not series:
        return Markup("")
    left, right, top_pad, bottom = 36, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max(max((max(c) for _n, c in series if c), default=1), 1)
    step = plot_w / max(len(weeks) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top_pad + plot_h - (v / top) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for v in sorted({0, top // 2, top}):
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>'
        )
    every = max(1, len(weeks) // 6)
    for i in range(0, len(weeks), every):
        parts.append(
            f'<text class="tick" x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">{_short(weeks[i])}</text>'
        )
    for n, (name, counts) in enumerate(series):
        points = " ".join(f"{x(i):.1f},{y(c):.1f}" for i, c in enumerate(counts))
        css = f"series-{n % SERIES_CLASSES}"
        parts.append(
            f'<polyline class="line {css}" points="{points}" fill="none"><title>{escape(name)}</title></polyline>'
        )
        last = len(counts) - 1
        parts.append(
            f'<circle class="dot {css}" cx="{x(last):.1f}" cy="{y(counts[last]):.1f}" r="3">'
            f"<title>{escape(name)}: {counts[last]} in the week of {_short(weeks[last])}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(names: Sequence[str]) -> Markup:
    items = "".join(
        f'<li><span class="swatch series-{n % SERIES_CLASSES}" aria-hidden="true"></span>{escape(name)}</li>'
        for n, name in enumerate(names)
    )
    return Markup(f'<ul class="chart-legend">{items}</ul>')
