"""governance.ingest.fetch: the SSRF guard, the deadline, the size cap, conditional GET.

NETWORK RULE: nothing here may send a packet anywhere but 127.0.0.1/::1. The autouse
`net` fixture replaces the resolver (names resolve only to what a test says; no real
DNS) and guards socket.socket.connect, the one call every Python TCP connection goes
through (socket.create_connection and urllib3's create_connection included): a dial
to anything but loopback fails the test, unless the test asked for that address to be
intercepted, in which case it is recorded and refused without being dialled.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests.adapters
import urllib3
from django.conf import settings

from governance.ingest import addresses
from governance.ingest.errors import FailureReason, FetchError
from governance.ingest.fetch import FetchResult, fetch
from tests.ingest.payload_server import PayloadServer, drip, endless

# A globally routable address for the resolver to hand out. It is never dialled: the
# guard intercepts it. (Documentation ranges like 203.0.113.0/24 are not global, so
# the fetcher rightly refuses them before any dial; they cannot stand in for public.)
PUBLIC = "93.184.215.14"
LOOPBACK = {"127.0.0.1", "::1"}


class LeftLoopback(AssertionError):
    """A connection to something other than loopback was attempted."""


@dataclass
class Net:
    # name -> successive answers; the last answer repeats.
    records: dict[str, list[list[str]]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)
    intercept: set[str] = field(default_factory=set)
    violations: list[Any] = field(default_factory=list)

    def resolve(self, host: str, *answers: list[str]) -> None:
        self.records[host] = list(answers)


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch) -> Iterator[Net]:
    net = Net()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, port: Any, family: int = 0, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        net.lookups.append(name)
        try:
            ipaddress.ip_address(name)
            answer = [name]  # a literal needs no DNS
        except ValueError:
            if name not in net.records:
                raise socket.gaierror(socket.EAI_NONAME, "no such test host") from None
            answers = net.records[name]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        result = []
        for ip in answer:
            if ":" in ip:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port or 0, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port or 0)))
        return result

    def check(address: Any) -> None:
        if not isinstance(address, tuple):
            return  # AF_UNIX
        host = str(address[0])
        net.dialled.append(host)
        if host in LOOPBACK:
            return
        if host in net.intercept:
            raise ConnectionRefusedError(111, "Connection refused (intercepted by the test)")
        net.violations.append(address)
        raise LeftLoopback(f"test guard: refused a connection to {address!r}")

    def connect(sock: socket.socket, address: Any) -> None:
        check(address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        check(address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    yield net
    assert net.violations == [], "something tried to leave loopback"


def expect_failure(reason: FailureReason, call: Callable[[], FetchResult]) -> FetchError:
    with pytest.raises(FetchError) as info:
        call()
    assert info.value.reason == reason, info.value
    return info.value


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


# --- Ordinary fetches ------------------------------------------------------------------


def test_fetch_returns_body_and_validators(payload_server: PayloadServer, allow_loopback: None):
    route = payload_server.add(
        "/feed.xml",
        body=b"<rss/>",
        headers={
            "Content-Type": "Application/RSS+XML; Charset=UTF-8",
            "Last-Modified": "Sat, 26 Jul 2025 08:00:00 GMT",
        },
        etag='"v1"',
    )

    result = fetch(payload_server.url("/feed.xml"), accept="application/rss+xml")

    assert result.status == 200
    assert not result.not_modified
    assert result.url == payload_server.url("/feed.xml")
    assert result.content == b"<rss/>"
    assert (result.content_type, result.charset) == ("application/rss+xml", "utf-8")
    assert result.etag == '"v1"'
    assert result.last_modified == "Sat, 26 Jul 2025 08:00:00 GMT"
    assert 0 < result.elapsed < 5
    sent = route.request_headers[0]
    assert sent["User-Agent"] == settings.INGEST_USER_AGENT
    assert sent["Accept"] == "application/rss+xml"
    encodings = {e.strip() for e in sent["Accept-Encoding"].split(",")}
    assert {"gzip", "deflate"} <= encodings
    # br only when urllib3 can decode it (no brotli package is installed here).
    assert ("br" in encodings) == (urllib3.response.brotli is not None)
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_link_with_surrounding_whitespace_and_a_space_in_the_path(
    payload_server: PayloadServer, allow_loopback: None
):
    payload_server.add("/a%20b", body=b"spaced")
    result = fetch(f"\n  {payload_server.url('/a b')}  \n")
    assert result.content == b"spaced"
    assert result.url == payload_server.url("/a%20b")


def test_missing_content_type(payload_server: PayloadServer, allow_loopback: None):
    payload_server.add("/plain", body=b"x")
    result = fetch(payload_server.url("/plain"))
    assert (result.content_type, result.charset) == ("", None)
    assert (result.etag, result.last_modified) == ("", "")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_body_is_decoded(
    payload_server: PayloadServer, allow_loopback: None, encoding: str
):
    text = b"<p>Global AI governance</p>" * 100
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = compressor.compress(text) + compressor.flush()
    payload_server.add("/page", body=body, headers={"Content-Encoding": encoding})
    assert fetch(payload_server.url("/page")).content == text


def test_not_modified_on_matching_etag(payload_server: PayloadServer, allow_loopback: None):
    route = payload_server.add("/feed", body=b"<rss/>", etag='"v7"')
    result = fetch(payload_server.url("/feed"), etag='"v7"')
    assert result.status == 304
    assert result.not_modified
    assert result.content == b""
    assert route.request_headers[0]["If-None-Match"] == '"v7"'


def test_not_modified_on_last_modified(payload_server: PayloadServer, allow_loopback: None):
    stamp = "Sat, 26 Jul 2025 08:00:00 GMT"
    route = payload_server.add("/feed", status=304)
    result = fetch(payload_server.url("/feed"), last_modified=stamp)
    assert result.not_modified and result.content == b""
    assert route.request_headers[0]["If-Modified-Since"] == stamp


@pytest.mark.parametrize(("status", "transient"), [(404, False), (500, True), (503, True)])
def test_http_error_carries_status(
    payload_server: PayloadServer, allow_loopback: None, status: int, transient: bool
):
    payload_server.add("/x", status=status, body=b"nope")
    error = expect_failure(FailureReason.HTTP_ERROR, lambda: fetch(payload_server.url("/x")))
    assert error.http_status == status
    assert str(status) in error.message
    assert error.transient is transient


def test_unknown_path_is_404(payload_server: PayloadServer, allow_loopback: None):
    error = expect_failure(FailureReason.HTTP_ERROR, lambda: fetch(payload_server.url("/none")))
    assert error.http_status == 404


def test_redirect_without_location_is_an_http_error(
    payload_server: PayloadServer, allow_loopback: None
):
    payload_server.add("/multi", status=300)
    error = expect_failure(FailureReason.HTTP_ERROR, lambda: fetch(payload_server.url("/multi")))
    assert error.http_status == 300


# --- Deadline --------------------------------------------------------------------------


def test_hung_server_times_out_at_the_deadline(payload_server: PayloadServer, allow_loopback: None):
    payload_server.add("/hang", body=b"late", delay=10)
    error, elapsed = timed(lambda: fetch(payload_server.url("/hang"), deadline=1.0))
    assert isinstance(error, FetchError) and error.reason == FailureReason.TIMEOUT
    assert error.transient
    assert 0.9 < elapsed < 1.8


def test_slow_drip_is_cut_at_the_deadline(payload_server: PayloadServer, allow_loopback: None):
    # A byte a second keeps every read alive: only a deadline over the whole body cuts it.
    payload_server.add("/drip", body=drip(b"x" * 30, every=1.0))
    error, elapsed = timed(lambda: fetch(payload_server.url("/drip"), deadline=1.5))
    assert isinstance(error, FetchError) and error.reason == FailureReason.TIMEOUT
    assert 1.4 < elapsed < 2.2


@pytest.fixture
def header_dripper() -> Iterator[str]:
    """A raw server on 127.0.0.1 that sends a status line, then a header byte at a time."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.2):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()
    thread.join(timeout=2)


