"""The frame every chart draws in: a y axis with whole, evenly spaced ticks, x labels, the <svg>.

One axis for both chart modules, so a count never gets a tick at 2.5 and every chart
reads the same. Colours are presentation attributes (the admin Content-Security-Policy
forbids inline styles); every text is escaped (names come from trackers).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#2f6fdf", "#e8833a", "#3aa17e", "#b05cc6", "#d64550", "#8c8c8c", "#c9a227", "#2bb3c0",
           "#5c6b73", "#1b998b")
# a series that lies on top of another is still told apart by its dash, not only its colour
DASHES = ("", "6 3", "2 3", "8 3 2 3")
CHAR_W = 6.2  # average width of an 11px label character, for spacing labels
MAX_TICKS = 5


@dataclass(frozen=True)
class Axis:
    """A y axis from 0 to `top` in equal steps of `step`."""

    top: float
    step: float

    def ticks(self) -> list[float]:
        return [n * self.step for n in range(round(self.top / self.step) + 1)]


def nice_axis(values: Iterable[float], *, whole: bool | None = None, max_ticks: int = MAX_TICKS) -> Axis:
    """The smallest axis of 1, 2 or 5 × 10^k steps covering every value in at most `max_ticks` steps.

    `whole` (default: when every value is a whole number) keeps the step a whole number,
    so a count of items is never labelled 2.5.
    """
    numbers = [float(v) for v in values]
    biggest = max(numbers, default=0.0)
    if whole is None:
        whole = all(v.is_integer() for v in numbers)
    if biggest <= 0:
        return Axis(1.0, 1.0)
    raw = biggest / max_ticks
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    if whole:
        step = max(1.0, float(round(step)))
    return Axis(step * math.ceil(biggest / step - 1e-9), step)


def fmt(value: float) -> str:
    """A number as an axis or tooltip shows it: no trailing zeros, no float noise."""
    value = round(value, 6)
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def dash_pattern(n: int) -> str:
    """The n-th series' dash pattern ('' for a solid line)."""
    return DASHES[n % len(DASHES)]


def dash(n: int) -> str:
    """The n-th series' dash as an attribute ('' for a solid line)."""
    pattern = dash_pattern(n)
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def marker(n: int) -> tuple[float, float]:
    """(line width, point radius) of the n-th series: each a little finer than the one before,
    so a series lying exactly on an earlier one leaves a rim of the earlier colour visible."""
    return max(1.25, 3.0 - 0.6 * n), max(1.75, 4.5 - 0.9 * n)


def color(n: int) -> str:
    return PALETTE[n % len(PALETTE)]


@dataclass(frozen=True)
class Frame:
    """Canvas size and margins; maps values to coordinates and draws the axes."""

    width: int = 640
    height: int = 270
    left: int = 48
    right: int = 16
    top: int = 30  # room for reference-line labels
    bottom: int = 44  # room for x labels and an in-chart legend

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def base(self) -> float:
        """The y of zero."""
        return self.top + self.plot_h

    def y(self, value: float, axis: Axis) -> float:
        return self.base - self.plot_h * value / axis.top

    def slot_x(self, n: int, count: int) -> float:
        """The centre of the n-th of `count` equal slots (bars, days)."""
        return self.left + self.plot_w * (n + 0.5) / max(1, count)

    def y_axis(self, axis: Axis) -> list[str]:
        """A grid line and label at every tick."""
        out = []
        for value in axis.ticks():
            y = self.y(value, axis)
            out.append(f'<line class="grid" x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                       f'y2="{y:.1f}" stroke="#8884"/><text class="axis" x="{self.left - 6}" y="{y + 4:.1f}" '
                       f'text-anchor="end" fill="currentColor">{fmt(value)}</text>')
        return out

    def x_labels(self, labels: Sequence[str], xs: Sequence[float]) -> list[str]:
        """As many labels as fit side by side; the others are skipped evenly."""
        widest = max((len(label) for label in labels), default=1) * CHAR_W + 12
        fit = max(1, int(self.plot_w // widest))
        every = max(1, math.ceil(len(labels) / fit))
        y = self.base + 14
        return [f'<text class="axis" x="{xs[n]:.1f}" y="{y}" text-anchor="middle" fill="currentColor">'
                f"{escape(labels[n])}</text>" for n in range(0, len(labels), every)]

    def legend(self, entries: Sequence[tuple[str, str, str]]) -> list[str]:
        """(name, colour, dash) swatches in a row under the x labels; one series needs none."""
        if len(entries) < 2:
            return []
        out, x = [], float(self.left)
        for name, stroke, pattern in entries:
            line = (f'<line x1="0" x2="14" y1="-4" y2="-4" stroke="{stroke}" stroke-width="3"'
                    + (f' stroke-dasharray="{pattern}"' if pattern else "") + "/>")
            out.append(f'<g class="legend" transform="translate({x:.0f},{self.height - 6})">{line}'
                       f'<text class="axis" x="18" fill="currentColor">{escape(name)}</text></g>')
            x += 30 + len(name) * CHAR_W
        return out

    def svg(self, title: str, body: Iterable[str]) -> Markup:
        return Markup(
            f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" font-size="11">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>"
        )
