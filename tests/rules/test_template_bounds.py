"""A rule author's template cannot allocate without bound, loop for minutes, or let tracker text mention people."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import BusinessCalendar
from rules.errors import RuleFileError
from rules.model import Mention, Person, Text, Tracker
from rules.templates import TemplateProblem, _segments, check_template
from tests.rules.helpers import ADA, NOW, item, load


class _Rule:
    name, description = "r", "d"


def render(source: str, wip: int | None = None, **changes: object) -> tuple[object, ...]:
    started = time.monotonic()
    body = check_template(source).render(item(**changes), NOW, BusinessCalendar(), _Rule(), wip=wip)
    assert time.monotonic() - started < 2, "a template must fail fast, not run on"
    return body.segments


def failed(segments: tuple[object, ...]) -> str:
    [only] = segments
    assert isinstance(only, Text) and "the comment template failed" in only.text
    return only.text


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ '%-*s' % (999999999, title) }}", "over the limit of 10000"),
    ("{{ '%999999999s' % title }}", "wider than 10000"),
    ("{{ '%(t)999999999s' % {'t': title} }}", "wider than 10000"),
    ("{{ '{:>999999999}'.format(title) }}", "wider than 10000"),
    ("{{ '%-999999999s'|format(title) }}", "wider than 10000"),
    ("{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}x"
     "{% endfor %}{% endfor %}{% endfor %}", "loops would run 1000000000000 times"),
    ("{% for a in range(200) %}{% if a %}{% for b in range(200) %}x{% endfor %}{% endif %}{% endfor %}",
     "loops would run 40000 times"),
])
def test_unbounded_templates_are_refused_when_the_rule_file_loads(source: str, reason: str) -> None:
    with pytest.raises(TemplateProblem, match=reason):
        check_template(source)


def test_rules_check_names_the_file_and_line(tmp_path: Path) -> None:
    body = """
    version: 1
    rules:
      - name: padded
        description: A rule.
        on: [created]
        when: { type: Bug }
        then:
          - comment: "{{ '%-*s' % (999999999, title) }}"
    """
    with pytest.raises(RuleFileError, match=r"rules\.yml:\d+:\d+: .*over the limit of 10000"):
        load(tmp_path, body)


@pytest.mark.parametrize("source", [
    "{{ '%-*s' % (wip, title) }}",  # the width comes from data: stopped while rendering
    "{{ ('%' ~ wip ~ 's') % title }}",
    "{{ ('{:>' ~ wip ~ '}').format(title) }}",
    "{{ ('%' ~ wip ~ 's')|format(title) }}",
])
def test_widths_from_data_are_refused_while_rendering(source: str) -> None:
    assert "10000" in failed(render(source, wip=999_999_999))
    assert render(source, wip=12) != ()


def test_loops_share_one_budget_per_rendering() -> None:
    nested = ("{% for a in title %}{% for b in title %}{% for c in title %}x{% endfor %}{% endfor %}"
              "{% endfor %}")
    assert "loops run more than 10000 times" in failed(render(nested, title="y" * 100))
    assert render(nested, title="abc") == (Text("x" * 27),)
    two_loops = "{% for a in title %}{% endfor %}{% for a in title %}.{% endfor %}"
    assert "loops run more than" in failed(render(two_loops, title="z" * 6000))


def test_modest_formatting_still_works() -> None:
    assert render("{{ '%-6s|' % key }}{{ '{:>4}'.format(wip) }}", wip=3) == (Text("ENG-1 |   3"),)


def test_a_mention_marker_in_tracker_text_stays_text() -> None:
    grace = Person("u-grace", "Grace")
    forged = "Fix \x1eM0\x1e now \x1eM7\x1e"
    segments = render("{{ title }}: {{ assignee.mention }}", title=forged, reporter=grace)
    assert segments == (Text("Fix M0 now M7: "), Mention(ADA))
    assert not any(isinstance(s, Mention) and s.person != ADA for s in segments)


def test_an_out_of_range_marker_is_no_error() -> None:
    assert render("{{ title }}", title="\x1eM99\x1e") == (Text("M99"),)


def test_tracker_text_is_escaped_for_linear_and_left_literal_for_jira() -> None:
    hostile = "![x](https://evil.example/i.png) **hi** see www.evil.example\n- item"
    source = "**Stalled:** {{ title }}"
    [linear] = render(source, tracker=Tracker.LINEAR, title=hostile)
    assert isinstance(linear, Text) and linear.text.startswith("**Stalled:** ")  # the author's Markdown stays
    shown = linear.text[len("**Stalled:** "):]
    assert "](" not in shown and "://" not in shown and "**" not in shown and "www." not in shown
    assert "\n\\- item" in shown
    [jira] = render(source, title=hostile)  # Jira comments are ADF text nodes: literal already
    assert isinstance(jira, Text) and jira.text == "**Stalled:** " + hostile


def _segments_by_own_pattern(text: str, mentions: list[Person], mark: str) -> tuple[object, ...]:
    """The reading of a rendering with a pattern compiled for its own marker (as it once was)."""
    parts: list[Text | Mention] = []
    pos = 0
    for match in re.finditer(re.escape("\x1e" + mark) + r"(\d+)\x1e", text):
        index = int(match.group(1))
        if index >= len(mentions):
            continue
        if match.start() > pos:
            parts.append(Text(text[pos:match.start()].replace("\x1e", "")))
        parts.append(Mention(mentions[index]))
        pos = match.end()
    if pos < len(text):
        parts.append(Text(text[pos:].replace("\x1e", "")))
    return tuple(p for p in parts if not isinstance(p, Text) or p.text)


MARK, OTHER = "M0123456789abcdef:", "Mfedcba9876543210:"
pieces = st.sampled_from(["\x1e", MARK, OTHER, f"\x1e{MARK}0", f"\x1e{MARK}1", f"\x1e{MARK}7", f"\x1e{OTHER}1",
                          "0", "12", "x", " ", "M", ":", "٣"])


@settings(max_examples=500, deadline=None)
@given(st.lists(pieces, max_size=14).map("".join))
def test_one_pattern_for_every_rendering_reads_mentions_as_its_own_pattern_did(text: str) -> None:
    """Markers of another rendering, half markers and stray separators never take a real mention's place."""
    mentions = [ADA, Person("u-grace", "Grace")]
    assert _segments(text, mentions, MARK).segments == _segments_by_own_pattern(text, mentions, MARK)