def test_header_drip_is_cut_at_the_deadline(header_dripper: str, allow_loopback: None):
    error, elapsed = timed(lambda: fetch(header_dripper, deadline=1.0))
    assert isinstance(error, FetchError) and error.reason == FailureReason.TIMEOUT
    assert 0.9 < elapsed < 1.8


def test_deadline_spans_redirects(payload_server: PayloadServer, allow_loopback: None):
    # Each hop is quick enough on its own; together they pass the deadline.
    for i in range(4):
        location = payload_server.url(f"/hop{i + 1}")
        payload_server.add(f"/hop{i}", status=302, headers={"Location": location}, delay=0.4)
    payload_server.add("/hop4", body=b"end")
    error, elapsed = timed(lambda: fetch(payload_server.url("/hop0"), deadline=1.0))
    assert isinstance(error, FetchError) and error.reason == FailureReason.TIMEOUT
    assert elapsed < 1.8


def test_slow_dns_counts_against_the_deadline(monkeypatch: pytest.MonkeyPatch):
    release = threading.Event()

    def hanging_getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        release.wait(5)
        raise socket.gaierror(socket.EAI_AGAIN, "timed out")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_getaddrinfo)
    try:
        error, elapsed = timed(lambda: fetch("http://slow-dns.test/", deadline=0.5))
    finally:
        release.set()
    assert isinstance(error, FetchError) and error.reason == FailureReason.TIMEOUT
    assert elapsed < 1.2


