"""Which IP addresses the fetcher may connect to: the SSRF address policy in one place,
with the host-to-address step (literal spellings, then DNS) it is applied to.

Only globally routable unicast addresses pass. Addresses that wrap an IPv4 address
(IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the address they wrap, so
`::ffff:10.0.0.1` or `64:ff9b::a00:1` cannot smuggle a private target past the check.
`allow_loopback` (settings.INGEST_ALLOW_LOOPBACK, for the local test server) opens
exactly 127.0.0.0/8 and ::1, nothing else.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from concurrent.futures import Future

from urllib3.util.connection import allowed_gai_family

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
# Special-purpose ranges that Python's is_global still calls global (or may, on older
# interpreters); the list follows requests-hardened's EXTRA_BLOCKED_NET_RANGES.
_SPECIAL = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (PCP, TURN anycast)
    ipaddress.ip_network("192.88.99.0/24"),  # 6to4 relay anycast
    ipaddress.ip_network("2001:20::/28"),  # ORCHIDv2 overlay identifiers
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637)
    ipaddress.ip_network("5f00::/16"),  # IPv6 segment routing
)
# Hosts that the C resolver (inet_aton) reads as IPv4 even though they are not dotted
# quads: 2130706433, 0x7f.1, 127.1, 0177.0.0.1. Letters other than hex digits and x
# mean a host name.
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+", re.IGNORECASE)


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host spells literally, or None when it is a name to resolve.

    Reads the legacy IPv4 forms the way the system resolver would, so that
    `http://0x7f.1/` is judged as 127.0.0.1 without asking DNS anything.
    """
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def resolve(host: str, *, timeout: float) -> list[IPAddress]:
    """Every address `host` resolves to. Raises TimeoutError past `timeout`, OSError
    (socket.gaierror) when the name does not resolve, UnicodeError for a bad name."""
    # getaddrinfo has no timeout of its own: a daemon thread lets the caller's deadline
    # cover it (and, unlike a pool, is fork-safe under Celery's prefork and is never
    # joined at exit).
    future: Future[list[tuple]] = Future()

    def lookup() -> None:
        try:  # socket.getaddrinfo is read at call time, so a patched resolver is honoured
            future.set_result(
                socket.getaddrinfo(host, None, allowed_gai_family(), socket.SOCK_STREAM)
            )
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=lookup, name="ingest-dns", daemon=True).start()
    infos = future.result(timeout=timeout)
    answers = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not answers:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return answers


def unwrap(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 endpoint itself: connect to that."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def blocked_reason(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why the fetcher must not connect to `ip`, or None when it may."""
    ip = unwrap(ip)
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = _wrapped_ipv4(ip)
        if wrapped is not None:
            kind, v4 = wrapped
            # The wrapped address is reached through a translator, never via our own
            # loopback, so the loopback allowance does not extend to it.
            inner = blocked_reason(v4, allow_loopback=False)
            if inner is not None:
                return f"a {kind} address of {v4}, {inner}"
            if ip in _NAT64:
                return None  # NAT64 of a public address: legitimate on IPv6-only hosts
            return f"a deprecated {kind} address"
    if ip.is_loopback:
        return None if allow_loopback else "a loopback address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_link_local:
        return "a link-local address (this includes cloud metadata at 169.254.169.254)"
    if ip in _CGNAT:
        return "a carrier-grade NAT (shared) address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global or any(ip in net for net in _SPECIAL):
        return "a private or special-purpose address"
    return None


def _wrapped_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    if ip in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    # ::/96 holds the IPv4-compatible addresses, but also :: and ::1 themselves.
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", ipaddress.IPv4Address(int(ip))
    return None
