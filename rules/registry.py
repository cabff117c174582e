"""Registries of condition and action types, each with a schema fragment and an example.

Types are registered by decorator. Each carries its name, a JSON-Schema fragment (extra
keys forbidden), a docstring whose YAML example must validate, an optional `validate()`
for semantic checks the schema cannot express, and a `compile()` turning the checked
value into a predicate (conditions) or an action template (actions). The whole rule-file
schema is generated from these registries (see rules/schema.py).
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.model import EvalContext, Event, Item

Problem = tuple[str, str, Any]  # (sub-path, message, got)
Validator = Callable[[Any], list[Problem]]


@dataclass(slots=True)
class Frame:
    """What one evaluation instant shares across rules: now, precomputed cutoffs, context."""

    now: datetime
    cut: list[datetime]
    ctx: EvalContext


Pred = Callable[[Item, Event | None, Frame], bool]


@dataclass(slots=True)
class Trace:
    """One condition's verdict for explain: what it saw, what it wanted, and whether ok."""

    path: str
    label: str
    actual: Any
    expected: Any
    ok: bool
    children: list[Trace] = field(default_factory=list)


@dataclass(slots=True)
class Node:
    """A compiled condition: a fast predicate, an explainer, and what it pushes down."""

    pred: Pred
    explain: Callable[[Item, Event | None, Frame], Trace]
    pushdown: Callable[[Any], None] | None = None  # receives a rules.pushdown.Bounds
    code: Callable[[Any], str] | None = None  # an expression for rules.codegen, if it has one


@dataclass(frozen=True)
class TypeSpec:
    name: str
    schema: dict[str, Any]
    doc: str
    example: str
    compile: Callable[..., Any]
    validate: Validator | None = None
    group: str = ""


class Registry:
    """A named table of types; lookups of unknown names get a 'did you mean'."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._types: dict[str, TypeSpec] = {}
        self._families: list[tuple[re.Pattern[str], TypeSpec, Callable[[str], TypeSpec]]] = []
        self._members: dict[str, TypeSpec] = {}

    def register(self, name: str, schema: dict[str, Any], *, validate: Validator | None = None,
                 doc: str | None = None, group: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
            text = doc if doc is not None else (fn.__doc__ or "")
            self.add(TypeSpec(name, schema, *split_doc(text), fn, validate, group))
            return fn
        return wrap

    def add(self, spec: TypeSpec) -> None:
        if spec.name in self._types:
            raise ValueError(f"{self.kind} type '{spec.name}' registered twice")
        self._types[spec.name] = spec

    def add_family(self, pattern: str, template: TypeSpec, make: Callable[[str], TypeSpec]) -> None:
        """Types named by a pattern (`custom.<name>`): `template` speaks for all of them in the
        schema and docs; `make(name)` builds one when a rule file uses it."""
        self._families.append((re.compile(pattern), template, make))

    def families(self) -> list[tuple[str, TypeSpec]]:
        return [(rx.pattern, template) for rx, template, _ in self._families]

    def get(self, name: str) -> TypeSpec | None:
        found = self._types.get(name) or self._members.get(name)
        if found is None:
            for rx, _, make in self._families:
                if rx.fullmatch(name):
                    found = self._members[name] = make(name)
                    break
        return found

    def names(self) -> list[str]:
        return list(self._types)

    def specs(self) -> list[TypeSpec]:
        return list(self._types.values())


def split_doc(doc: str) -> tuple[str, str]:
    """Split a docstring into prose and its YAML example (the text after 'Example::')."""
    text = inspect.cleandoc(doc)
    if "Example::" not in text:
        return text, ""
    prose, example = text.split("Example::", 1)
    return prose.strip(), textwrap.dedent(example.strip("\n")).rstrip() + "\n"


conditions = Registry("condition")
actions = Registry("action")

Path = tuple[Any, ...]


def leaf_conditions(cond: dict[str, Any], path: Path = ()) -> Iterator[tuple[Path, str, Any]]:
    """Every leaf of a condition as written, through all / any / not: (its path, its name, its value).

    A leaf's path ends with its name: ('when', 'all', 1, 'not', 'labels') for the second
    condition of an `all` that is a `not` of labels.
    """
    (name, value), = cond.items()
    here = (*path, name)
    if name in ("all", "any"):
        for n, child in enumerate(value):
            yield from leaf_conditions(child, (*here, n))
    elif name == "not":
        yield from leaf_conditions(value, here)
    else:
        yield here, name, value