# --- Size cap --------------------------------------------------------------------------


def test_body_at_the_limit_is_accepted(payload_server: PayloadServer, allow_loopback: None):
    payload_server.add("/exact", body=b"y" * 1000)
    assert len(fetch(payload_server.url("/exact"), max_bytes=1000).content) == 1000


def test_body_at_the_limit_is_held_once_not_copied(
    payload_server: PayloadServer, allow_loopback: None
):
    # The body used to be collected in a bytearray and copied into bytes at the end,
    # so an accepted body near the cap briefly cost twice the cap.
    limit = 4 << 20
    payload_server.add("/at-limit", body=b"y" * limit)
    tracemalloc.start()
    try:
        content = fetch(payload_server.url("/at-limit"), max_bytes=limit).content
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(content) == limit
    assert peak < 1.5 * limit


def test_body_without_a_length_stops_at_the_limit(
    payload_server: PayloadServer, allow_loopback: None
):
    # No Content-Length and no chunking: the body ends when the server closes.
    payload_server.add("/unsized", body=b"z" * (8 << 20), close_delimited=True)
    error = expect_failure(
        FailureReason.TOO_LARGE, lambda: fetch(payload_server.url("/unsized"), max_bytes=1 << 20)
    )
    assert "decoded body is larger than the 1048576-byte limit" in error.message


def test_oversized_content_length_is_refused_before_reading(
    payload_server: PayloadServer, allow_loopback: None
):
    payload_server.add("/big", body=b"z" * 2_000_000)
    error = expect_failure(
        FailureReason.TOO_LARGE, lambda: fetch(payload_server.url("/big"), max_bytes=1_000_000)
    )
    assert "announced 2000000 bytes, more than the 1000000-byte limit" in error.message
    assert error.http_status == 200


