"""Field conditions as code, derived from the operators' own definitions (rules.fieldkinds).

An operator's test is an expression over `v`, `a` and `f`; here `v` becomes the field's
value expression (bound once with `:=` when it is more than an attribute read), `a` the
prepared argument bound as a named constant, and helper names constants too. rules.codegen
fuses these expressions into one function per rule; a single field condition compiles the
same way on its own, so the fused and the unfused paths share one meaning. Only fixed text
from the definitions enters the source; user values are always bound constants.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from rules.codegen import Codegen
from rules.compilectx import CompileCtx
from rules.fieldkinds import HELPERS, Kind, Operator, operator

_ATTRIBUTE_READ = re.compile(r"^i(\.[A-Za-z_]\w*)+$")


def field_code(kind: Kind, value: Callable[[Codegen], str], ops: dict[str, Any],
               cctx: CompileCtx) -> Callable[[Codegen], str]:
    """An expression builder for `field: ops`; `value(gen)` is the field's expression over i and f."""
    prepared = [(operator(kind, op), operator(kind, op).prepare(arg, cctx)) for op, arg in ops.items()]

    def code(gen: Codegen) -> str:
        parts = [_one(definition, arg, value(gen), gen) for definition, arg in prepared]
        return "(" + " and ".join(parts) + ")"
    return code


def _one(definition: Operator, arg: Any, value: str, gen: Codegen) -> str:
    text = _template(definition.test).replace(_mark("a"), gen.const(arg))
    for name in _helper_names(definition.test):
        text = text.replace(_mark(name), gen.const(HELPERS[name]))
    if _ATTRIBUTE_READ.match(value) or not _binds_first(definition.tree):
        v_first = v_rest = f"({value})"
    else:
        var = gen.var()
        v_first, v_rest = f"({var} := ({value}))", var
    head, sep, tail = text.partition(_mark("v"))  # the first `v` in source order binds
    return "(" + head + (v_first if sep else "") + tail.replace(_mark("v"), v_rest) + ")"


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


@cache
def _template(test: str) -> str:
    """The test's source with v, a and helper names marked for replacement."""
    return ast.unparse(_Mark({"v", "a", *HELPERS}).visit(ast.parse(test, mode="eval")))


@cache
def _helper_names(test: str) -> tuple[str, ...]:
    found = {n.id for n in ast.walk(ast.parse(test, mode="eval")) if isinstance(n, ast.Name)}
    return tuple(sorted(found & HELPERS.keys()))


@cache
def _binds_first(tree: ast.expr) -> bool:
    """True when the leftmost `v` is always evaluated first (so it may carry the `:=`)."""
    node: ast.AST = tree
    while not (isinstance(node, ast.Name) and node.id == "v"):
        if isinstance(node, ast.BoolOp):
            node = node.values[0]
        elif isinstance(node, ast.Compare):
            node = node.left
        elif isinstance(node, ast.UnaryOp):
            node = node.operand
        elif isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
            node = node.args[0]
        else:
            return False
    return True


class _Mark(ast.NodeTransformer):
    def __init__(self, names: set[str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 (ast's visitor naming)
        return ast.Name(_mark(node.id), ast.Load()) if node.id in self.names else node
