"""Load rule files in layers — YAML syntax → schema → semantics → compile — at load time only.

Every problem becomes a RuleError `file:line:col: rule 'name' › path: message (got …)`;
all problems of all files are reported together, and a set with any error is refused
whole (the caller keeps running its last good set).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from rules.compilectx import SlotTable
from rules.compiler import compile_rule
from rules.errors import RuleError, RuleFileError
from rules.fastschema import surely_valid
from rules.limits import check_limits
from rules.people import PersonEntry, entry_from
from rules.peoplecheck import check_people
from rules.ruleset import Rule, RuleSet, RuleTest
from rules.schema import rule_file_schema
from rules.schemaerrors import message, most_specific
from rules.semantics import check_rule
from rules.yamlpos import Doc, YamlProblem, load_yaml

PACKS = Path(__file__).with_name("packs")
_VALIDATOR: Draft202012Validator | None = None


def builtin_pack_paths() -> list[Path]:
    """The built-in packs: what a deployment runs (in dry run) when RULES_DIR is unset."""
    return sorted(PACKS.glob("*.yml"))


def rule_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand directories to their *.yml / *.yaml files, in a stable order."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
        else:
            out.append(path)
    return out


def load_ruleset(paths: Sequence[str | Path]) -> RuleSet:
    """Load, validate and compile rule files; raise RuleFileError listing every problem."""
    files = rule_files(paths)
    errors: list[RuleError] = []
    slots = SlotTable()
    rules: list[Rule] = []
    tests: list[RuleTest] = []
    seen: dict[str, RuleError] = {}
    loaded = [(path, parsed) for path in files if (parsed := _load_file(path, errors)) is not None]
    people = collect_people([(str(path), doc) for path, (doc, _, _) in loaded], errors)
    for path, (doc, file_rules, file_tests) in loaded:
        for index, raw in file_rules:
            where = _locator(str(path), doc, raw.get("name"), ("rules", index))
            first = seen.get(raw["name"])
            if first is not None:
                errors.append(where(("name",), f"duplicate rule name (first defined at {first.file}:{first.line})",
                                    False))
                continue
            seen[raw["name"]] = where((), "", False)
            problems = check_rule(raw, doc.data.get("defaults") or {}) + check_people(raw, people) + check_limits(raw)
            errors += [where(sub, msg, is_key) for sub, msg, is_key in problems]
            if not problems and not errors:
                line = doc.where(("rules", index))[0]
                rules.append(compile_rule(raw, doc.data.get("defaults") or {}, str(path), line, slots, people))
        tests += file_tests
    if not files:
        errors.append(RuleError("<none>", 1, 1, None, "", "no rule files found"))
    if errors:
        raise RuleFileError(sorted(errors, key=lambda e: (e.file, e.line, e.col)))
    return RuleSet(tuple(rules), slots, tuple(files), tuple(tests))


def collect_people(docs: list[tuple[str, Doc]], errors: list[RuleError]) -> dict[str, PersonEntry]:
    """Every file's `people:`, merged: one name means one person across the whole rule set."""
    people: dict[str, PersonEntry] = {}
    where_first: dict[str, str] = {}
    for name, doc in docs:
        section = doc.data.get("people") if isinstance(doc.data, dict) else None
        for handle, raw in (section or {}).items():
            entry = entry_from(handle, raw)
            first = people.get(handle)
            if first is not None and first.differs(entry):
                line, col = doc.where(("people", handle), key=True)
                errors.append(RuleError(name, line, col, None, f"people.{handle}",
                                        f"'{handle}' is already defined differently in {where_first[handle]}"))
                continue
            people.setdefault(handle, entry)
            where_first.setdefault(handle, name)
    return people


def _load_file(path: Path, errors: list[RuleError]) -> tuple[Doc, list[tuple[int, dict[str, Any]]],
                                                            list[RuleTest]] | None:
    name = str(path)
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        errors.append(RuleError(name, 1, 1, None, "", f"cannot read: {exc.strerror or exc}"))
        return None
    except UnicodeDecodeError:
        errors.append(RuleError(name, 1, 1, None, "", "not UTF-8 text"))
        return None
    except YamlProblem as exc:
        errors.append(RuleError(name, exc.line, exc.col, None, "", exc.message))
        return None
    if not isinstance(doc.data, dict):
        errors.append(RuleError(name, 1, 1, None, "", "a rule file is a mapping with 'version:' and 'rules:'"))
        return None
    bad_rules = _schema_errors(name, doc, errors)
    raw_rules = _list(doc.data.get("rules"))
    good = [(n, r) for n, r in enumerate(raw_rules) if n not in bad_rules and isinstance(r, dict)]
    if bad_rules.get(-1):
        return None
    tests = [RuleTest(name, doc.where(("tests", n))[0], t) for n, t in enumerate(_list(doc.data.get("tests")))]
    return doc, good, tests


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _validator() -> Draft202012Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = Draft202012Validator(rule_file_schema())
    return _VALIDATOR


def _schema_errors(name: str, doc: Doc, errors: list[RuleError]) -> dict[int, bool]:
    """Report schema errors; return the indexes of broken rules (-1: the file itself)."""
    root = rule_file_schema()
    broken: dict[int, bool] = {}
    if surely_valid(doc.data, root):
        return broken
    reported: set[tuple[Any, ...]] = set()
    for error in _validator().iter_errors(doc.data):
        path, text, is_key = message(most_specific(error, root), root)
        if path in reported:
            continue
        reported.add(path)
        index = path[1] if len(path) > 1 and path[0] == "rules" and isinstance(path[1], int) else None
        broken[-1 if index is None and path[:1] != ("tests",) else (index if index is not None else -2)] = True
        rule_name = _rule_name(doc, index)
        prefix = ("rules", index) if index is not None else ()
        errors.append(_locator(name, doc, rule_name, prefix)(path[len(prefix):], text, is_key))
    return broken


def _rule_name(doc: Doc, index: int | None) -> str | None:
    if index is None:
        return None
    rules = doc.data.get("rules")
    raw = rules[index] if isinstance(rules, list) and index < len(rules) else None
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else f"#{index + 1}"


def _locator(file: str, doc: Doc, rule: str | None, prefix: tuple[Any, ...]) -> Any:
    def where(sub: tuple[Any, ...], text: str, is_key: bool) -> RuleError:
        line, col = doc.where((*prefix, *sub), key=is_key)
        return RuleError(file, line, col, rule, format_path(prefix if rule is None else (), sub), text)
    return where


def format_path(prefix: tuple[Any, ...], sub: tuple[Any, ...]) -> str:
    """('then', 1, 'flag', 'label') → 'then[1].flag.label'."""
    out = ""
    for part in (*prefix, *sub):
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
