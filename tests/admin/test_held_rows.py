"""Natural order of item keys on the Held page."""

from __future__ import annotations

from integration.admin.held_rows import comment_texts, natural_key


def test_keys_sort_by_their_numbers() -> None:
    keys = ["OPS-10", "OPS-2", "APP-1", "OPS-1", "ops-3"]
    assert sorted(keys, key=natural_key) == ["APP-1", "OPS-1", "OPS-2", "ops-3", "OPS-10"]


def test_an_unreadable_plan_shows_no_comment_rather_than_failing_the_page() -> None:
    assert comment_texts({"not": "a plan"}) == []
