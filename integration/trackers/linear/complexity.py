"""An estimate of what a GraphQL query costs against Linear's complexity budget.

Linear charges 0.1 point per scalar field, 1 per object, and multiplies what is inside a
connection by its `first`/`last` (50 when absent); one query may cost at most 10,000
points. The client checks every query before sending it, so a page size that would
breach the cap is caught in a test, not by a failed sweep.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    parse,
)

MAX_QUERY_COMPLEXITY = 10_000
DEFAULT_PAGE = 50


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value not in ("first", "last"):
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            value = variables.get(arg.value.name.value)
            return int(value) if value is not None else DEFAULT_PAGE
    return None


def _cost(
    selection: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
) -> float:
    total = 0.0
    for node in selection.selections:
        if isinstance(node, FragmentSpreadNode):
            total += _cost(fragments[node.name.value].selection_set, fragments, variables)
        elif isinstance(node, InlineFragmentNode):
            total += _cost(node.selection_set, fragments, variables)
        elif isinstance(node, FieldNode) and node.selection_set is None:
            total += 0.1
        elif isinstance(node, FieldNode) and node.selection_set is not None:
            inner = _cost(node.selection_set, fragments, variables)
            page = _page_size(node, variables)
            is_connection = page is not None or any(a.name.value == "after" for a in node.arguments or ())
            total += 1 + inner * ((page or DEFAULT_PAGE) if is_connection else 1)
    return total


def estimate(document: str | DocumentNode, variables: Mapping[str, Any] | None = None) -> float:
    """Points the (single-operation) document costs with these variables."""
    doc = parse(document) if isinstance(document, str) else document
    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    return round(sum(_cost(op.selection_set, fragments, variables or {}) for op in ops), 1)
