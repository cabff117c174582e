"""Every GraphQL operation Flowkeeper sends to Linear, one `.graphql` file each.

Keeping them as files lets a test validate each against Linear's published schema, and
lets a reviewer read exactly what is sent. Fragments live in files of their own and are
appended to the operations that spread them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

HERE = Path(__file__).parent
_SPREAD = re.compile(r"\.\.\.\s*([A-Za-z_]\w*)")
_FRAGMENT = re.compile(r"^\s*fragment\s+(\w+)", re.M)


def _fragments() -> dict[str, str]:
    found = {}
    for path in HERE.glob("*.graphql"):
        text = path.read_text(encoding="utf-8")
        match = _FRAGMENT.search(text)
        if match:
            found[match.group(1)] = text
    return found


def operation_names() -> list[str]:
    """Names of the operation files (fragments excluded)."""
    fragments = {f"{name}" for name in _fragments()}
    return sorted(p.stem for p in HERE.glob("*.graphql") if p.stem not in fragments)


@cache
def document(name: str) -> str:
    """The full text sent for operation `name`: its file plus the fragments it spreads."""
    text = (HERE / f"{name}.graphql").read_text(encoding="utf-8")
    fragments = _fragments()
    needed: list[str] = []
    pending = _SPREAD.findall(text)
    while pending:
        frag = pending.pop()
        if frag not in needed:
            needed.append(frag)
            pending.extend(_SPREAD.findall(fragments[frag]))
    return "\n".join([text, *(fragments[f] for f in sorted(needed))])
