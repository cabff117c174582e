"""Fuse a compiled condition tree into one Python function, for hand-written speed.

Each node contributes an expression over `i` (the item), `e` (the event) and `f` (the
frame). User values never enter the source text: they are bound as named constants in
the function's namespace, so a rule file cannot inject code. Nodes without an
expression are called through their own predicate.
"""

from __future__ import annotations

from typing import Any

from rules.registry import Node, Pred


class Codegen:
    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self._n = 0

    def const(self, value: Any) -> str:
        """Bind a value (a set, a regex's search, a closure…) under a fresh name."""
        name = f"_k{self._n}"
        self._n += 1
        self.names[name] = value
        return name

    def var(self) -> str:
        name = f"_v{self._n}"
        self._n += 1
        return name


def expression(node: Node, gen: Codegen) -> str:
    if node.code is not None:
        return node.code(gen)
    return f"{gen.const(node.pred)}(i, e, f)"


def fuse(node: Node) -> Pred:
    """One lambda for the whole condition; the node's own predicate if fusing fails."""
    gen = Codegen()
    source = f"lambda i, e, f: {expression(node, gen)}"
    try:
        namespace = {"__builtins__": {"str": str}, **gen.names}
        fused: Pred = eval(compile(source, "<rule condition>", "eval"), namespace)
    except (SyntaxError, RecursionError, MemoryError):
        return node.pred
    return fused
