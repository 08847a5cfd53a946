"""The browser reaches nothing but 127.0.0.1, and says so when a page tries
(tests/browser/conftest.py: CHROMIUM_ARGS, Watcher.request)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser
from playwright.sync_api import Error as PlaywrightError

from tests.browser.conftest import GUARD_TEST_HOST, Watcher, open_context

pytestmark = [pytest.mark.django_db, pytest.mark.browser]


@pytest.fixture
def counting_server() -> Iterator[tuple[int, list[str]]]:
    """A server on 127.0.0.1 that answers everything and notes the Host of each request."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            body = b"<!doctype html><title>counted</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hosts
    finally:
        server.shutdown()
        server.server_close()


def test_a_request_off_loopback_fails_in_the_browser_and_is_reported(
    browser: Browser, counting_server: tuple[int, list[str]]
) -> None:
    port, hosts = counting_server
    watcher = Watcher()
    context = open_context(browser, watcher)
    page = context.new_page()
    try:
        response = page.goto(f"http://127.0.0.1:{port}/")
        assert response is not None and response.status == 200
        assert f"127.0.0.1:{port}" in hosts
        # The browser resolves this name to the same server: were the proxy setting lost,
        # the request would arrive there, and nothing would have left loopback.
        with pytest.raises(PlaywrightError, match="ERR_PROXY_CONNECTION_FAILED"):
            page.goto(f"http://{GUARD_TEST_HOST}:{port}/")
        assert f"{GUARD_TEST_HOST}:{port}" not in hosts
        blocked = f"request off 127.0.0.1 blocked: http://{GUARD_TEST_HOST}:{port}/"
        assert blocked in watcher.problems
    finally:
        context.close()
