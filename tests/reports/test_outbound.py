"""What leaves Flowkeeper: CSV a spreadsheet cannot be tricked by, digest webhooks only where allowed."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from integration.admin.views.audit import csv_lines
from integration.csvcells import csv_text
from integration.reports.dataset import Dataset, Report
from integration.reports.digest_config import Allowlist
from integration.reports.formats import dataset_csv, to_csv
from integration.reports.scope import Scope
from integration.store.audit import AuditEntry, Outcome
from tests.rules.helpers import NOW

INJECTION = "Fix login\r=HYPERLINK(\"https://evil.example\",\"click\")"


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def report_with(title: str) -> Report:
    aging = Dataset(name="aging", title="Aging", section="flow", columns=("key", "title"),
                    rows=(("ENG-1", title), ("ENG-2", "=1+1")))
    return Report(scope=Scope(NOW - timedelta(days=30), NOW), generated_at=NOW, datasets=(aging,))


@pytest.mark.parametrize("render", [lambda r: dataset_csv(r.datasets[0]), to_csv])
def test_report_csv_quotes_a_carriage_return_and_guards_formulas(render) -> None:  # type: ignore[no-untyped-def]
    text = render(report_with(INJECTION))
    assert text.endswith("\r\n") and '"Fix login\r=HYPERLINK' in text  # the CR stays inside a quoted cell
    values = [value for row in cells(text) for value in row]
    assert INJECTION in values and "'=1+1" in values
    assert not any(value.startswith("=") for value in values)


def test_the_audit_csv_is_written_the_same_way() -> None:
    entry = AuditEntry(at=NOW, tracker="jira", action="comment", outcome=Outcome.DONE, reason=INJECTION,
                       item_key="ENG-1")
    text = "".join(csv_lines(iter([entry])))
    assert text.endswith("\r\n") and '"Fix login\r=HYPERLINK' in text
    assert csv_text(("a",), [("@SUM(1)",), ("\n=1",)]).splitlines()[1:] == ["'@SUM(1)", "\"'", "=1\""]


ALLOW = Allowlist.parse("https://hooks.slack.com/services/T0001, https://hooks.example.com:8443/fk/")


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T0001/B02/xyz",
    "https://hooks.slack.com/services/T0001",
    "https://HOOKS.slack.com/services/T0001/B02?x=1",
    "https://hooks.example.com:8443/fk/team",
])
def test_allowed_webhook_urls(url: str) -> None:
    assert ALLOW.allows_url(url)


@pytest.mark.parametrize("url", [
    "https://hooks.slack.com/services/T00012345/B02/xyz",  # a longer workspace id is another workspace
    "https://hooks.slack.com/services/T0001%2e%2e/x",
    "https://hooks.slack.com/services/T0001/%2e%2e/%2E%2E/T9999/x",  # percent-encoded dot segments
    "https://hooks.slack.com/services/T0001/%2f..%2fT9999",
    "https://hooks.slack.com/services/T0001/./x",
    "https://hooks.slack.com/services/T0001\\..\\T9",
    "https://hooks.slack.com:444/services/T0001/x",  # another port
    "https://hooks.example.com/fk/team",  # the default port is not 8443
    "https://hooks.example.com:8443/fkteam",
    "https://x@hooks.slack.com/services/T0001/x",
    "http://hooks.slack.com/services/T0001/x",
    "https://hooks.slack.com:notaport/services/T0001/x",
])
def test_refused_webhook_urls(url: str) -> None:
    assert not ALLOW.allows_url(url)
