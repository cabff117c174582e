"""Fuse a compiled condition tree into one Python function, for hand-written speed.

Each node contributes an expression over `i` (the item), `e` (the event) and `f` (the
frame). User values never enter the source text: they are bound as named constants in
the function's namespace, so a rule file cannot inject code. Nodes without an
expression are called through their own predicate. Sources are compiled once per shape:
rules written alike share their code objects.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from rules.registry import Node, Pred

_BUILTINS = {"str": str, "any": any, "bool": bool}


class Codegen:
    def __init__(self) -> None:
        self.names: dict[str, Any] = {}
        self._n = 0

    def const(self, value: Any) -> str:
        """Bind a value (a set, a regex's search, a closure…) under a fresh name; a whole
        number, a truth value or None is written as itself (a literal reads fastest)."""
        if value is None or type(value) in (bool, int):
            return repr(value)
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


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return compile(source, "<rule condition>", "eval")


def compile_code(code: Callable[[Codegen], str]) -> Pred:
    """The predicate `lambda i, e, f: <code>`; raises SyntaxError / RecursionError / MemoryError."""
    gen = Codegen()
    source = f"lambda i, e, f: {code(gen)}"
    pred: Pred = eval(_compiled(source), {"__builtins__": _BUILTINS, **gen.names})
    return pred


def lazy_pred(code: Callable[[Codegen], str]) -> Pred:
    """The node's own predicate, compiled on first use: a fused rule never calls it, so
    loading does not pay for it (explain and rules that cannot be fused do)."""
    compiled: list[Pred] = []

    def pred(i: Any, e: Any, f: Any) -> bool:
        if not compiled:
            compiled.append(compile_code(code))
        return compiled[0](i, e, f)
    return pred


def fuse(node: Node) -> Pred:
    """One lambda for the whole condition; the node's own predicate if fusing fails."""
    try:
        return compile_code(lambda gen: expression(node, gen))
    except (SyntaxError, RecursionError, MemoryError):
        return node.pred
