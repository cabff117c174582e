"""Ingest cost per request in one process: the full guard chain vs the bare Flask endpoint.

Calls each app's WSGI callable with a signed Jira delivery (a fresh delivery id each, real
Redis, no network, no load generator), so the figures are the application's own work:
CPU milliseconds per request (`time.process_time`) and, with `--instructions`, the
instructions per request counted by valgrind's callgrind around the request loop only,
which do not move with the machine's load. The last line is one JSON object.

    python bench/ingest_cpu.py [--requests 2000] [--instructions]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import SECRET, sample_body  # noqa: E402
from webhooks.signatures import sign_hub  # noqa: E402

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _environ(body: bytes, signature: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/jira", "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_X_HUB_SIGNATURE": signature,
            "HTTP_X_ATLASSIAN_WEBHOOK_IDENTIFIER": f"bench-{uuid.uuid4()}", "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": False,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def _post(app: App, body: bytes, signature: str, count: int) -> None:
    statuses: list[str] = []
    for _ in range(count):
        b"".join(app(_environ(body, signature), lambda status, headers, exc=None: statuses.append(status)))
    if not all(s.startswith("200") for s in statuses):
        raise RuntimeError(f"a request was refused: {next(s for s in statuses if not s.startswith('200'))}")


def _apps(tmp: Path, redis_url: str) -> dict[str, App]:
    """Flowkeeper's app as gunicorn loads it (Redis queue, JSON logs, multiprocess metrics) and the bare one."""
    (tmp / "metrics").mkdir()
    os.environ.update({"DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite", "REDIS_URL": redis_url,
                       "JIRA_WEBHOOK_SECRET": SECRET, "FLOWKEEPER_LOG_FORMAT": "json",
                       "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics")})
    subprocess.run([sys.executable, "-m", "integration.cli", "db", "upgrade"], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    from bench.bare_app import app as bare
    from integration.wsgi import app as full

    for handler in logging.getLogger().handlers:  # the log line is still made, only not kept
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))
    return {"full": full, "bare": bare}


def _toggle_callgrind(on: bool) -> None:
    subprocess.run(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())], capture_output=True)


def measure(requests: int, only: str | None, counting: bool, redis_url: str) -> dict[str, float]:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    body = sample_body()
    signature = sign_hub(body, SECRET)
    result: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            apps = _apps(Path(tmp), redis_url)
            for name, app in apps.items():
                if only and name != only:
                    continue
                _post(app, body, signature, 200)  # warm-up
                if counting:
                    _toggle_callgrind(True)
                started = time.process_time()
                _post(app, body, signature, requests)
                result[f"{name}_cpu_ms_per_req"] = round((time.process_time() - started) * 1000 / requests, 3)
                if counting:
                    _toggle_callgrind(False)
    finally:
        redis.Redis.from_url(redis_url).flushdb()
    return result


def instructions(requests: int, which: str, redis_url: str) -> int:
    """Instructions per request of one app, counted by callgrind around the request loop only."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={tmp}/cg.out",
                              sys.executable, __file__, "--requests", str(requests), "--only", which,
                              "--redis-url", redis_url, "--counting"], capture_output=True, text=True, check=True)
    collected = re.search(r"Collected : (\d+)", out.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind printed no count: {out.stderr[-500:]}")
    return int(collected.group(1)) // requests


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--instructions", action="store_true", help="also count instructions under callgrind")
    parser.add_argument("--only", choices=("full", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--counting", action="store_true", help=argparse.SUPPRESS)  # running under callgrind
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    if args.counting:
        measure(args.requests, args.only, True, args.redis_url)
        return
    result: dict[str, Any] = measure(args.requests, None, False, args.redis_url)
    result["cpu_ratio"] = round(result["bare_cpu_ms_per_req"] / result["full_cpu_ms_per_req"], 3)
    if args.instructions:
        counted = min(args.requests, 300)  # callgrind runs Python some fifty times slower
        for which in ("full", "bare"):
            result[f"{which}_instructions_per_req"] = instructions(counted, which, args.redis_url)
    result.update(requests=args.requests, load_avg_1m=round(os.getloadavg()[0], 2))
    print(f"full guard chain: {result['full_cpu_ms_per_req']:.3f} ms CPU/request   "
          f"bare endpoint: {result['bare_cpu_ms_per_req']:.3f} ms CPU/request")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
