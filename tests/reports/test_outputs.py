"""The report in every format, and `flowkeeper report` end to end on a store."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

import pytest

from integration.reports.cli import register
from integration.reports.dataset import Report
from integration.reports.render import render_report
from integration.reports.report import build_report, dense
from integration.reports.scope import RuleCatalog, Scope
from integration.store.store import Store
from tests.reports.builder import Builder, day

SCOPE = Scope(day(0), day(14), teams=("ENG",))
EVIL = "<script>alert('x')</script> | =cmd"


@pytest.fixture
def report(store: Store) -> Report:
    b = Builder(store)
    b.item("ENG-1", 0, [(1, "In Progress"), (4, "Done")])
    b.item("ENG-2", 0, [(2, "In Progress"), (8, "Done")])
    b.item("ENG-3", 0, [(3, "In Progress")], title=EVIL, assignee="ann", project="Checkout")
    return build_report(store.engine, SCOPE, catalog=RuleCatalog(), now=day(14))


def test_dense_histogram_fills_empty_days_and_caps_the_tail() -> None:
    assert dense(((1, 2), (3, 1))) == ((0, 0), (1, 2), (2, 0), (3, 1))
    assert dense(((2, 1), (70, 1), (90, 2)), cap=3) == ((0, 0), (1, 0), (2, 1), (3, 3))


def test_markdown_has_the_figures_and_escapes_table_cells(report: Report) -> None:
    text = render_report(report, "md")
    assert "count 2 · mean 4.5 · p50 3 · p85 6 · p95 6" in text  # cycle times 3 and 6 days
    assert "| ENG-3 | <script>alert('x')</script> \\| =cmd | In Progress | Ann | 11 |" in text
    assert text.count("\n## ") == 8
    assert "_14 rows: the chart is in the HTML report, the numbers in JSON and CSV._" in text  # WIP by day


def test_json_holds_every_dataset_with_rows_as_records(report: Report) -> None:
    data = json.loads(render_report(report, "json"))
    assert data["scope"] == {"since": "2024-03-04T00:00:00Z", "until": "2024-03-18T00:00:00Z",
                             "trackers": [], "teams": ["ENG"]}
    assert data["datasets"]["throughput"]["rows"] == [
        {"week": "2024-03-04", "completed": 1, "cycle_p50_days": 3.0},
        {"week": "2024-03-11", "completed": 1, "cycle_p50_days": 6.0},
    ]
    assert data["datasets"]["wip_by_status"]["summary"] == {"total": 1}
    assert set(data["seconds"]) == {"wip", "cfd", "flow", "time_in_status", "aging", "hygiene", "roadmap",
                                    "forecast"}


def test_csv_long_form_and_one_dataset_wide(report: Report) -> None:
    rows = list(csv.reader(io.StringIO(render_report(report, "csv"))))
    assert rows[0] == ["dataset", "row", "column", "value"]
    assert ["aging_wip", "0", "title", "<script>alert('x')</script> | =cmd"] in rows
    wide = list(csv.reader(io.StringIO(render_report(report, "csv", dataset="roadmap"))))
    assert wide[0][:3] == ["tracker", "project", "epic"] and wide[1][:2] == ["jira", "Checkout"]
    with pytest.raises(ValueError, match="no dataset 'nope'"):
        render_report(report, "csv", dataset="nope")


def test_html_is_self_contained_with_svg_charts_and_escaped_titles(report: Report) -> None:
    page = render_report(report, "html")
    assert page.count("<svg") >= 6
    assert "<script" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="flowkeeper")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_writes_the_report(report: Report, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    out = tmp_path / "report.json"
    code = _run(["report", "--team", "ENG", "--since", "2024-03-04", "--until", "2024-03-18",
                 "--format", "json", "--section", "flow", "-o", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["datasets"]["cycle_time"]["summary"]["p85"] == 6.0
    assert set(data["datasets"]) == {"cycle_time", "cycle_scatter", "lead_time", "throughput"}
    assert _run(["report", "--since", "2024-03-04", "--until", "2024-03-18", "--dataset", "throughput",
                 "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("week,completed,cycle_p50_days\r\n2024-03-04,1,3.0\r\n")


def test_cli_explains_a_bad_period(db_url: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert _run(["report", "--since", "thirty days"]) == 2
    expected = "--since takes a period (30d, 12w, 48h, '30 days') or a date (2024-05-01), got 'thirty days'"
    assert expected in capsys.readouterr().err


def test_cli_forecasts_with_the_questions_asked(report: Report, db_url: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    out = tmp_path / "forecast.json"
    argv = ["report", "--since", "2024-03-04", "--until", "2024-03-18", "--format", "json", "--section",
            "forecast", "--section", "cfd", "--forecast-items", "7", "--forecast-date", "2024-03-31",
            "--cfd-by", "status", "-o", str(out)]
    assert _run(argv) == 0
    data = json.loads(out.read_text())["datasets"]
    assert data["forecast_when"]["title"] == "When will 7 items be done?"
    assert data["forecast_how_many"]["title"] == "How many items by 2024-03-31?"
    assert data["forecast_when"]["note"].startswith("history too short to forecast")  # two items done
    assert data["cfd"]["columns"] == ["day", "Done", "In Progress", "To Do"]
    assert _run([*argv[:-2], "--forecast-date", "2024-03-01"]) == 2
    assert "the forecast date 2024-03-01 is before the end of the period (2024-03-18)" in capsys.readouterr().err


@pytest.mark.parametrize("since", ["30 days", "4 weeks", "30d", "720 hours"])
def test_cli_takes_the_period_as_rules_write_it(report: Report, db_url: str, since: str,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert _run(["report", "--since", since, "--format", "json", "--section", "flow"]) == 0
    assert "flowkeeper report" not in capsys.readouterr().err


def test_cli_names_the_known_teams_when_one_is_mistyped(report: Report, db_url: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert _run(["report", "--team", "EGN"]) == 2
    assert capsys.readouterr().err == "flowkeeper report: no team 'EGN' in the mirror; known teams: ENG\n"
    assert _run(["report", "--team", "ENG", "--format", "json", "--section", "flow"]) == 0
