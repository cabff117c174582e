"""Bounds a comment template cannot get around: string formatting widths and loop iterations.

A rule author's template runs on every matching item, in the worker. The sandbox stops
attribute tricks, but `'%-*s' % (999999999, title)` allocates a gigabyte and three nested
`range(10000)` loops run for minutes. So:

- at load time, constant widths and counts over `MAX_SIZE_ARGUMENT` in formatting,
  repetition and calls, and nested constant ranges over `MAX_LOOP_STEPS`, are refused
  with the template's own words;
- while rendering, every `%` / `.format` / `|format` checks the widths it is given, and
  every `for` loop draws on one budget of `MAX_LOOP_STEPS` iterations per render.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError

MAX_SIZE_ARGUMENT = 10_000  # no comment needs a wider padding, a longer repeat or a bigger power
MAX_LOOP_STEPS = 10_000  # iterations of all loops of one rendering together
LOOP_FILTER = "_loop_budget"
BUDGET_VARIABLE = "_loop_steps"

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:[^{}]*?\}")
_DIGITS = re.compile(r"\d+")


def huge(value: Any, limit: int = MAX_SIZE_ARGUMENT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit


def format_problem(template: str) -> str | None:
    """Why a format string (for `%` or `.format`) is refused, or None when its widths are small."""
    widths = [g for m in _PERCENT_SPEC.finditer(template) for g in m.groups() if g and g != "*"]
    widths += [d for m in _BRACE_SPEC.finditer(template) for d in _DIGITS.findall(m.group().split(":", 1)[1])]
    if any(int(w) > MAX_SIZE_ARGUMENT for w in widths):
        return f"the template formats text wider than {MAX_SIZE_ARGUMENT} characters"
    return None


def check_formatting(template: Any, arguments: Iterable[Any]) -> None:
    """Raise SecurityError for a format with a huge width, or a huge number given to `*`."""
    if isinstance(template, str) and (problem := format_problem(template)):
        raise SecurityError(problem)
    if any(huge(value) for value in arguments):
        raise SecurityError(f"the template passes a number over {MAX_SIZE_ARGUMENT} to a format")


def percent_arguments(right: Any) -> list[Any]:
    if isinstance(right, tuple):
        return list(right)
    return list(right.values()) if isinstance(right, dict) else [right]


@jinja2.pass_context
def loop_budget(ctx: Any, iterable: Any) -> Iterator[Any]:
    """Every loop's iterations, counted against the rendering's one budget."""
    steps: list[int] = ctx.get(BUDGET_VARIABLE) or [0]  # rendered outside CommentTemplate: per loop
    for value in iterable:
        steps[0] += 1
        if steps[0] > MAX_LOOP_STEPS:
            raise SecurityError(f"the template's loops run more than {MAX_LOOP_STEPS} times")
        yield value


def bound_loops(parsed: nodes.Template, env: jinja2.Environment) -> nodes.Template:
    """Route every `for` loop's iterable through `loop_budget` (a rewrite of the parsed template)."""
    for loop in list(parsed.find_all(nodes.For)):
        if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == LOOP_FILTER):
            budgeted = nodes.Filter(loop.iter, LOOP_FILTER, [], [], None, None, lineno=loop.lineno)
            loop.iter = budgeted.set_environment(env)
    return parsed


def load_problem(parsed: nodes.Template) -> str | None:
    """What can be seen to be unbounded before any item is rendered (None when nothing)."""
    for node in parsed.find_all((nodes.Mod, nodes.Mul, nodes.Pow, nodes.Call, nodes.Filter)):
        for const in _constants(node):
            if huge(const.value):
                return f"the template uses the number {const.value}, over the limit of {MAX_SIZE_ARGUMENT}"
        pattern = _format_string(node)
        if pattern is not None and (problem := format_problem(pattern)):
            return problem
    return _nested_range_problem(parsed)


def _constants(node: nodes.Node) -> list[nodes.Const]:
    if isinstance(node, (nodes.Call, nodes.Filter)):
        parts: list[nodes.Node] = [*node.args, *(kw.value for kw in node.kwargs)]
    else:
        parts = [node.left, node.right]  # type: ignore[attr-defined]
    found = [p for p in parts if isinstance(p, nodes.Const)]
    found += [i for p in parts if isinstance(p, (nodes.Tuple, nodes.List)) for i in p.items
              if isinstance(i, nodes.Const)]
    return found


def _format_string(node: nodes.Node) -> str | None:
    """The constant format string of `'…' % x`, `'…'.format(x)` or `'…'|format(x)`, if any."""
    if isinstance(node, nodes.Mod) and isinstance(node.left, nodes.Const):
        target: nodes.Node | None = node.left
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
            and node.node.attr in ("format", "format_map"):
        target = node.node.node
    elif isinstance(node, nodes.Filter) and node.name == "format":
        target = node.node
    else:
        target = None
    return target.value if isinstance(target, nodes.Const) and isinstance(target.value, str) else None


def _nested_range_problem(parsed: nodes.Template) -> str | None:
    def steps(loop: nodes.For) -> int:
        size = _constant_range(loop.iter) or 1
        inner = [steps(child) for child in _direct_loops(loop)]
        return size * max(inner, default=1)

    worst = max((steps(loop) for loop in _direct_loops(parsed)), default=0)
    if worst > MAX_LOOP_STEPS:
        return f"the template's loops would run {worst} times (the limit is {MAX_LOOP_STEPS})"
    return None


def _direct_loops(node: nodes.Node) -> list[nodes.For]:
    """The `for` loops directly inside `node` (not inside another loop of it)."""
    found: list[nodes.For] = []
    for child in node.iter_child_nodes():
        if isinstance(child, nodes.For):
            found.append(child)
        else:
            found += _direct_loops(child)
    return found


def _constant_range(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "range" \
            and node.args and all(isinstance(a, nodes.Const) and isinstance(a.value, int) for a in node.args):
        return len(range(*(a.value for a in node.args)))  # type: ignore[attr-defined]
    return None
