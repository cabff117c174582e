"""Admin page latency with a big store: 100,000 audit entries and 10,000 flagged items.

Fills a fresh database (SQLite file; with --postgres also a fresh database on the local
PostgreSQL) with a realistic spread — 60 days of decisions over the built-in rules, items
across five teams, open and closed episodes in live and dry mode — then requests every
admin page through the real app (login, templates, queries) and prints p50 / p95 per
page. The goal is every page under 100 ms. The CSV export streams all rows and is
reported as rows per second. Wall time depends on what else runs on the machine: the
load average is printed, and `cpu_p50_ms` (this process's CPU time) is the figure to
compare across runs on SQLite, where every query runs in-process. The last line is one
JSON object.

    python bench/admin.py [--postgres] [--repeat 15] [--audit 100000] [--flagged 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text

from integration.app import create_app
from integration.codec import to_jsonable
from integration.store import audit_counts
from integration.store.flag_keys import flag_key
from integration.store.migrate import upgrade
from integration.store.tables import audit_log, deliveries, items, rule_states
from rules.loader import builtin_pack_paths, load_ruleset
from rules.model import Item, Person, Status, StatusCategory, Tracker

PASSWORD = "bench-admin-password-long"
TEAMS = ("ABC", "CORE", "WEB", "ENG", "OPS")
OUTCOMES = (("would_do", 50), ("done", 30), ("skipped", 12), ("failed", 5), ("held", 3))
GOAL_MS = 100.0
BATCH = 5000


def rule_names() -> list[str]:
    return [r.name for r in load_ruleset(builtin_pack_paths()).rules]


def make_items(count: int, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for n in range(count):
        tracker = Tracker.JIRA if n % 2 else Tracker.LINEAR
        team = TEAMS[n % len(TEAMS)]
        key = f"{team}-{n}"
        status = (
            Status("In Progress", StatusCategory.IN_PROGRESS)
            if n % 4 < 2
            else Status("Todo", StatusCategory.TODO)
        )
        item = Item(
            tracker=tracker,
            id=f"id-{n}",
            key=key,
            title=f"Item {n}: make the flow better for team {team}",
            url=f"https://tracker.example/{key}",
            status=status,
            assignee=Person(f"user-{n % 40}", f"Person {n % 40}"),
            team=team,
            labels=("stalled",),
            updated_at=now - timedelta(days=n % 30),
            created_at=now - timedelta(days=60),
        )
        rows.append(
            {
                "tracker": tracker.value,
                "item_id": item.id,
                "key": key,
                "team": team,
                "title": item.title,
                "status_name": status.name,
                "status_category": status.category.value,
                "assignee_id": f"user-{n % 40}",
                "assignee_name": f"Person {n % 40}",
                "estimate": None,
                "created_at": item.created_at,
                "updated_at": item.updated_at,
                "status_changed_at": item.updated_at,
                "last_activity_at": item.updated_at,
                "deleted": False,
                "data": to_jsonable(item),
                "synced_at": now,
            }
        )
    return rows


def make_states(
    flagged: int, closed: int, rules: list[str], now: datetime, rng: random.Random
) -> list[dict[str, Any]]:
    rows = []
    for n in range(flagged + closed):
        opened = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
        active = n < flagged
        rows.append(
            {
                "tracker": "jira" if n % 2 else "linear",
                "item_id": f"id-{n}",
                "item_key": f"{TEAMS[n % 5]}-{n}",
                "rule": rules[n % len(rules)],
                "mode": "dry" if n % 10 < 3 else "live",
                "episode": 1,
                "active": active,
                "opened_at": opened,
                "closed_at": None if active else opened + timedelta(days=2),
                "steps_done": ["0"],
                "last_action_at": opened,
            }
        )
    return rows


def make_audit(count: int, rules: list[str], now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    outcomes = [name for name, weight in OUTCOMES for _ in range(weight)]
    times = sorted(now - timedelta(seconds=rng.randint(0, 60 * 86400)) for _ in range(count))
    rows = []
    for at in times:
        n = rng.randrange(20000)
        rule = rules[n % len(rules)] if rng.random() > 0.2 else None
        outcome = rng.choice(outcomes) if rule else "skipped"
        detail = {"identity": f"{rule}/1/0/add_labels", "labels": ["stalled"]} if rule else None
        rows.append(
            {
                "at": at,
                "tracker": "jira" if n % 2 else "linear",
                "item_key": f"{TEAMS[n % 5]}-{n}",
                "rule": rule,
                "action": "add_labels" if rule else "updated",
                "outcome": outcome,
                "reason": f"{'dry run: ' if outcome == 'would_do' else ''}'{rule}' holds: status.category "
                f"in_progress; last_activity older than 5 business days",
                "delivery_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "detail": detail,
                **flag_key(rule, detail),  # as the audit log's writer keeps them
            }
        )
    return rows


def make_deliveries(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "tracker": "jira",
            "delivery_id": f"d-{n}",
            "received_at": now - timedelta(minutes=n),
            "state": "failed" if n % 100 == 0 else "done",
            "attempts": 1,
            "envelope": None,
            "item_key": f"ABC-{n}",
            "outcome": "RuntimeError: boom" if n % 100 == 0 else "no action",
            "finished_at": now - timedelta(minutes=n),
        }
        for n in range(2000)
    ]


def fill(url: str, audit: int, flagged: int, seed: int = 7) -> dict[str, float]:
    rng, now, rules = random.Random(seed), datetime.now(UTC), rule_names()
    engine = create_engine(url)
    started = time.perf_counter()
    tables = (
        (items, make_items(max(2 * flagged, 20000), now)),
        (rule_states, make_states(flagged, flagged // 2, rules, now, rng)),
        (audit_log, make_audit(audit, rules, now, rng)),
        (deliveries, make_deliveries(now)),
    )
    for table, rows in tables:
        with engine.begin() as conn:
            for i in range(0, len(rows), BATCH):
                conn.execute(insert(table), rows[i : i + BATCH])
            if table is audit_log:  # what AuditLog.record keeps beside the entries it writes
                audit_counts.add(conn, audit_counts.keys_of(rows))
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # the steady state autovacuum keeps: index-only scans work
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {"fill_s": round(time.perf_counter() - started, 1)}


def pages(rules: list[str], now: datetime) -> list[tuple[str, str]]:
    since = (now - timedelta(days=7)).date().isoformat()
    return [
        ("overview", "/admin/"),
        ("overview.json", "/admin/overview.json"),
        ("rules", "/admin/rules"),
        ("flagged", "/admin/flagged"),
        ("flagged ?team", "/admin/flagged?team=WEB"),
        ("flagged ?rule&mode", f"/admin/flagged?rule={rules[0]}&mode=live"),
        ("flagged offset 5000", "/admin/flagged?offset=5000"),
        ("flagged.json", "/admin/flagged.json"),
        ("audit", "/admin/audit"),
        ("audit ?rule", f"/admin/audit?rule={rules[1]}"),
        ("audit ?outcome=held", "/admin/audit?outcome=held"),
        ("audit ?item", "/admin/audit?item=WEB-1002"),
        ("audit ?since 7 d", f"/admin/audit?since={since}"),
        ("audit deep page", "/admin/audit?before=2000"),
        ("audit ?rule&outcome&since", f"/admin/audit?rule={rules[2]}&outcome=failed&since={since}"),
        ("audit.json", "/admin/audit.json"),
        ("explain", "/admin/explain?key=WEB-2"),
        ("charts 30 d", "/admin/charts"),
        ("charts 90 d", "/admin/charts?days=90"),
        ("jobs", "/admin/jobs"),
        ("setup", "/admin/setup"),
    ]


def measure(client: Any, path: str, repeat: int) -> dict[str, float]:
    for _ in range(2):
        assert client.get(path).status_code == 200, path
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "max_ms": round(times[-1], 1),
        "cpu_p50_ms": round(statistics.median(cpu), 1),  # this process only: on SQLite, all of the work
    }


def run(url: str, label: str, args: argparse.Namespace) -> dict[str, Any]:
    upgrade(url)
    facts = fill(url, args.audit, args.flagged)
    app = create_app(
        {"DATABASE_URL": url, "ADMIN_PASSWORD": PASSWORD, "SECRET_KEY": "bench-secret-key", "RULES_DIR": ""}
    )
    client = app.test_client()
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["fk_csrf"]
    assert client.post("/admin/login", data={"password": PASSWORD, "csrf_token": token}).status_code == 302
    results: dict[str, Any] = {}
    print(
        f"\n{label}: {args.audit:,} audit entries, {args.flagged:,} flagged items "
        f"(filled in {facts['fill_s']} s)"
    )
    print(f"  {'page':<28}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'cpu p50':>9}")
    for name, path in pages(rule_names(), datetime.now(UTC)):
        results[name] = measure(client, path, args.repeat)
        r = results[name]
        flag = "" if r["p95_ms"] < GOAL_MS else "  <-- over 100 ms"
        print(f"  {name:<28}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}{r['cpu_p50_ms']:>9}{flag}")
    started = time.perf_counter()
    rows = client.get("/admin/audit.csv").get_data(as_text=True).count("\n") - 1
    seconds = time.perf_counter() - started
    print(f"  CSV export: {rows:,} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)")
    app.extensions["flowkeeper"].services.store.engine.dispose()
    return {"pages": results, "csv_rows": rows, "csv_s": round(seconds, 2), **facts}


def postgres_url() -> tuple[str, Any]:
    admin_url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    name = f"flowkeeper_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.rsplit("/", 1)[0] + f"/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audit", type=int, default=100_000)
    parser.add_argument("--flagged", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--postgres", action="store_true", help="also run on a fresh local PostgreSQL database"
    )
    args = parser.parse_args()
    out: dict[str, Any] = {"audit_entries": args.audit, "flagged_items": args.flagged, "goal_ms": GOAL_MS,
                           "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count()}
    print(f"load average {out['load_avg_1m']} on {out['cpus']} CPUs (other processes slow every figure)")
    with tempfile.TemporaryDirectory() as tmp:
        out["sqlite"] = run(f"sqlite:///{Path(tmp) / 'bench.sqlite'}", "SQLite", args)
    if args.postgres:
        url, drop = postgres_url()
        try:
            out["postgres"] = run(url, "PostgreSQL", args)
        finally:
            drop()
    worst = [
        (backend, name, r["p95_ms"])
        for backend in ("sqlite", "postgres")
        if backend in out
        for name, r in out[backend]["pages"].items()
    ]
    out["max_p95_ms"] = max(p for _, _, p in worst)
    out["over_goal"] = [f"{b}:{n}" for b, n, p in worst if p >= GOAL_MS]
    print(json.dumps(out, separators=(",", ":")))


if __name__ == "__main__":
    main()