def test_endless_chunked_body_stops_at_the_limit(
    payload_server: PayloadServer, allow_loopback: None
):
    payload_server.add("/endless", body=endless())
    tracemalloc.start()
    try:
        error, elapsed = timed(
            lambda: fetch(payload_server.url("/endless"), max_bytes=1 << 20, deadline=10)
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(error, FetchError) and error.reason == FailureReason.TOO_LARGE
    assert elapsed < 3
    assert peak < 8 << 20  # bounded: a few times the limit, not the stream


def gzip_bomb(decoded: int = 1 << 30, block: int = 1 << 20) -> Callable[[], Iterator[bytes]]:
    """1 GiB of zeros, gzip-compressed on the fly (about 1 MB on the wire), never stored."""

    def generate() -> Iterator[bytes]:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
        zeros = bytes(block)
        for _ in range(decoded // block):
            yield compressor.compress(zeros)
        yield compressor.flush()

    return generate


def test_gzip_bomb_is_cut_after_max_bytes_decoded(
    payload_server: PayloadServer, allow_loopback: None
):
    payload_server.add("/bomb", body=gzip_bomb(), headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        error, elapsed = timed(lambda: fetch(payload_server.url("/bomb"), max_bytes=4 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(error, FetchError) and error.reason == FailureReason.TOO_LARGE
    assert elapsed < 3
    assert peak < 24 << 20


def test_small_compressed_body_with_huge_decoded_size(
    payload_server: PayloadServer, allow_loopback: None
):
    # Content-Length (about 64 KB) is under the cap; only counting decoded bytes catches it.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15)
    body = compressor.compress(bytes(64 << 20)) + compressor.flush()
    payload_server.add("/deflate-bomb", body=body, headers={"Content-Encoding": "deflate"})
    # The fetcher hangs up with most of the body unread, so the server's next read gets
    # a reset, which socketserver would print; that is the point, so keep it quiet.
    payload_server.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    expect_failure(
        FailureReason.TOO_LARGE,
        lambda: fetch(payload_server.url("/deflate-bomb"), max_bytes=1 << 20),
    )


def test_corrupt_gzip_is_a_clean_error(payload_server: PayloadServer, allow_loopback: None):
    payload_server.add("/bad", body=b"not gzip at all", headers={"Content-Encoding": "gzip"})
    expect_failure(FailureReason.NETWORK_ERROR, lambda: fetch(payload_server.url("/bad")))


# --- Redirects -------------------------------------------------------------------------


def redirect_chain(server: PayloadServer, hops: int) -> str:
    for i in range(hops):
        server.redirect(f"/r{i}", server.url(f"/r{i + 1}"))
    server.add(f"/r{hops}", body=b"end of chain")
    return server.url("/r0")


def test_five_redirects_are_followed(payload_server: PayloadServer, allow_loopback: None):
    result = fetch(redirect_chain(payload_server, settings.INGEST_MAX_REDIRECTS))
    assert result.content == b"end of chain"
    assert result.url == payload_server.url("/r5")


def test_relative_redirect(payload_server: PayloadServer, allow_loopback: None):
    payload_server.redirect("/old", "/new", status=301)
    payload_server.add("/new", body=b"moved")
    assert fetch(payload_server.url("/old")).url == payload_server.url("/new")


def test_six_redirects_are_too_many(payload_server: PayloadServer, allow_loopback: None):
    start = redirect_chain(payload_server, settings.INGEST_MAX_REDIRECTS + 1)
    expect_failure(FailureReason.TOO_MANY_REDIRECTS, lambda: fetch(start))
    assert payload_server.routes["/r6"].hits == 0


@pytest.mark.parametrize(
    "location",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/pub/",
        "gopher://127.0.0.1:6379/_INFO",
        "dict://127.0.0.1:11211/stat",
        "http://user:secret@127.0.0.1/",
    ],
)
def test_redirect_off_http_is_refused(
    payload_server: PayloadServer, allow_loopback: None, net: Net, location: str
):
    payload_server.redirect("/go", location)
    expect_failure(FailureReason.INVALID_URL, lambda: fetch(payload_server.url("/go")))
    assert set(net.dialled) == {"127.0.0.1"}  # only the test server itself
    assert len(net.dialled) == 1


@pytest.mark.parametrize(
    "location",
    [
        "http://internal.test/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://0xa9fea9fe/",
        "//internal.test/",
    ],
)
def test_redirect_to_a_private_address_is_blocked(
    payload_server: PayloadServer, allow_loopback: None, net: Net, location: str
):
    net.resolve("internal.test", ["10.0.0.5"])
    payload_server.redirect("/go", location)
    expect_failure(FailureReason.BLOCKED_ADDRESS, lambda: fetch(payload_server.url("/go")))
    assert net.dialled == ["127.0.0.1"]  # the test server, and nothing after it


# --- SSRF: addresses -------------------------------------------------------------------


def test_loopback_is_refused_by_default(
    payload_server: PayloadServer, net: Net, monkeypatch: pytest.MonkeyPatch
):
    # The default (settings.py) is off; pin it here so a developer's .env cannot change it.
    monkeypatch.setattr(settings, "INGEST_ALLOW_LOOPBACK", False)
    route = payload_server.add("/feed", body=b"<rss/>")
    error = expect_failure(
        FailureReason.BLOCKED_ADDRESS, lambda: fetch(payload_server.url("/feed"))
    )
    assert "loopback" in error.message
    assert route.hits == 0
    assert net.dialled == []


BLOCKED_ANSWERS = [
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.10",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "198.18.0.1",
    "192.0.0.170",
    "203.0.113.5",  # documentation: not routable
    "::",
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "::a00:1",  # IPv4-compatible
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of loopback is not our loopback
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "fe80::1",
    "fec0::1",  # site-local
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("answer", BLOCKED_ANSWERS)
def test_names_resolving_to_blocked_addresses(allow_loopback: None, net: Net, answer: str):
    # Even with the loopback allowance on: it opens loopback and nothing else.
    net.resolve("target.test", [answer])
    expect_failure(FailureReason.BLOCKED_ADDRESS, lambda: fetch("http://target.test/feed"))
    assert net.lookups == ["target.test"]
    assert net.dialled == []


@pytest.mark.parametrize("answer", ["127.0.0.1", "127.9.9.9", "::1"])
def test_names_resolving_to_loopback_without_the_allowance(net: Net, answer: str):
    net.resolve("localhost.test", [answer])
    expect_failure(FailureReason.BLOCKED_ADDRESS, lambda: fetch("http://localhost.test/"))
    assert net.dialled == []


def test_every_answer_is_checked_not_just_the_first(net: Net):
    net.resolve("mixed.test", [PUBLIC, "10.0.0.5"])
    error = expect_failure(FailureReason.BLOCKED_ADDRESS, lambda: fetch("http://mixed.test/"))
    assert "10.0.0.5" in error.message
    assert net.dialled == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://127.1/",
        "http://0177.0.0.1/",
        "http://%31%32%37.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[0:0:0:0:0:ffff:7f00:1]/",
        "http://evil.com@127.0.0.1/",
        "http://127.0.0.1:80@evil.com/",
        "http://evil.com:x@127.0.0.1/",
        "http://0/",
        "http://[::]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://10.1/",
        "http://[fd00::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "https://[::ffff:a9fe:a9fe]/",
    ],
)
def test_literal_spellings_are_refused_without_dns_or_dial(net: Net, url: str):
    with pytest.raises(FetchError) as info:
        fetch(url)
    # Userinfo tricks and zone ids (which the URL parsers read differently) are refused
    # as invalid URLs, the rest by address.
    invalid = "@" in url or "%25" in url
    expected = FailureReason.INVALID_URL if invalid else FailureReason.BLOCKED_ADDRESS
    assert info.value.reason == expected, info.value
    assert net.lookups == []
    assert net.dialled == []


def test_numeric_spelling_dials_the_canonical_address(
    payload_server: PayloadServer, allow_loopback: None, net: Net
):
    payload_server.add("/feed", body=b"ok")
    assert fetch(f"http://2130706433:{payload_server.port}/feed").content == b"ok"
    assert net.dialled == ["127.0.0.1"]
    assert net.lookups == []


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "example.com/feed",
        "//example.test/",
        "ftp://example.test/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://127.0.0.1:6379/_INFO",
        "http:///no-host",
        "http://",
        "http://exa mple.test/",
        "http://example.test/\r\nX-Injected: 1",
        "http://example.test\\@127.0.0.1/",
        "http://user:password@example.test/",
        "http://evil.test@127.0.0.1/",
        "http://example.test:99999/",
        "http://[::1/",
    ],
)
def test_invalid_urls(net: Net, url: str):
    expect_failure(FailureReason.INVALID_URL, lambda: fetch(url))
    assert net.lookups == []
    assert net.dialled == []


# --- SSRF: pinning ---------------------------------------------------------------------


def test_dns_rebinding_cannot_swap_the_validated_address(allow_loopback: None, net: Net):
    # First answer public (validated, then pinned), second answer loopback. The fetcher
    # must dial the first and never ask again; the guard intercepts the public dial.
    net.resolve("rebind.test", [PUBLIC], ["127.0.0.1"])
    net.intercept.add(PUBLIC)
    expect_failure(FailureReason.NETWORK_ERROR, lambda: fetch("http://rebind.test/feed"))
    assert net.lookups == ["rebind.test"]
    assert net.dialled == [PUBLIC]


def test_pin_holds_across_redirects_to_the_same_host(
    payload_server: PayloadServer, allow_loopback: None, net: Net
):
    net.resolve("pinned.test", ["127.0.0.1"], ["10.0.0.5"])
    payload_server.redirect("/a", f"http://pinned.test:{payload_server.port}/b")
    payload_server.add("/b", body=b"same host")
    result = fetch(f"http://pinned.test:{payload_server.port}/a")
    assert result.content == b"same host"
    assert net.lookups == ["pinned.test"]
    assert set(net.dialled) == {"127.0.0.1"}


def test_name_is_kept_for_the_host_header(
    payload_server: PayloadServer, allow_loopback: None, net: Net
):
    net.resolve("feeds.test", ["127.0.0.1"])
    route = payload_server.add("/feed", body=b"ok")
    fetch(f"http://feeds.test:{payload_server.port}/feed")
    assert route.request_headers[0]["Host"] == f"feeds.test:{payload_server.port}"


def test_environment_proxies_are_ignored(
    payload_server: PayloadServer, allow_loopback: None, net: Net, monkeypatch: pytest.MonkeyPatch
):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://10.0.0.5:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    payload_server.add("/feed", body=b"direct")
    assert fetch(payload_server.url("/feed")).content == b"direct"
    assert net.dialled == ["127.0.0.1"]


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PayloadServer]:
    """A payload server speaking TLS with a self-signed certificate for feeds.test only,
    trusted in place of the system bundle for this test."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=feeds.test", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=DNS:feeds.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = PayloadServer()
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(cert))
    server.start()
    yield server
    server.stop()


def test_tls_verifies_the_name_while_dialling_the_pinned_address(
    tls_server: PayloadServer, allow_loopback: None, net: Net
):
    net.resolve("feeds.test", ["127.0.0.1"])
    net.resolve("other.test", ["127.0.0.1"])
    tls_server.add("/feed", body=b"over TLS")
    result = fetch(f"https://feeds.test:{tls_server.port}/feed", deadline=5)
    assert result.content == b"over TLS"
    assert set(net.dialled) == {"127.0.0.1"}
    # Same address, other names: the certificate is checked against the URL's host,
    # not the pinned IP, so these fail.
    for url in (f"https://other.test:{tls_server.port}/feed", tls_server.url("/feed")):
        https = url.replace("http://", "https://")
        error = expect_failure(FailureReason.NETWORK_ERROR, lambda u=https: fetch(u, deadline=5))
        assert "TLS" in error.message


# --- Network errors --------------------------------------------------------------------


def test_unresolvable_host(net: Net):
    error = expect_failure(FailureReason.NETWORK_ERROR, lambda: fetch("http://nowhere.test/"))
    assert "nowhere.test" in error.message
    assert error.transient


def test_connection_refused(allow_loopback: None):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below, so nothing listens there
    error = expect_failure(FailureReason.NETWORK_ERROR, lambda: fetch(f"http://127.0.0.1:{port}/"))
    assert "refused" in error.message.lower()


def test_tls_failure_is_a_network_error(payload_server: PayloadServer, allow_loopback: None):
    # The test server speaks plain HTTP, so the TLS handshake fails.
    payload_server.add("/feed", body=b"x")
    error = expect_failure(
        FailureReason.NETWORK_ERROR,
        lambda: fetch(f"https://127.0.0.1:{payload_server.port}/feed", deadline=3),
    )
    assert "TLS" in error.message


# --- The address policy on its own ------------------------------------------------------


@pytest.mark.parametrize("answer", BLOCKED_ANSWERS)
def test_policy_blocks(answer: str):
    assert addresses.blocked_reason(ipaddress.ip_address(answer), allow_loopback=True)


@pytest.mark.parametrize(
    "answer", [PUBLIC, "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "::ffff:8.8.8.8"]
)
def test_policy_allows_public_addresses(answer: str):
    assert addresses.blocked_reason(ipaddress.ip_address(answer)) is None


def test_loopback_allowance_is_exactly_loopback():
    allow = {"127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"}
    for answer in allow:
        ip = ipaddress.ip_address(answer)
        assert addresses.blocked_reason(ip, allow_loopback=True) is None
        assert addresses.blocked_reason(ip, allow_loopback=False) == "a loopback address"
