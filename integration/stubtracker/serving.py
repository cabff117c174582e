"""The stub's HTTP server: one thread per kept-alive connection, each answering its own requests.

A tracker client holds one connection and sends one request at a time on it, so the thread that
reads a request can answer it too: no poller handing the connection to a pool thread and the pool
handing it back (gunicorn's threaded worker woke three threads and wrote to a pipe per request,
and used more of the stub's CPU than the tracker's answers themselves). Werkzeug's development
server closes every connection. The stub is a test and benchmark fixture: this serves its one
Flask app on loopback, nothing else.
"""

from __future__ import annotations

import io
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says `Connection: close`
    disable_nagle_algorithm = True  # an answer goes out in one write; never wait for an ACK
    app: Flask
    host, port = "127.0.0.1", 0

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        if not self.raw_requestline or len(self.raw_requestline) > 65536:
            self.close_connection = True
            return
        if self.parse_request():
            self._answer()

    def _answer(self) -> None:
        body = self._body()
        if body is None:
            self.send_error(411)
            return
        chunks: list[bytes] = []
        status_line: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_line[:] = [status, headers]
            return chunks.append

        result = self.app(self._environ(body), start_response)
        try:
            chunks.extend(result)
        finally:
            getattr(result, "close", lambda: None)()
        status, headers = status_line
        payload = b"".join(chunks)
        head = [f"HTTP/1.1 {status}"]
        head += [f"{name}: {value}" for name, value in headers if name.lower() not in ("content-length", "connection")]
        head.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def _body(self) -> bytes | None:
        """The request body; None for one whose length is not said (chunked uploads: no tracker client sends them)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return None
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        return environ

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """No access log: the stub records requests itself (`/_stub/requests`)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def serve(app: Flask, host: str, port: int) -> None:
    """Answer on host:port until the process is stopped."""
    handler = type("Handler", (_Handler,), {"app": app, "host": host, "port": port})
    with _Server((host, port), handler) as server:
        server.serve_forever()
