"""Report charts as inline SVG, rendered on the server: no JavaScript, no CDN, same look in a saved file.

Pure functions from a Dataset to markup, drawn in the shared frame (integration.charts):
bars and lines carry a <title> per bar or point, overlapping lines differ by dash, and
every text is escaped (titles and statuses come from trackers and are untrusted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from markupsafe import Markup, escape

from integration.charts.frame import Axis, Frame, color, dash, dash_pattern, fmt, marker, nice_axis
from integration.reports.dataset import Chart, Dataset, plain

FRAME = Frame()
MAX_DOTS = 600  # a strip chart draws at most this many items
MAX_POINTS = 400  # a line's points carry a tooltip up to this many
REF_COLORS = {"p50": "#3aa17e", "p85": "#e8833a", "p95": "#d64550",
              "50%": "#3aa17e", "85%": "#e8833a", "95%": "#d64550"}


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _labels(d: Dataset, c: Chart) -> list[str]:
    return [str(plain(v)) for v in d.column(c.x)]


def _series(d: Dataset, c: Chart, *, stacked: bool = False) -> tuple[list[str], list[list[float]], Axis]:
    """The x labels, one list of values per y column, and the axis that holds them all
    (stacked: the axis holds each x's total)."""
    labels = _labels(d, c)
    series = [[_num(v) for v in d.column(y)] for y in c.y]
    tops = [sum(s[n] for s in series) for n in range(len(labels))] if stacked else [v for s in series for v in s]
    return labels, series, nice_axis(tops)


def _legend(names: Sequence[str], dashed: bool = False) -> list[str]:
    return FRAME.legend([(name, color(n), dash_pattern(n) if dashed else "") for n, name in enumerate(names)])


def ref_groups(refs: Sequence[tuple[str, float]]) -> list[tuple[str, float, str]]:
    """Reference lines sharing a value share one label ("p85 = p95"), in the colour of the highest."""
    groups: dict[float, list[str]] = {}
    for name, value in refs:
        groups.setdefault(value, []).append(name)
    return [(" = ".join(names), value, REF_COLORS.get(names[-1], "#333")) for value, names in groups.items()]


def _ref(line: str, label: str, stroke: str, names: str, value: float) -> str:
    """A dashed reference line and its label; `line` and `label` are their position attributes."""
    return (f'<line class="ref" {line} stroke="{stroke}" stroke-dasharray="4 3"/>'
            f'<text class="ref-label" {label} fill="{stroke}">{escape(names)} {fmt(value)}</text>')


def _h_refs(c: Chart, axis: Axis) -> list[str]:
    """Horizontal reference lines across the plot (percentiles of a duration), labelled at the right."""
    out = []
    for names, value, stroke in ref_groups(c.refs):
        y = FRAME.y(value, axis)
        out.append(_ref(f'x1="{FRAME.left}" x2="{FRAME.width - FRAME.right}" y1="{y:.1f}" y2="{y:.1f}"',
                        f'x="{FRAME.width - FRAME.right - 2}" y="{y - 3:.1f}" text-anchor="end"',
                        stroke, names, value))
    return out


def bar_chart(d: Dataset, c: Chart) -> Markup:
    labels, series, axis = _series(d, c)
    slot = FRAME.plot_w / max(1, len(labels))
    bar_w = max(1.0, min(slot * 0.8, 64.0) / max(1, len(series)))
    pad = (slot - bar_w * len(series)) / 2
    body = FRAME.y_axis(axis)
    for s, values in enumerate(series):
        for n, value in enumerate(values):
            x, y = FRAME.left + n * slot + pad + s * bar_w, FRAME.y(value, axis)
            body.append(f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" '
                        f'height="{FRAME.base - y:.1f}" fill="{color(s)}"><title>{escape(labels[n])} · '
                        f"{escape(c.y[s])}: {fmt(value)}</title></rect>")
    body += FRAME.x_labels(labels, [FRAME.slot_x(n, len(labels)) for n in range(len(labels))])
    body += _bucket_refs(c, labels, slot)
    return FRAME.svg(d.title, [*body, *_legend(c.y)])


def _bucket_refs(c: Chart, labels: list[str], slot: float) -> list[str]:
    """Percentile markers on a day histogram: at the bucket holding the value, proportionally inside it."""
    out: list[str] = []
    try:
        buckets = [float(label) for label in labels]
    except ValueError:
        return out  # not a numeric axis: no markers
    for k, (names, value, stroke) in enumerate(ref_groups(c.refs)):
        n = sum(1 for b in buckets if b <= value) - 1
        if n < 0:
            continue
        x = FRAME.left + n * slot + slot * min(1.0, max(0.0, value - buckets[n]))
        anchor, tx = ("end", x - 3) if x > FRAME.width - 90 else ("start", x + 3)
        lift = 11 * (k % 2)  # neighbouring labels alternate between two heights
        out.append(_ref(f'x1="{x:.1f}" x2="{x:.1f}" y1="{FRAME.top - 4 - lift}" y2="{FRAME.base}"',
                        f'x="{tx:.1f}" y="{FRAME.top - 6 - lift}" text-anchor="{anchor}"', stroke, names, value))
    return out


def hbar_chart(d: Dataset, c: Chart) -> Markup:
    labels = [str(plain(v)) for v in d.column(c.x)][:20]
    values = [_num(v) for v in d.column(c.y[0])][:20]
    row_h, label_w, top_y = 22, 170, 8
    frame = Frame(height=top_y + row_h * max(1, len(labels)) + 8)
    share = c.unit == "share"
    top = 1.0 if share else (max(values, default=0) or 1.0)
    shown = [f"{v * 100:.0f}%" if share else fmt(v) for v in values]
    plot_w = frame.width - label_w - frame.right - 50
    body = []
    for n, (label, value, text) in enumerate(zip(labels, values, shown, strict=False)):
        y = top_y + n * row_h
        w = plot_w * value / top
        short = label if len(label) <= 26 else label[:25] + "…"
        body.append(f'<text class="axis" x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="currentColor">'
                    f"{escape(short)}</text>"
                    f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{color(0)}"><title>{escape(label)}: {text}</title></rect>'
                    f'<text class="axis" x="{label_w + w + 4:.1f}" y="{y + 14}" fill="currentColor">{text}</text>')
    return frame.svg(d.title, body)


def line_chart(d: Dataset, c: Chart) -> Markup:
    labels, series, axis = _series(d, c)
    gap = FRAME.plot_w / max(1, len(labels) - 1)
    xs = [FRAME.left + n * gap for n in range(len(labels))]
    body = FRAME.y_axis(axis)
    for s, values in enumerate(series):
        points = [(x, FRAME.y(v, axis)) for x, v in zip(xs, values, strict=False)]
        body.append(f'<polyline class="series" fill="none" stroke="{color(s)}" '
                    f'stroke-width="{marker(s)[0]}"{dash(s)} '
                    f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in points)}"><title>{escape(c.y[s])}</title>'
                    "</polyline>")
        if len(points) <= MAX_POINTS:
            body += [f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="{marker(s)[1] - 1}" fill="{color(s)}">'
                     f"<title>{escape(c.y[s])} · {escape(labels[n])}: {fmt(values[n])}</title></circle>"
                     for n, (x, y) in enumerate(points)]
    body += FRAME.x_labels(labels, xs)
    return FRAME.svg(d.title, [*body, *_legend(c.y, dashed=True)])


