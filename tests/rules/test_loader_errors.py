"""Valid and invalid rule files, with the exact error text a rule author reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.errors import RuleFileError
from rules.loader import load_ruleset
from tests.rules.helpers import load, write_rules

HEAD = "version: 1\nrules:\n"
RULE = """\
  - name: stale-bugs
    description: Bugs nobody touched.
    on: [schedule]
"""

INVALID = [
    ("misspelt rule key", HEAD + RULE + "    whne: { type: Bug }\n    then: [ { add_labels: [stale] } ]\n",
     ["{f}:3:5: rule 'stale-bugs' › missing required key 'when'",
      "{f}:6:5: rule 'stale-bugs' › whne: unknown key 'whne' (did you mean 'when'?)"]),
    ("labels not a list", HEAD + RULE + "    when: { type: Bug }\n    then:\n      - comment: hi\n"
     "      - add_labels: bug\n",
     ["{f}:9:21: rule 'stale-bugs' › then[1].add_labels: must be a list of label names (got 'bug')"]),
    ("misspelt operator", HEAD + RULE + "    when: { labels: { nonr_of: [a] } }\n    then: [ { comment: x } ]\n",
     ["{f}:6:23: rule 'stale-bugs' › when.labels.nonr_of: unknown operator 'nonr_of' (did you mean 'none_of'?)"]),
    ("misspelt condition", HEAD + RULE + "    when:\n      all:\n        - status.categry: in_progress\n"
     "    then: [ { comment: x } ]\n",
     [("{f}:8:11: rule 'stale-bugs' › when.all[0].status.categry: unknown condition 'status.categry' "
      "(did you mean 'status.category'?)")]),
    ("bad category", HEAD + RULE + "    when: { status.category: inprogress }\n    then: [ { comment: x } ]\n",
     [("{f}:6:30: rule 'stale-bugs' › when.status.category: must be one of todo, in_progress, done, canceled, "
      "unknown (got 'inprogress') (did you mean 'in_progress'?)")]),
    ("bad duration", HEAD + RULE + "    when: { last_activity: { older_than: 5 bizdays } }\n"
     "    then: [ { comment: x } ]\n",
     [("{f}:6:42: rule 'stale-bugs' › when.last_activity.older_than: a duration needs a number and a unit: "
      "minutes, hours, days, business days or weeks (got '5 bizdays')")]),
    ("label with a space", HEAD + RULE + "    when: { type: Bug }\n    then: [ { flag: { label: 'needs triage' } } ]\n",
     [("{f}:7:30: rule 'stale-bugs' › then[0].flag.label: a label is a name without spaces or commas "
      "(Jira refuses them) (got 'needs triage')")]),
    ("backreference regex", HEAD + RULE + "    when: { title: { matches: '(a)\\1' } }\n    then: [ { comment: x } ]\n",
     [("{f}:6:31: rule 'stale-bugs' › when.title.matches: invalid regex (invalid escape sequence: \\1; "
      "backreferences and lookarounds are not supported) (got '(a)\\\\1')")]),
    ("template variable", HEAD + RULE + "    when: { type: Bug }\n    then: [ { comment: '{{ asignee.mention }}' } ]\n",
     [("{f}:7:24: rule 'stale-bugs' › then[0].comment: unknown template variable 'asignee' "
      "(did you mean 'assignee'?) (got '{{ asignee.mention }}')")]),
    ("template syntax", HEAD + RULE + "    when: { type: Bug }\n    then: [ { comment: '{% if %}' } ]\n",
     [("{f}:7:24: rule 'stale-bugs' › then[0].comment: template error on its line 1: Expected an expression, "
      "got 'end of statement block' (got '{% if %}')")]),
    ("unknown timezone", HEAD + RULE + "    timezone: Mars/Olympus\n    when: { type: Bug }\n"
     "    then: [ { comment: x } ]\n",
     [("{f}:6:15: rule 'stale-bugs' › timezone: unknown timezone 'Mars/Olympus' (use an IANA name such as "
      "'Europe/Berlin') (got 'Mars/Olympus')")]),
    ("event condition in a sweep", HEAD + RULE + "    when: { changed: status }\n    then: [ { comment: x } ]\n",
     ["{f}:6:13: rule 'stale-bugs' › when.changed: 'changed' never holds in a sweep: add an event trigger to 'on'"]),
    ("bad schedule", HEAD + RULE + "    schedule: every 3 days\n    when: { type: Bug }\n    then: [ { comment: x } ]\n",
     [("{f}:6:15: rule 'stale-bugs' › schedule: an interval schedule is in minutes or hours, e.g. "
      "'every 30 minutes' (got 'every 3 days')")]),
    ("duplicate names", HEAD + RULE + "    when: { type: Bug }\n    then: [ { comment: x } ]\n" + RULE
     + "    when: { type: Bug }\n    then: [ { comment: y } ]\n",
     ["{f}:8:11: rule 'stale-bugs' › name: duplicate rule name (first defined at {f}:3)"]),
    ("two keys in one condition", HEAD + RULE + "    when: { type: Bug, title: x }\n    then: [ { comment: x } ]\n",
     ["{f}:6:11: rule 'stale-bugs' › when: a condition mapping has exactly one key (got 2: type, title)"]),
    ("wrong version", "version: 2\nrules: []\n", ["{f}:1:10: version: must be 1 (got 2)"]),
    ("YAML alias", "version: 1\nx: &a 1\ny: *a\n", ["{f}:2:4: YAML aliases (*name) are not supported; repeat the value instead"]),
    ("YAML python tag", "version: !!python/object:os.system x\n",
     ["{f}:1:10: YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed"]),
    ("duplicate key", "version: 1\nversion: 1\n", ["{f}:2:1: duplicate key 'version'"]),
    ("YAML syntax", "version: 1\nrules: [\n", ["{f}:3:1: YAML syntax: did not find expected node content"]),
    ("not a mapping", "- 1\n", ["{f}:1:1: a rule file is a mapping with 'version:' and 'rules:'"]),
]


@pytest.mark.parametrize(("case", "text", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_rule_files_report_file_line_col(tmp_path: Path, case: str, text: str, expected: list[str]) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_ruleset([path])
    assert [str(e) for e in caught.value.errors] == [x.replace("{f}", str(path)) for x in expected]


def test_error_carries_structured_fields(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(INVALID[1][1], encoding="utf-8")
    with pytest.raises(RuleFileError) as caught:
        load_ruleset([path])
    err = caught.value.errors[0]
    assert (err.file, err.line, err.col, err.rule, err.path) == (str(path), 9, 21, "stale-bugs", "then[1].add_labels")


def test_errors_from_every_file_are_reported_together(tmp_path: Path) -> None:
    a = write_rules(tmp_path, "version: 1\nrules: 3\n", "a.yml")
    b = write_rules(tmp_path, "version: 0\n", "b.yml")
    with pytest.raises(RuleFileError) as caught:
        load_ruleset([a, b])
    assert [e.file for e in caught.value.errors] == [str(a), str(b)]


def test_missing_file_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_ruleset([tmp_path / "nope.yml"])
    with pytest.raises(RuleFileError, match="no rule files found"):
        load_ruleset([tmp_path])


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = write_rules(tmp_path, "version: 1\n# " + "x" * 1_100_000 + "\n")
    with pytest.raises(RuleFileError, match="larger than 1000 kB"):
        load_ruleset([path])


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    rs = load(tmp_path, """
        version: 1
        defaults:
          timezone: Europe/Berlin
          calendar: { country: DE, subdiv: BY }
          teams: [ENG]
        rules:
          - name: stalled-in-progress
            description: Work in progress with no update for 5 business days gets flagged.
            on: [schedule, updated]
            schedule: every 30 minutes
            when:
              all:
                - status.category: in_progress
                - last_activity: { older_than: 5 business days }
            then:
              - flag: { label: stalled, comment: "{{ assignee.mention }} stalled" }
              - add_labels: [needs-attention]
    """)
    rule = rs.rules[0]
    assert rule.line == 7 and rule.source.endswith("rules.yml")
    assert rule.triggers == {"schedule", "updated"} and rule.teams == {"ENG"}
    assert rule.timezone == "Europe/Berlin" and rule.calendar.country == "DE"
    assert rule.labels_written == {"stalled", "needs-attention"} and rule.flag_labels == ("stalled",)
    assert str(rule.schedule) == "0:30:00" and rule.enabled and not rule.dry_run
