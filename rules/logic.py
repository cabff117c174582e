"""all / any / not, and the compile entry point every condition goes through."""

from __future__ import annotations

from typing import Any

from rules.codegen import expression
from rules.compilectx import CompileCtx
from rules.registry import Node, Pred, Trace, conditions

_CONDITION_LIST = {"type": "array", "items": {"$ref": "#/$defs/condition"}, "minItems": 1}


def compile_condition(value: dict[str, Any], path: str, cctx: CompileCtx) -> Node:
    """Compile one schema-checked condition mapping (exactly one key) into a Node."""
    (name, arg), = value.items()
    spec = conditions.get(name)
    assert spec is not None, name  # the loader has reported unknown keys already
    result: Node = spec.compile(arg, f"{path}.{name}" if path else name, cctx)
    return result


def _children(args: list[Any], path: str, cctx: CompileCtx) -> list[Node]:
    return [compile_condition(a, f"{path}[{n}]", cctx) for n, a in enumerate(args)]


def _connective(preds: list[Pred], decides: bool) -> Pred:
    """`all` (decides=False: the first condition that fails decides) or `any` (decides=True:
    the first that holds decides). Two and three conditions are unrolled: the common case."""
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        if decides:
            return lambda i, e, f: a(i, e, f) or b(i, e, f)
        return lambda i, e, f: a(i, e, f) and b(i, e, f)
    if len(preds) == 3:
        a, b, c = preds
        if decides:
            return lambda i, e, f: a(i, e, f) or b(i, e, f) or c(i, e, f)
        return lambda i, e, f: a(i, e, f) and b(i, e, f) and c(i, e, f)

    def loop(i: Any, e: Any, f: Any) -> bool:
        for p in preds:
            if (not p(i, e, f)) is not decides:
                return decides
        return not decides
    return loop


def _group(kind: str, nodes: list[Node], path: str) -> Node:
    pred = _connective([n.pred for n in nodes], decides=kind == "any")

    def explain(i: Any, e: Any, f: Any) -> Trace:
        kids = [n.explain(i, e, f) for n in nodes]
        ok = all(k.ok for k in kids) if kind == "all" else any(k.ok for k in kids)
        return Trace(path, kind, f"{sum(k.ok for k in kids)} of {len(kids)} hold",
                     "all hold" if kind == "all" else "at least one holds", ok, kids)

    def pushdown(bounds: Any) -> None:
        if kind == "all":
            for n in nodes:
                if n.pushdown:
                    n.pushdown(bounds)

    def code(gen: Any) -> str:
        joiner = " and " if kind == "all" else " or "
        return "(" + joiner.join(expression(n, gen) for n in nodes) + ")"
    return Node(pred, explain, pushdown, code)


@conditions.register("all", _CONDITION_LIST, group="logic")
def all_of(args: list[Any], path: str, cctx: CompileCtx) -> Node:
    """Every listed condition holds.

    Example::

        all:
          - status.category: in_progress
          - assignee: { missing: true }
    """
    return _group("all", _children(args, path, cctx), path)


@conditions.register("any", _CONDITION_LIST, group="logic")
def any_of(args: list[Any], path: str, cctx: CompileCtx) -> Node:
    """At least one listed condition holds.

    Example::

        any:
          - priority: { missing: true }
          - labels: { none_of: [sev1, sev2, sev3] }
    """
    return _group("any", _children(args, path, cctx), path)


@conditions.register("not", {"$ref": "#/$defs/condition"}, group="logic")
def not_(arg: dict[str, Any], path: str, cctx: CompileCtx) -> Node:
    """The condition does not hold.

    Example::

        not:
          labels: { any_of: [on-hold] }
    """
    inner = compile_condition(arg, path, cctx)
    ipred = inner.pred

    def explain(i: Any, e: Any, f: Any) -> Trace:
        kid = inner.explain(i, e, f)
        return Trace(path, "not", "holds" if kid.ok else "does not hold", "does not hold", not kid.ok, [kid])
    return Node(lambda i, e, f: not ipred(i, e, f), explain, None, lambda gen: f"(not {expression(inner, gen)})")
