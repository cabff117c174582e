"""A small load generator (used by the benchmarks when wrk is not installed).

argv: URL SECONDS CONNECTIONS SECRET; the body comes on stdin. Prints one JSON object.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
import uuid
from urllib.parse import urlsplit


def main() -> None:
    url, seconds, connections, _secret = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    body = sys.stdin.buffer.read()
    sys.path.insert(0, ".")
    from webhooks.signatures import sign_hub

    signature = sign_hub(body, _secret)
    parts = urlsplit(url)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            headers = {"Content-Type": "application/json", "X-Hub-Signature": signature,
                       "X-Atlassian-Webhook-Identifier": str(uuid.uuid4())}
            start = time.perf_counter()
            conn.request("POST", parts.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - start) * 1000)
            bad += response.status >= 300
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(json.dumps({"rps": len(latencies) / seconds, "p50_ms": q[49], "p99_ms": q[98], "non_2xx": errors[0]}))


if __name__ == "__main__":
    main()
