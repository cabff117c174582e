"""The one chart frame: whole, evenly spaced ticks, and series a reader can tell apart."""

from __future__ import annotations

import re

import pytest

from integration.admin.svg import line_chart
from integration.charts.frame import Frame, dash, marker, nice_axis


@pytest.mark.parametrize(("peak", "ticks"), [
    (0, [0, 1]),
    (1, [0, 1]),
    (3, [0, 1, 2, 3]),
    (5, [0, 1, 2, 3, 4, 5]),  # not 0, 1, 2, 3, 5
    (7, [0, 2, 4, 6, 8]),
    (11, [0, 5, 10, 15]),
    (24, [0, 5, 10, 15, 20, 25]),
    (51, [0, 20, 40, 60]),
    (999, [0, 200, 400, 600, 800, 1000]),
])
def test_counts_get_whole_evenly_spaced_ticks(peak: int, ticks: list[int]) -> None:
    assert nice_axis([peak]).ticks() == ticks


def test_fractional_values_get_even_fractional_ticks() -> None:
    axis = nice_axis([0.3, 0.12])
    assert [round(t, 6) for t in axis.ticks()] == [0, 0.1, 0.2, 0.3]
    assert nice_axis([2.5]).ticks() == [0, 0.5, 1.0, 1.5, 2.0, 2.5]


def test_whole_can_be_forced_for_counts_that_happen_to_be_small() -> None:
    assert nice_axis([2], whole=True).ticks() == [0, 1, 2]
    assert nice_axis([0.4], whole=True).ticks() == [0, 1]


def test_the_axis_labels_every_tick_at_an_even_distance() -> None:
    frame = Frame()
    axis = nice_axis([5])
    svg = "".join(frame.y_axis(axis))
    ys = [float(y) for y in re.findall(r'<line class="grid" [^>]*y1="([\d.]+)"', svg)]
    gaps = {round(a - b, 1) for a, b in zip(ys, ys[1:], strict=False)}
    assert len(ys) == 6 and len(gaps) == 1
    assert re.findall(r">(\d+)</text>", svg) == ["0", "1", "2", "3", "4", "5"]


def test_overlapping_series_differ_by_dash_as_well_as_colour() -> None:
    assert dash(0) == "" and len({dash(n) for n in range(4)}) == 4


def test_a_legend_is_drawn_only_for_more_than_one_series() -> None:
    frame = Frame()
    assert frame.legend([("a", "#000", "")]) == []
    two = "".join(frame.legend([("<a>", "#000", ""), ("b", "#111", "6 3")]))
    assert "&lt;a&gt;" in two and 'stroke-dasharray="6 3"' in two


def test_a_series_lying_on_another_leaves_the_earlier_one_visible() -> None:
    widths, radii = zip(*(marker(n) for n in range(3)), strict=True)
    assert list(widths) == sorted(widths, reverse=True) and len(set(widths)) == 3
    assert list(radii) == sorted(radii, reverse=True) and len(set(radii)) == 3
    chart = line_chart(["Nov 24", "Nov 25"], {"stale": [0, 1], "wip": [0, 1]}, "Flagged")
    assert len(set(re.findall(r'<circle [^>]*r="([\d.]+)"', chart.svg))) == 2  # same points, two sizes
