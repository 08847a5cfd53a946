"""Property tests (Hypothesis) for the SSRF address policy and the canonical-URL dedupe key.

Pure functions only: nothing here resolves a name or opens a socket.
"""

from __future__ import annotations

import ipaddress
import socket
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.ingest import addresses
from governance.ingest.canonical import TRACKING_PARAMS, canonical_url, is_web_url

settings.register_profile("waic", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("waic")

BLOCKED_V4 = [
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",  # link-local, cloud metadata
    "100.64.0.0/10",  # CGNAT
    "224.0.0.0/4",  # multicast
    "0.0.0.0/8",
    "240.0.0.0/4",
    "192.0.0.0/24",
    "198.18.0.0/15",
]
BLOCKED_V6 = ["::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "fec0::/10"]


def addresses_in(network: str) -> st.SearchStrategy[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    net = ipaddress.ip_network(network)
    cls = type(net.network_address)
    first = int(net.network_address)
    return st.integers(first, first + net.num_addresses - 1).map(cls)


blocked_v4 = st.one_of(*(addresses_in(n) for n in BLOCKED_V4))
blocked_v6 = st.one_of(*(addresses_in(n) for n in BLOCKED_V6))
any_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@given(blocked_v4)
def test_private_and_special_ipv4_are_refused(ip: ipaddress.IPv4Address) -> None:
    allowed_loopback = ip.is_loopback
    assert addresses.blocked_reason(ip) is not None
    # The loopback allowance (tests) opens 127.0.0.0/8 and nothing else.
    assert (addresses.blocked_reason(ip, allow_loopback=True) is None) == allowed_loopback


@given(blocked_v6)
def test_private_and_special_ipv6_are_refused(ip: ipaddress.IPv6Address) -> None:
    assert addresses.blocked_reason(ip) is not None


@given(blocked_v4)
def test_wrapped_private_ipv4_is_refused_in_every_ipv6_form(ip: ipaddress.IPv4Address) -> None:
    v4 = int(ip)
    mapped = ipaddress.IPv6Address(0xFFFF << 32 | v4)
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | v4)
    sixtofour = ipaddress.IPv6Address(0x2002 << 112 | v4 << 80 | 1)
    # IPv4-mapped is the IPv4 endpoint itself (the fetcher connects to that): same verdict.
    assert addresses.blocked_reason(mapped) is not None
    for loopback_allowed in (False, True):
        assert (addresses.blocked_reason(mapped, allow_loopback=loopback_allowed) is None) == (
            addresses.blocked_reason(ip, allow_loopback=loopback_allowed) is None
        )
    for translated in (nat64, sixtofour):
        # Even with loopback allowed: these go through a translator, never our loopback.
        assert addresses.blocked_reason(translated, allow_loopback=True) is not None, translated


@given(any_v4)
def test_a_verdict_never_depends_on_the_spelling(ip: ipaddress.IPv4Address) -> None:
    """Decimal, hex, octal and short forms read as the C resolver reads them."""
    n = int(ip)
    a, b, c, d = ip.packed
    spellings = [
        str(n),  # http://2130706433/
        hex(n),  # http://0x7f000001/
        f"{a}.{(b << 16) | (c << 8) | d}",  # http://127.1/ style
        f"{a:#o}.{b:#o}.{c:#o}.{d:#o}".replace("0o", "0"),  # http://0177.0.0.1/
        f"{a:#x}.{b}.{c}.{d}",  # http://0x7f.0.0.1/
    ]
    for spelling in spellings:
        assert addresses.literal_address(spelling) == ip, spelling
    assert addresses.literal_address(f"[::ffff:{ip}]") == ipaddress.IPv6Address(0xFFFF << 32 | n)


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}", fullmatch=True))
def test_host_names_are_never_taken_for_addresses(host: str) -> None:
    if all(ch in string.hexdigits + "x." for ch in host):
        # "a.b", "dead.beef": hex-only names; inet_aton reads none of them (no 0x prefix)
        # unless purely decimal, so the verdict must match the C library's.
        try:
            socket.inet_aton(host)
        except OSError:
            assert addresses.literal_address(host) is None
        return
    assert addresses.literal_address(host) is None


# --- canonical URLs --------------------------------------------------------------

hosts = st.from_regex(r"(www\.)?[a-zA-Z][a-zA-Z0-9-]{0,12}\.(com|org|cn|gov\.uk)", fullmatch=True)
path_chars = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"], exclude_characters="?#"),
    max_size=30,
)
param_names = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.from_regex(r"utm_[a-z]{1,8}", fullmatch=True),
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
)
params = st.lists(
    st.tuples(param_names, st.text(alphabet=string.ascii_letters + "%20é", max_size=8)), max_size=5
)


