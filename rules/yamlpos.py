"""Safe YAML with node positions, so every error can say file:line:col.

Only plain YAML is accepted: standard tags, no aliases (refused: they allow "billion
laughs" expansion and make error positions ambiguous), no duplicate keys, bounded size
and depth. Timestamps stay text: the schema and the loader parse them where meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
Path = tuple[str | int, ...]
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_SCALARS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp", "binary")}
_CONSTRUCTOR = yaml.SafeLoader("")


class YamlProblem(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message = line, col, message


@dataclass
class Doc:
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: Path, key: bool = False) -> tuple[int, int]:
        """The position of the deepest known node on `path` (its key if `key`)."""
        table = self.key_positions if key else self.positions
        for n in range(len(path), -1, -1):
            if path[:n] in table:
                return table[path[:n]]
            if key and path[:n] in self.positions:
                return self.positions[path[:n]]
        return (1, 1)


def load_yaml(text: str) -> Doc:
    if len(text.encode("utf-8", "ignore")) > MAX_BYTES:
        raise YamlProblem(1, 1, f"file is larger than {MAX_BYTES // 1000} kB")
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlProblem(line, col, f"YAML syntax: {exc.problem or exc}") from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(1, 1, f"YAML: {exc}") from exc
    doc = Doc(None)
    if node is not None:
        doc.data = _build(node, (), doc, set())
    return doc


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _build(node: yaml.Node, path: Path, doc: Doc, seen: set[int]) -> Any:
    if id(node) in seen:
        raise YamlProblem(*_pos(node), "YAML aliases (*name) are not supported; repeat the value instead")
    if len(path) > MAX_DEPTH:
        raise YamlProblem(*_pos(node), f"nesting deeper than {MAX_DEPTH} levels")
    seen.add(id(node))
    doc.positions[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, path, doc, seen)
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, n), doc, seen) for n, child in enumerate(node.value)]
    if node.tag not in _SCALARS:
        raise YamlProblem(*_pos(node), f"YAML tag '{node.tag}' is not allowed")
    if node.tag.endswith(("timestamp", "binary")):
        return str(node.value)
    return _CONSTRUCTOR.construct_object(node)


def _mapping(node: yaml.MappingNode, path: Path, doc: Doc, seen: set[int]) -> dict[Any, Any]:
    if node.tag != f"{_TAG}map":
        raise YamlProblem(*_pos(node), f"YAML tag '{node.tag}' is not allowed")
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == f"{_TAG}merge":
            raise YamlProblem(*_pos(key_node), "YAML merge keys (<<) are not supported")
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALARS:
            raise YamlProblem(*_pos(key_node), "mapping keys must be plain text")
        key = str(key_node.value)  # raw text: YAML 1.1 would read the key `on:` as true
        if key in out:
            raise YamlProblem(*_pos(key_node), f"duplicate key '{key}'")
        doc.key_positions[(*path, key)] = _pos(key_node)
        out[key] = _build(value_node, (*path, key), doc, seen)
    return out
