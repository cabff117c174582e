"""docs/rule-reference.md is generated from the condition registry and kept up to date."""

from __future__ import annotations

import pytest

from rules.conditions import FIELDS, FieldSpec, _type_spec
from rules.fieldkinds import Kind
from rules.reference import REFERENCE_PATH, SOURCES, render_reference
from rules.registry import conditions


def test_the_published_reference_is_up_to_date() -> None:
    assert REFERENCE_PATH.read_text(encoding="utf-8") == render_reference(), (
        "docs/rule-reference.md is stale: run `python -m rules.cli reference --write`")


def test_every_item_field_says_where_it_comes_from_on_each_tracker() -> None:
    missing = [f.name for f in FIELDS if f.name not in SOURCES]
    assert not missing, f"add these fields to rules.reference.SOURCES: {missing}"
    assert all(all(where.strip() for where in SOURCES[f.name]) for f in FIELDS)


def test_a_newly_registered_field_gets_its_row_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conditions, "_types", dict(conditions._types))
    conditions.add(_type_spec(FieldSpec("milestone", Kind.TEXT, "i.project", "project", "milestone: v2")))
    text = render_reference()
    assert "| `milestone` | text |" in text and "`milestone: v2`" in text


def test_every_trigger_and_skipped_kind_is_listed() -> None:
    text = render_reference()
    for name in ("`comment_updated`", "`status_changed`", "`schedule`", "`deleted`", "`label_changed`"):
        assert name in text


def test_the_calendar_reference_lists_every_key_and_its_example_works() -> None:
    from datetime import date

    from rules.calendar import calendar_from_spec
    from rules.schema import calendar_schema

    text = render_reference()
    section = text[text.index("## Business calendar (`calendar:`)"):text.index("## Triggers")]
    for key in calendar_schema()["properties"]:
        assert f"| `{key}` |" in section
    example = calendar_schema()["examples"][0]
    calendar = calendar_from_spec(example, "Europe/Berlin")  # what the loader builds from the same mapping
    assert not calendar.is_business_day(date(2026, 12, 24))  # a company day off
    assert not calendar.is_business_day(date(2026, 1, 6))  # Epiphany: a public holiday in Bavaria
    assert calendar.is_business_day(date(2026, 1, 7))