def area_chart(d: Dataset, c: Chart) -> Markup:
    """Stacked bands in the order of `c.y`, the first at the bottom (a cumulative flow diagram)."""
    labels, series, axis = _series(d, c, stacked=True)
    slot = FRAME.plot_w / max(1, len(labels))
    xs = [FRAME.slot_x(n, len(labels)) for n in range(len(labels))]
    body = FRAME.y_axis(axis)
    lower = [0.0] * len(labels)
    for s, values in enumerate(series):
        upper = [lo + v for lo, v in zip(lower, values, strict=True)]
        edge = [f"{x:.1f},{FRAME.y(v, axis):.1f}" for x, v in zip(xs, upper, strict=True)]
        back = [f"{x:.1f},{FRAME.y(v, axis):.1f}" for x, v in reversed(list(zip(xs, lower, strict=True)))]
        body.append(f'<polygon class="band" points="{" ".join(edge + back)}" fill="{color(s)}" '
                    f'fill-opacity="0.85" stroke="{color(s)}"><title>{escape(c.y[s])}</title></polygon>')
        lower = upper
    for n, label in enumerate(labels):  # one hover target per day naming every band's count
        parts = " · ".join(f"{escape(name)} {fmt(series[s][n])}" for s, name in enumerate(c.y))
        body.append(f'<rect class="hit" x="{FRAME.left + n * slot:.1f}" y="{FRAME.top}" width="{slot:.1f}" '
                    f'height="{FRAME.plot_h:.1f}" fill="#000" fill-opacity="0"><title>{escape(label)}: {parts}'
                    "</title></rect>")
    body += FRAME.x_labels(labels, xs)
    return FRAME.svg(d.title, [*body, *_legend(c.y)])


