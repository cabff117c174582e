"""Ingest benchmark: signed Jira webhooks through the full guard chain vs a bare Flask endpoint.

Starts Flowkeeper under gunicorn on loopback (Redis queue, SQLite store), drives signed
POSTs at it from a second process (wrk when installed, else a Python client) for a
bounded time, then the same against a bare Flask JSON endpoint under the same gunicorn
settings. Each request carries a fresh delivery id, so every one is verified, parsed,
checked, deduplicated and enqueued. Prints requests/s and latency, and the CPU time the
server's processes spent per request (`cpu_ms_per_req`, read from /proc: on a shared,
loaded machine the throughput ratio swings with whatever else runs, the CPU cost per
request much less; `cpu_ratio` is bare CPU per request over full). The last line is one
JSON object.

    python bench/ingest.py [--seconds 10] [--connections 16] [--workers 2] [--tool auto|wrk|python]

The load generator shares the machine's cores with the server: wrk (Debian's `wrk` package)
spends a few microseconds of CPU a request, the Python client far more, which slows the bare
endpoint most and so flatters the ratio. Give figures with the tool that measured them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import free_port, process, wait_http  # noqa: E402
from webhooks.signatures import sign_hub  # noqa: E402

SECRET = "bench-secret"
WRK_SCRIPT = """
counter = 0
threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", tostring(os.time()) .. "-" .. tostring(threads))
end
request = function()
  counter = counter + 1
  wrk.headers["X-Atlassian-Webhook-Identifier"] = "bench-" .. prefix .. "-" .. counter
  return wrk.format("POST", nil, nil, nil)
end
"""


def sample_body() -> bytes:
    payload = json.loads((ROOT / "tests/fixtures/jira/webhooks/jira_issue_updated.status_change.cloud-2024.json")
                         .read_text(encoding="utf-8"))
    payload["timestamp"] = int(time.time() * 1000)  # older bodies are refused as replays
    return json.dumps(payload).encode()


def run_wrk(url: str, body: bytes, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        script, body_file = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        body_file.write_bytes(body)
        script.write_text(f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
                          f'wrk.method = "POST"\n'
                          f'wrk.headers["Content-Type"] = "application/json"\n'
                          f'wrk.headers["X-Hub-Signature"] = "{sign_hub(body, SECRET)}"\n' + WRK_SCRIPT)
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed: {out.stderr or out.stdout}")
        out = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": _latency(out, "50%"), "p99_ms": _latency(out, "99%"),
            "non_2xx": float(errors.group(1)) if errors else 0.0}


def _latency(out: str, pct: str) -> float:
    value, unit = re.search(rf"{re.escape(pct)}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python(url: str, body: bytes, seconds: int, connections: int) -> dict[str, float]:
    code = ROOT / "bench" / "pyload.py"
    out = subprocess.run([sys.executable, str(code), url, str(seconds), str(connections), SECRET],
                         input=body, capture_output=True, check=True).stdout
    return json.loads(out)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers), from /proc."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue  # no /proc (not Linux) or the process is gone: the figure reads 0
    return total


def measure(url: str, body: bytes, seconds: int, connections: int, pid: int, tool: str) -> dict[str, float]:
    runner = run_wrk if tool == "wrk" else run_python
    runner(url, body, 2, connections)  # warm-up
    before, client_before = cpu_seconds(pid), _children_cpu()
    result = runner(url, body, seconds, connections)
    requests = result["rps"] * seconds
    result["cpu_ms_per_req"] = (cpu_seconds(pid) - before) * 1000 / requests if requests else 0.0
    result["client_cpu_ms_per_req"] = (_children_cpu() - client_before) * 1000 / requests if requests else 0.0
    return result


def _children_cpu() -> float:
    """User + system CPU of the finished load generators (the server is still running: not counted)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def gunicorn(app: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning", app]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tool", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator; auto: wrk when installed, else the Python client")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    tool = ("wrk" if shutil.which("wrk") else "python") if args.tool == "auto" else args.tool
    body = sample_body()
    redis.Redis.from_url(args.redis_url).flushdb()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.sqlite"
        metrics = Path(tmp) / "metrics"  # what `flowkeeper serve` hands its gunicorn workers
        metrics.mkdir()
        env = {"DATABASE_URL": db, "REDIS_URL": args.redis_url, "JIRA_WEBHOOK_SECRET": SECRET,
               "FLOWKEEPER_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT), "PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        subprocess.run([sys.executable, "-m", "integration.cli", "db", "upgrade"], env={**os.environ, **env},
                       check=True, capture_output=True)
        port = free_port()
        with process(gunicorn("integration.wsgi:app", port, args.workers), env, Path(tmp) / "web.log") as proc:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
            full = measure(f"http://127.0.0.1:{port}/webhooks/jira", body, args.seconds, args.connections, proc.pid, tool)
        queued = redis.Redis.from_url(args.redis_url).llen("rq:queue:flowkeeper")
        port = free_port()
        with process(gunicorn("bench.bare_app:app", port, args.workers), {"PYTHONPATH": str(ROOT)},
                     Path(tmp) / "bare.log") as proc:
            time.sleep(0.5)
            wait_http(f"http://127.0.0.1:{port}/webhooks/jira", proc=proc)
            bare = measure(f"http://127.0.0.1:{port}/webhooks/jira", body, args.seconds, args.connections, proc.pid, tool)
    redis.Redis.from_url(args.redis_url).flushdb()
    print(f"full guard chain: {full['rps']:.0f} req/s  p50 {full['p50_ms']:.2f} ms  p99 {full['p99_ms']:.2f} ms"
          f"  non-2xx {full['non_2xx']:.0f}  jobs queued {queued}  CPU {full['cpu_ms_per_req']:.2f} ms/req"
          f"  ({tool} client {full['client_cpu_ms_per_req']:.2f} ms/req)")
    print(f"bare endpoint:    {bare['rps']:.0f} req/s  p50 {bare['p50_ms']:.2f} ms  p99 {bare['p99_ms']:.2f} ms"
          f"  CPU {bare['cpu_ms_per_req']:.2f} ms/req  ({tool} client {bare['client_cpu_ms_per_req']:.2f} ms/req)")
    result = {"rps": round(full["rps"], 1), "p50_ms": round(full["p50_ms"], 2), "p99_ms": round(full["p99_ms"], 2),
              "bare_rps": round(bare["rps"], 1), "bare_p99_ms": round(bare["p99_ms"], 2),
              "ratio": round(full["rps"] / bare["rps"], 3), "jobs_queued": queued,
              "non_2xx": full["non_2xx"], "tool": tool,
              "workers": args.workers, "connections": args.connections, "seconds": args.seconds,
              "cpu_ms_per_req": round(full["cpu_ms_per_req"], 3), "bare_cpu_ms_per_req": round(bare["cpu_ms_per_req"], 3),
              "cpu_ratio": round(bare["cpu_ms_per_req"] / full["cpu_ms_per_req"], 3) if full["cpu_ms_per_req"] else None,
              "client_cpu_ms_per_req": round(full["client_cpu_ms_per_req"], 3),
              "bare_client_cpu_ms_per_req": round(bare["client_cpu_ms_per_req"], 3),
              "load_avg_1m": round(os.getloadavg()[0], 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
