"""Charts rendered on the server as SVG: no chart library, no CDN, no script, nothing to vendor.

Pure functions from daily series to SVG markup. Colours are presentation attributes (the
admin Content-Security-Policy forbids inline styles), every name is escaped, and each
point and bar carries a <title> so hovering shows the exact figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = (
    "#2f6fb0",
    "#d1495b",
    "#2a9d8f",
    "#e9a23b",
    "#7b5ea7",
    "#3d8f3d",
    "#c06c84",
    "#5c6b73",
    "#ef7b45",
    "#1b998b",
)
OUTCOME_COLORS = {
    "done": "#2f9e5f",
    "would_do": "#7b5ea7",
    "skipped": "#98a2b3",
    "failed": "#d1495b",
    "held": "#e9a23b",
}
WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 30


@dataclass(frozen=True)
class Chart:
    svg: Markup
    legend: list[tuple[str, str, int]]  # (name, colour, total over the period)


def colors_for(names: Sequence[str], fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    fixed = fixed or {}
    return {name: fixed.get(name) or PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def nice_max(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^k)."""
    if value <= 4:
        return 4
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _frame(labels: Sequence[str], top: int, title: str) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts = [
        (
            f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        )
    ]
    for i in range(5):
        value = top * i // 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#8884" '
            f'stroke-width="1"/><text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="currentColor">{value}</text>'
        )
    every = max(1, math.ceil(len(labels) / 8))
    last = len(labels) - 1
    for i, label in enumerate(labels):
        if i % every == 0 or (i == last and last % every >= every / 2):
            x = _x(i, len(labels), plot_w)
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="11" '
                f'fill="currentColor">{escape(label)}</text>'
            )
    return parts


def _x(i: int, n: int, plot_w: float) -> float:
    return LEFT + (plot_w * (i + 0.5) / n)


def _empty(parts: list[str]) -> Markup:
    parts.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="14" '
        f'fill="currentColor">No data in this period</text></svg>'
    )
    return Markup("".join(parts))


def line_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    title: str,
    fixed: Mapping[str, str] | None = None,
) -> Chart:
    colors = colors_for(list(series), fixed)
    top = nice_max(max((max(v) for v in series.values() if v), default=0))
    parts = _frame(labels, top, title)
    legend = [(name, colors[name], sum(values)) for name, values in series.items()]
    if not any(any(v) for v in series.values()):
        return Chart(_empty(parts), legend)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    for name, values in series.items():
        points = [(_x(i, len(labels), plot_w), TOP + plot_h - plot_h * v / top) for i, v in enumerate(values)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline fill="none" stroke="{colors[name]}" stroke-width="2" points="{path}"/>')
        for (x, y), label, value in zip(points, labels, values, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[name]}">'
                f"<title>{escape(name)} · {escape(label)}: {value}</title></circle>"
            )
    parts.append("</svg>")
    return Chart(Markup("".join(parts)), legend)


def stacked_bars(
    labels: Sequence[str],
    series: Mapping[str, Sequence[int]],
    title: str,
    fixed: Mapping[str, str] | None = None,
) -> Chart:
    colors = colors_for(list(series), fixed)
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = nice_max(max(totals, default=0))
    parts = _frame(labels, top, title)
    legend = [(name, colors[name], sum(values)) for name, values in series.items()]
    if not any(totals):
        return Chart(_empty(parts), legend)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bar_w = max(2.0, plot_w / len(labels) * 0.7)
    for i, label in enumerate(labels):
        x, base = _x(i, len(labels), plot_w) - bar_w / 2, float(TOP + plot_h)
        for name, values in series.items():
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colors[name]}"><title>{escape(name)} · {escape(label)}: {values[i]}</title></rect>'
            )
    parts.append("</svg>")
    return Chart(Markup("".join(parts)), legend)
