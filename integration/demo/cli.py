"""`flowkeeper demo`: start the sandbox, print where to look, keep it up until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def cmd_demo(args: argparse.Namespace) -> int:
    from integration.demo.sandbox import SandboxError, start, where_to_look

    try:
        sandbox = start(Path(args.home), host=args.host, stub_port=args.stub_port,
                        admin_port=None if args.no_serve else args.port)
    except SandboxError as error:
        print(f"flowkeeper demo: {error}", file=sys.stderr)
        return 2
    print(where_to_look(sandbox), flush=True)
    try:
        while not args.no_serve:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser(
        "demo", help="a sandbox: the stub tracker with a seeded workspace, and Flowkeeper writing to it")
    demo.add_argument("--home", default="var/demo", help="scratch folder (wiped each run), default var/demo")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000, help="admin page port (default 8000)")
    demo.add_argument("--stub-port", type=int, default=8765, help="stub tracker port (default 8765)")
    demo.add_argument("--no-serve", action="store_true", help="stop after the sync and sweeps")
    demo.set_defaults(func=cmd_demo)
