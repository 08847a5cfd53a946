"""Keep a process on loopback: refuse any TCP connection that is not to 127.0.0.1 or ::1.

Tests of the job system start real Celery workers; this guard is installed in them
(see guarded_celery.py) and in the test process, so that even if the fetcher's own
address checks failed, nothing could leave the machine. `FAKE_DNS` maps test host
names to addresses (e.g. private.test=10.0.0.5) so the fetcher can be shown a name
that resolves to a private address without any real lookup.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo

attempts: list[Any] = []  # non-loopback addresses something tried to dial


class LeftLoopback(AssertionError):
    pass


def _is_loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX path
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False  # a host name reaching connect() unresolved: refuse it too


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        attempts.append(address)
        raise LeftLoopback(f"test guard: refused a connection to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_loopback(address):
        attempts.append(address)
        raise LeftLoopback(f"test guard: refused a connection to {address!r}")
    return _real_connect_ex(self, address)


def fake_dns() -> dict[str, str]:
    pairs = [p.split("=", 1) for p in os.environ.get("FAKE_DNS", "").split(",") if "=" in p]
    return {host.strip().lower(): ip.strip() for host, ip in pairs}


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    mapped = fake_dns().get(str(host).lower()) if host else None
    if mapped:
        family = socket.AF_INET6 if ":" in mapped else socket.AF_INET
        sockaddr = (
            (mapped, int(port or 0), 0, 0)
            if family == socket.AF_INET6
            else (
                mapped,
                int(port or 0),
            )
        )
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
    if host and str(host).endswith(".test"):
        raise socket.gaierror(socket.EAI_NONAME, "test guard: unknown .test host")
    return _real_getaddrinfo(host, port, *args, **kwargs)


def install() -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


def uninstall() -> None:
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _real_getaddrinfo  # type: ignore[assignment]
