"""Charts as inline SVG, rendered on the server: no JavaScript, no CDN, same look in a saved file.

Pure functions from a Dataset to markup; every text is escaped (titles and statuses
come from trackers and are untrusted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from integration.reports.dataset import Chart, Dataset, plain

WIDTH, HEIGHT = 640, 270
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 30, 44  # the top margin holds the percentile labels
MAX_DOTS = 600  # a strip chart draws at most this many items
CHAR_W = 6.2  # average width of an 11px label character, for spacing axis labels
PALETTE = ("#2f6fdf", "#e8833a", "#3aa17e", "#b05cc6", "#d64550", "#8c8c8c", "#c9a227", "#2bb3c0")
REF_COLORS = {"p50": "#3aa17e", "p85": "#e8833a", "p95": "#d64550"}


def nice_max(value: float) -> tuple[float, float]:
    """An axis top and tick step (1, 2 or 5 × 10^k) covering `value` in at most five ticks."""
    if value <= 0:
        return 1.0, 0.25 if value == 0 else 1.0
    raw = value / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return step * math.ceil(value / step), step


def _num(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def _svg(chart_title: str, body: list[str], legend: Sequence[str] = (), height: int = HEIGHT) -> Markup:
    items = "".join(
        f'<g transform="translate({LEFT + n * 130},{height - 12})"><rect width="10" height="10" y="-9" '
        f'fill="{PALETTE[n % len(PALETTE)]}"/><text class="axis" x="14" font-size="11">{escape(name)}</text>'
        "</g>"
        for n, name in enumerate(legend) if len(legend) > 1
    )
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(chart_title)}" font-family="system-ui, sans-serif" font-size="11">'
        f"<title>{escape(chart_title)}</title>{''.join(body)}{items}</svg>"
    )


def _y_axis(top: float, step: float, plot_h: float) -> list[str]:
    out = []
    ticks = round(top / step)
    for t in range(ticks + 1):
        y = TOP + plot_h - plot_h * (t * step) / top
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   'stroke="#e3e6ea"/>'
                   f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
                   f"{_fmt(t * step)}</text>")
    return out


def _x_labels(labels: list[str], x_of: list[float]) -> list[str]:
    """As many labels as fit side by side; the others are skipped evenly."""
    widest = max((len(label) for label in labels), default=1) * CHAR_W + 12
    fit = max(1, int((WIDTH - LEFT - RIGHT) // widest))
    every = max(1, math.ceil(len(labels) / fit))
    return [f'<text class="axis" x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" fill="#555">'
            f"{escape(label)}</text>"
            for n, (label, x) in enumerate(zip(labels, x_of, strict=False)) if n % every == 0]


def bar_chart(d: Dataset, c: Chart) -> Markup:
    labels = [str(plain(v)) for v in d.column(c.x)]
    series = [[_num(v) for v in d.column(y)] for y in c.y]
    top, step = nice_max(max((v for s in series for v in s), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(labels))
    bar_w = max(1.0, min(slot * 0.8, 64.0) / max(1, len(series)))
    pad = (slot - bar_w * len(series)) / 2
    body = _y_axis(top, step, plot_h)
    for s, values in enumerate(series):
        for n, value in enumerate(values):
            h = plot_h * value / top
            x = LEFT + n * slot + pad + s * bar_w
            body.append(f'<rect class="bar" x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                        f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(labels[n])}: '
                        f"{_fmt(value)}</title></rect>")
    body += _x_labels(labels, [LEFT + n * slot + slot / 2 for n in range(len(labels))])
    body += _bucket_refs(c, labels, slot, plot_h)
    return _svg(d.title, body, c.y)


def _bucket_refs(c: Chart, labels: list[str], slot: float, plot_h: float) -> list[str]:
    """Percentile markers on a day histogram: at the bucket holding the value, proportionally inside it."""
    out: list[str] = []
    try:
        buckets = [float(label) for label in labels]
    except ValueError:
        return out  # not a numeric axis: no markers
    for k, (names, value, color) in enumerate(ref_groups(c.refs)):
        n = sum(1 for b in buckets if b <= value) - 1
        if n < 0:
            continue
        x = LEFT + n * slot + slot * min(1.0, max(0.0, value - buckets[n]))
        anchor, tx = ("end", x - 3) if x > WIDTH - 90 else ("start", x + 3)
        lift = 11 * (k % 2)  # neighbouring labels alternate between two heights
        out.append(f'<line class="ref" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4 - lift}" y2="{TOP + plot_h}" '
                   f'stroke="{color}" stroke-dasharray="4 3"/><text class="ref-label" x="{tx:.1f}" '
                   f'y="{TOP - 6 - lift}" text-anchor="{anchor}" fill="{color}">'
                   f"{escape(names)} {_fmt(value)}</text>")
    return out


def ref_groups(refs: Sequence[tuple[str, float]]) -> list[tuple[str, float, str]]:
    """Reference lines sharing a value share one label ("p85 = p95"), in the colour of the highest."""
    groups: dict[float, list[str]] = {}
    for name, value in refs:
        groups.setdefault(value, []).append(name)
    return [(" = ".join(names), value, REF_COLORS.get(names[-1], "#333")) for value, names in groups.items()]


def hbar_chart(d: Dataset, c: Chart) -> Markup:
    labels = [str(plain(v)) for v in d.column(c.x)][:20]
    values = [_num(v) for v in d.column(c.y[0])][:20]
    row_h, label_w, top_y = 22, 170, 8
    height = top_y + row_h * max(1, len(labels)) + 8
    share = c.unit == "share"
    top = 1.0 if share else (max(values, default=0) or 1.0)
    shown = [f"{v * 100:.0f}%" if share else _fmt(v) for v in values]
    plot_w = WIDTH - label_w - RIGHT - 50
    body = []
    for n, (label, value, text) in enumerate(zip(labels, values, shown, strict=False)):
        y = top_y + n * row_h
        w = plot_w * value / top
        short = label if len(label) <= 26 else label[:25] + "…"
        body.append(f'<text class="axis" x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="#333">'
                    f"{escape(short)}</text>"
                    f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                    f'fill="{PALETTE[0]}"><title>{escape(label)}: {text}</title></rect>'
                    f'<text class="axis" x="{label_w + w + 4:.1f}" y="{y + 14}" fill="#555">{text}</text>')
    return _svg(d.title, body, height=height)


def line_chart(d: Dataset, c: Chart) -> Markup:
    labels = [str(plain(v)) for v in d.column(c.x)]
    series = [[_num(v) for v in d.column(y)] for y in c.y]
    top, step = nice_max(max((v for s in series for v in s), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    gap = plot_w / max(1, len(labels) - 1)
    x_of = [LEFT + n * gap for n in range(len(labels))]
    body = _y_axis(top, step, plot_h)
    for s, values in enumerate(series):
        points = " ".join(f"{x:.1f},{TOP + plot_h - plot_h * v / top:.1f}" for x, v in zip(x_of, values, strict=False))
        body.append(f'<polyline class="series" fill="none" stroke="{PALETTE[s % len(PALETTE)]}" '
                    f'stroke-width="{2.5 if s == 0 else 1.5}" points="{points}">'
                    f"<title>{escape(c.y[s])}</title>"
                    "</polyline>")
    body += _x_labels(labels, x_of)
    return _svg(d.title, body, c.y)


def strip_chart(d: Dataset, c: Chart) -> Markup:
    """Dots per category (e.g. age of each item per status) with horizontal percentile lines."""
    cats = list(dict.fromkeys(str(v) for v in d.column(c.x)))
    values = [_num(v) for v in d.column(c.y[0])]
    top, step = nice_max(max([*values, *(v for _, v in c.refs)], default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(cats))
    body = _y_axis(top, step, plot_h)
    for names, value, color in ref_groups(c.refs):
        y = TOP + plot_h - plot_h * value / top
        body.append(f'<line class="ref" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{color}" stroke-dasharray="4 3"/><text class="ref-label" '
                    f'x="{WIDTH - RIGHT - 2}" y="{y - 3:.1f}" text-anchor="end" fill="{color}">'
                    f"{escape(names)} {_fmt(value)}</text>")
    keys = d.column(d.columns[0])
    if len(values) > MAX_DOTS:  # rows come oldest first: the ones that matter are drawn
        body.append(f'<text class="axis" x="{LEFT + 4}" y="{TOP - 8}" fill="#555">the {MAX_DOTS} oldest of '
                    f"{len(values)} shown</text>")
    for n, (cat, value) in enumerate(list(zip(d.column(c.x), values, strict=False))[:MAX_DOTS]):
        k = cats.index(str(cat))
        jitter = ((n * 37) % 100) / 100 - 0.5
        x = LEFT + k * slot + slot / 2 + jitter * slot * 0.5
        y = TOP + plot_h - plot_h * value / top
        body.append(f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}" '
                    'fill-opacity="0.7">'
                    f"<title>{escape(keys[n])}: {_fmt(value)} {escape(c.unit)}</title></circle>")
    body += _x_labels(cats, [LEFT + k * slot + slot / 2 for k in range(len(cats))])
    return _svg(d.title, body)


RENDERERS = {"bar": bar_chart, "hbar": hbar_chart, "line": line_chart, "strip": strip_chart}


def render(d: Dataset) -> Markup | None:
    """The dataset's chart as SVG, or None when it has no chart or no rows."""
    if d.chart is None or not d.rows:
        return None
    return RENDERERS[d.chart.kind](d, d.chart)