@st.composite
def web_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    userinfo = draw(st.sampled_from(["", "user@", "user:secret@"]))
    host = draw(hosts)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    path = "/" + draw(path_chars) if draw(st.booleans()) else ""
    query = "&".join(f"{k}={v}" for k, v in draw(params))
    fragment = draw(st.sampled_from(["", "#section", "#"]))
    return f"{scheme}://{userinfo}{host}{port}{path}{'?' + query if query else ''}{fragment}"


@given(web_urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(web_urls())
def test_canonical_url_drops_what_is_not_identity(url: str) -> None:
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    assert is_web_url(canonical)
    assert parts.scheme in ("http", "https")
    assert parts.fragment == "" and "#" not in canonical
    assert "@" not in parts.netloc and "secret" not in canonical  # credentials never stored
    assert parts.hostname == urlsplit(url).hostname.lower()
    assert parts.port not in (80, 443) or (parts.scheme, parts.port) in (
        ("http", 443),
        ("https", 80),
    )
    names = [p.partition("=")[0].lower() for p in parts.query.split("&") if p]
    assert not any(n in TRACKING_PARAMS or n.startswith("utm_") for n in names)
    assert names == sorted(names) or len(set(names)) < len(names)
    assert all(ord(ch) < 128 and not ch.isspace() for ch in canonical)


@given(web_urls(), st.permutations(range(5)))
def test_parameter_order_and_tracking_do_not_change_the_key(url: str, order: list[int]) -> None:
    base, _, query = url.partition("?")
    query, _, _fragment = query.partition("#")
    kept = [p for p in query.split("&") if p]
    shuffled = [kept[i] for i in order if i < len(kept)] + kept[len(order) :]
    assert canonical_url(f"{base}?{'&'.join(shuffled)}&utm_source=x&fbclid=1") == canonical_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "javascript:x", ""])
def test_non_web_urls_are_left_alone_and_never_web(url: str) -> None:
    assert canonical_url(url) == url.strip()
    assert not is_web_url(url)


# --- the content dedupe key ------------------------------------------------------

whitespace = st.text(alphabet=" \t\n\r\u00a0\u2003", min_size=1, max_size=3)


@given(
    st.lists(
        st.text(
            # White space of any kind separates words; control characters and lone
            # surrogates never reach the hash (ingestion's strip_controls removes them).
            alphabet=st.characters(exclude_categories=["Zs", "Zl", "Zp", "Cc", "Cs"]),
            min_size=1,
            max_size=10,
        ),
        min_size=1,
        max_size=20,
    ),
    st.data(),
)
def test_content_key_ignores_white_space_only(words: list[str], data: st.DataObject) -> None:
    from governance.models import Document

    seps = [data.draw(whitespace) for _ in words]
    respaced = "".join(w + s for w, s in zip(words, seps, strict=True))
    assert Document.hash_text(respaced) == Document.hash_text(" ".join(words))
    changed = [*words[:-1], words[-1] + "x"]
    assert Document.hash_text(" ".join(changed)) != Document.hash_text(" ".join(words))
