"""The admin Charts page's SVG: daily series as lines or stacked bars, drawn in the shared chart frame.

Pure functions from daily series to markup. Every point and bar carries a <title> so
hovering shows the exact figure; lines differ by dash as well as colour, so a series
lying on another stays visible. The legend is the page's (with totals), not the SVG's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from integration.charts.frame import PALETTE, Axis, Frame, dash, marker, nice_axis

OUTCOME_COLORS = {
    "done": "#2f9e5f",
    "would_do": "#7b5ea7",
    "skipped": "#98a2b3",
    "failed": "#d1495b",
    "held": "#e9a23b",
}
FRAME = Frame(width=900, height=260, left=48, right=16, top=14, bottom=30)


@dataclass(frozen=True)
class Chart:
    svg: Markup
    legend: list[tuple[str, str, int]]  # (name, colour, total over the period)


def colors_for(names: Sequence[str], fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    fixed = fixed or {}
    return {name: fixed.get(name) or PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


Series = Mapping[str, Sequence[int]]  # name → one count a day
Fixed = Mapping[str, str] | None  # colours some names always have (the outcomes')


def _chart(labels: Sequence[str], series: Series, title: str, fixed: Fixed, peak: int,
           draw: Callable[[Axis, dict[str, str]], list[str]]) -> Chart:
    """The chart both kinds share: colours, the page's legend with totals, the frame, or
    "No data" when nothing is above zero; `draw` adds the marks for the axis `peak` needs."""
    colors = colors_for(list(series), fixed)
    legend = [(name, colors[name], sum(values)) for name, values in series.items()]
    axis = nice_axis([peak], whole=True)
    xs = [FRAME.slot_x(i, len(labels)) for i in range(len(labels))]
    body = draw(axis, colors) if peak else [
        f'<text x="{FRAME.width / 2}" y="{FRAME.height / 2}" text-anchor="middle" font-size="14" '
        'fill="currentColor">No data in this period</text>']
    return Chart(FRAME.svg(title, [*FRAME.y_axis(axis), *FRAME.x_labels(labels, xs), *body]), legend)


def _slots(labels: Sequence[str]) -> tuple[list[float], list[str]]:
    """Each label's x and its escaped text, worked out once per chart rather than once per mark."""
    return [FRAME.slot_x(i, len(labels)) for i in range(len(labels))], [str(escape(label)) for label in labels]


def line_chart(labels: Sequence[str], series: Series, title: str, fixed: Fixed = None) -> Chart:
    def draw(axis: Axis, colors: dict[str, str]) -> list[str]:
        body, (xs, texts) = [], _slots(labels)
        for n, (name, values) in enumerate(series.items()):
            points = [(f"{x:.1f}", f"{FRAME.y(v, axis):.1f}") for x, v in zip(xs, values, strict=True)]
            width, radius = marker(n)
            color, label = colors[name], escape(name)
            body.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="{width}"'
                        f'{dash(n)} points="{" ".join(f"{x},{y}" for x, y in points)}"/>')
            body.extend(f'<circle cx="{x}" cy="{y}" r="{radius}" fill="{color}">'
                        f"<title>{label} · {text}: {value}</title></circle>"
                        for (x, y), text, value in zip(points, texts, values, strict=True))
        return body

    return _chart(labels, series, title, fixed, max((max(v) for v in series.values() if v), default=0), draw)


def stacked_bars(labels: Sequence[str], series: Series, title: str, fixed: Fixed = None) -> Chart:
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]

    def draw(axis: Axis, colors: dict[str, str]) -> list[str]:
        bar_w = max(2.0, FRAME.plot_w / len(labels) * 0.7)
        body, (xs, texts) = [], _slots(labels)
        names = [(escape(name), colors[name], values) for name, values in series.items()]
        for i, (x, text) in enumerate(zip(xs, texts, strict=True)):
            left, top = f'x="{x - bar_w / 2:.1f}"', FRAME.base
            for name, color, values in names:
                if not values[i]:
                    continue
                h = FRAME.base - FRAME.y(values[i], axis)
                top -= h
                body.append(f'<rect class="bar" {left} y="{top:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                            f'fill="{color}"><title>{name} · {text}: {values[i]}</title></rect>')
        return body

    return _chart(labels, series, title, fixed, max(totals, default=0), draw)