def _day_number(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp() / 86400
    if isinstance(value, date):
        return float(value.toordinal() - date(1970, 1, 1).toordinal())
    return _num(value)


def scatter_chart(d: Dataset, c: Chart) -> Markup:
    """One dot per row: x a date, y a duration, with horizontal percentile lines."""
    raw_x, values = d.column(c.x), [_num(v) for v in d.column(c.y[0])]
    xs_days = [_day_number(v) for v in raw_x]
    low, high = ((_day_number(c.x_domain[0]), _day_number(c.x_domain[1])) if c.x_domain
                 else (min(xs_days), max(xs_days)))
    span = max(high - low, 1.0)
    axis = nice_axis([*values, *(v for _, v in c.refs)], whole=False)
    body = FRAME.y_axis(axis) + _h_refs(c, axis)
    keys = d.column(d.columns[0])
    for key, when, x_day, value in zip(keys, raw_x, xs_days, values, strict=True):
        x = FRAME.left + FRAME.plot_w * (x_day - low) / span
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{FRAME.y(value, axis):.1f}" r="3.5" fill="{color(0)}" '
                    f'fill-opacity="0.6"><title>{escape(key)} · {escape(plain(when))}: {fmt(value)} '
                    f"{escape(c.unit)}</title></circle>")
    ticks = 6
    tick_days = [low + span * k / ticks for k in range(ticks + 1)]
    labels = [date.fromordinal(int(t) + date(1970, 1, 1).toordinal()).strftime("%b %d") for t in tick_days]
    body += FRAME.x_labels(labels, [FRAME.left + FRAME.plot_w * k / ticks for k in range(ticks + 1)])
    return FRAME.svg(d.title, body)


def strip_chart(d: Dataset, c: Chart) -> Markup:
    """Dots per category (e.g. age of each item per status) with horizontal percentile lines."""
    cats = list(dict.fromkeys(str(v) for v in d.column(c.x)))
    values = [_num(v) for v in d.column(c.y[0])]
    axis = nice_axis([*values, *(v for _, v in c.refs)], whole=False)
    slot = FRAME.plot_w / max(1, len(cats))
    body = FRAME.y_axis(axis) + _h_refs(c, axis)
    keys = d.column(d.columns[0])
    if len(values) > MAX_DOTS:  # rows come oldest first: the ones that matter are drawn
        body.append(f'<text class="axis" x="{FRAME.left + 4}" y="{FRAME.top - 8}" fill="currentColor">the '
                    f"{MAX_DOTS} oldest of {len(values)} shown</text>")
    for n, (cat, value) in enumerate(list(zip(d.column(c.x), values, strict=False))[:MAX_DOTS]):
        k = cats.index(str(cat))
        jitter = ((n * 37) % 100) / 100 - 0.5
        x = FRAME.left + k * slot + slot / 2 + jitter * slot * 0.5
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{FRAME.y(value, axis):.1f}" r="4" fill="{color(0)}" '
                    'fill-opacity="0.7">'
                    f"<title>{escape(keys[n])}: {fmt(value)} {escape(c.unit)}</title></circle>")
    body += FRAME.x_labels(cats, [FRAME.left + k * slot + slot / 2 for k in range(len(cats))])
    return FRAME.svg(d.title, body)


RENDERERS = {"bar": bar_chart, "hbar": hbar_chart, "line": line_chart, "strip": strip_chart,
             "area": area_chart, "scatter": scatter_chart}


def render(d: Dataset) -> Markup | None:
    """The dataset's chart as SVG, or None when it has no chart or no rows."""
    if d.chart is None or not d.rows:
        return None
    return RENDERERS[d.chart.kind](d, d.chart)
