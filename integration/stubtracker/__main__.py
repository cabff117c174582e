"""`python -m integration.stubtracker --port N`: the stub on a loopback port."""

from __future__ import annotations

import argparse
import logging

from werkzeug.serving import make_server

from integration.stubtracker.app import create_stub_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m integration.stubtracker")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(args.host, args.port, create_stub_app(), threaded=True)
    print(f"stub tracker on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
