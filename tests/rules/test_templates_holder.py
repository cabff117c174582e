"""Templates (sandbox, mentions, age) and the rule holder (reload, keep last good set)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules.calendar import BusinessCalendar
from rules.durations import Unit
from rules.errors import RuleFileError
from rules.model import Mention, Person, Text
from rules.reloading import RuleHolder
from rules.templates import TemplateProblem, check_template
from tests.rules.helpers import ADA, NOW, item, write_rules


class _Rule:
    name, description = "r", "d"


def render(source: str, age_unit: Unit | None = None, **changes: object) -> tuple[object, ...]:
    body = check_template(source).render(item(**changes), NOW, BusinessCalendar(), _Rule(), age_unit=age_unit)
    return body.segments


def test_mentions_become_mention_segments() -> None:
    grace = Person("u-grace", "Grace")
    assert render("{{ assignee.mention }} and {{ reporter.mention }}: {{ key }}", reporter=grace) == (
        Mention(ADA), Text(" and "), Mention(grace), Text(": ENG-1"))


def test_unassigned_mention_renders_nothing_and_name_says_nobody() -> None:
    assert render("[{{ assignee.mention }}] {{ assignee.name }}", assignee=None) == (Text("[] nobody"),)


def test_age_in_calendar_and_business_units() -> None:
    assert render("{{ last_activity | age }}") == (Text("11 days"),)
    assert render("{{ last_activity | age }}", age_unit=Unit.BUSINESS_DAYS) == (Text("9 business days"),)
    assert render("{{ last_activity | age('business') }}") == (Text("9 business days"),)
    recent = datetime(2026, 3, 13, 7, tzinfo=UTC)
    assert render("{{ last_activity | age }}", last_activity_at=recent) == (Text("5 hours"),)
    assert render("{{ due | age }}") == (Text("an unknown time"),)


def test_sandbox_refuses_unsafe_access() -> None:
    # private attributes are refused when the rule file loads, with a clear reason
    for source in ("[{{ item.__class__.__mro__ }}]", "[{{ ''.__class__ }}]", "{{ title|attr('__class__') }}",
                   "{{ ''.__class__.__subclasses__() }}"):
        with pytest.raises(TemplateProblem, match="may not read private attributes such as '__"):
            check_template(source)
    # what the parser cannot see is still stopped by the sandbox while rendering
    assert "class" not in check_template("{{ title|attr(title) }}").template.render(title="__class__")
    assert "class" not in check_template("{{ title.format(title) }}").template.render(title="{0.__class__}")


def test_template_problems_are_caught_at_load() -> None:
    with pytest.raises(TemplateProblem, match="unknown template variable 'staus'.*did you mean 'status'"):
        check_template("{{ staus.name }}")
    with pytest.raises(TemplateProblem, match="unknown template filter 'agee' \\(did you mean 'age'\\?\\)"):
        check_template("{{ last_activity | agee }}")
    with pytest.raises(TemplateProblem, match="template error on its line 2"):
        check_template("ok\n{{ key ")


RULE = """
version: 1
rules:
  - name: {name}
    description: A rule.
    on: [created]
    when: {{ type: Bug }}
    then: [ {{ comment: hi }} ]
"""


def test_holder_reloads_on_change_and_keeps_the_last_good_set(tmp_path: Path) -> None:
    path = write_rules(tmp_path, RULE.format(name="first"))
    holder = RuleHolder.start([tmp_path])
    assert [r.name for r in holder.current.rules] == ["first"] and not holder.reload_if_changed()
    path.write_text(RULE.format(name="second"), encoding="utf-8")
    os.utime(path, ns=(1, 1))
    assert holder.reload_if_changed() and holder.current.rules[0].name == "second"
    path.write_text("version: 1\nrules: [ {name: broken} ]\n", encoding="utf-8")
    assert not holder.reload_if_changed()
    assert holder.current.rules[0].name == "second"
    assert holder.last_error is not None and "missing required key 'description'" in str(holder.last_error)


def test_holder_refuses_to_start_without_a_valid_set(tmp_path: Path) -> None:
    write_rules(tmp_path, "version: 1\nrules: [ {name: broken} ]\n")
    with pytest.raises(RuleFileError):
        RuleHolder.start([tmp_path])
