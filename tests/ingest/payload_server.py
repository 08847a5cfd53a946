"""A local HTTP server on 127.0.0.1 that serves recorded payloads, and misbehaves on request.

Tests register routes: a body with status and headers, or a behaviour (hang, drip one
byte a second, endless chunked body, redirect). Nothing here ever leaves loopback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"


@dataclass
class Route:
    body: bytes | Callable[[], Iterator[bytes]] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering at all (a hung server).
    delay: float = 0.0
    # Send the body with chunked transfer encoding (needed for generator bodies).
    chunked: bool = False
    # Send no length at all: the body ends when the server closes the connection.
    close_delimited: bool = False
    # Answer 304 when the request's If-None-Match equals this ETag.
    etag: str = ""
    hits: int = 0
    request_headers: list[dict[str, str]] = field(default_factory=list)


class PayloadServer:
    """ThreadingHTTPServer on 127.0.0.1:<free port>; `url(path)` gives a full URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        # Requests being answered now: client port -> (path, monotonic start), so a test
        # can tell which request a given client socket is waiting on.
        self.in_flight: dict[int, tuple[str, float]] = {}
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet in tests
                pass

            def do_GET(self) -> None:
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_error(404)
                    return
                route.hits += 1
                route.request_headers.append(dict(self.headers))
                port = self.client_address[1]
                server.in_flight[port] = (self.path, time.monotonic())
                try:
                    self._answer(route)
                finally:
                    server.in_flight.pop(port, None)

            def _answer(self, route: Route) -> None:
                if route.delay and server._stopping.wait(route.delay):
                    return
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.etag:
                    self.send_header("ETag", route.etag)
                try:
                    if route.close_delimited:
                        self._send_until_close(route)
                    elif route.chunked or callable(route.body):
                        self._send_chunked(route)
                    else:
                        self.send_header("Content-Length", str(len(route.body)))
                        self.end_headers()
                        self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def _send_until_close(self, route: Route) -> None:
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                chunks = route.body() if callable(route.body) else iter([route.body])
                for chunk in chunks:
                    if server._stopping.is_set():
                        return
                    self.wfile.write(chunk)

            def _send_chunked(self, route: Route) -> None:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunks = route.body() if callable(route.body) else iter([route.body])
                for chunk in chunks:
                    if server._stopping.is_set():
                        return
                    if chunk:
                        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                        self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                # A fetcher that gives up (deadline, size cap) resets the connection:
                # expected here, not worth a traceback.
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> PayloadServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, **kwargs: object) -> Route:
        route = Route(**kwargs)  # type: ignore[arg-type]
        self.routes[path] = route
        return route

    def add_file(self, path: str, name: str, content_type: str, **kwargs: object) -> Route:
        """Serve tests/fixtures/payloads/<name>."""
        body = (PAYLOADS / name).read_bytes()
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self.add(path, body=body, headers=headers, **kwargs)

    def redirect(self, path: str, location: str, status: int = 302) -> Route:
        return self.add(path, status=status, headers={"Location": location})


def drip(data: bytes, every: float = 1.0) -> Callable[[], Iterator[bytes]]:
    """A body that sends one byte per `every` seconds."""

    def gen() -> Iterator[bytes]:
        for i in range(len(data)):
            yield data[i : i + 1]
            time.sleep(every)

    return gen


def endless(chunk: bytes = b"x" * 65536) -> Callable[[], Iterator[bytes]]:
    def gen() -> Iterator[bytes]:
        while True:
            yield chunk

    return gen
