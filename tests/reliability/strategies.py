"""Hypothesis strategies for hostile input: arbitrary JSON, and real payloads with parts replaced.

Random JSON alone rarely gets past a normalizer's first check; a captured payload with a
few subtrees swapped for arbitrary values reaches every parser behind it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

Path = tuple[Any, ...]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(
        [
            "",
            "2026-03-02T09:00:00.000+0000",
            "2026-13-45",
            "null",
            "In Progress",
            "indeterminate",
            "done",
            "started",
            "-1",
            "1e309",
            "\u0000",
            "\ud7ff\ue000",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=10,
)


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every place in a JSON document that can be replaced or removed."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def _parent(document: Any, path: Path) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


@st.composite
def mutated(draw: st.DrawFn, base: Any, max_changes: int = 4) -> Any:
    """`base` with 1..max_changes subtrees replaced by arbitrary JSON, removed, or retyped."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_changes))):
        places = list(paths(document))
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent, last = _parent(document, path), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "remove", "to_text", "to_list"]))
        if action == "remove":
            del parent[last]
        elif action == "to_text":
            parent[last] = str(parent[last])[:30]
        elif action == "to_list":
            parent[last] = [parent[last]]
        else:
            parent[last] = draw(json_values)
    return document
