"""waic/service_watch.py: what `manage.py up` says when PostgreSQL or Redis goes away,
with real servers (an embedded Valkey killed and restarted, a port nobody listens on)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from waic import services
from waic.service_watch import ServiceWatch, postgres_reachable, redis_reachable


class Clock:
    """Each reading is a probe interval later, so every check() probes."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0
        return self.now


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[services.EmbeddedRedis]:
    server = services.EmbeddedRedis(
        tmp_path / "redis",
        port=services.free_port(),
        log_file=tmp_path / "redis.log",
        durable=False,
    )
    server.start()
    yield server
    server.stop()


def test_a_server_of_the_users_is_reported_gone_and_back(valkey: services.EmbeddedRedis) -> None:
    said: list[str] = []
    watch = ServiceWatch(said.append, {"REDIS_URL": valkey.url}, clock=Clock())
    watch.check()
    assert said == []
    valkey.stop()
    watch.check()
    watch.check()  # said once, not on every probe
    assert len(said) == 1
    assert said[0].startswith(f"Redis at 127.0.0.1:{valkey.port} is unreachable (")
    assert said[0].endswith("pages keep working; fetches and emails wait until it is back")
    valkey.start()
    watch.check()
    assert said[1].startswith(f"Redis at 127.0.0.1:{valkey.port} is back after ")
    assert len(said) == 2


def test_an_embedded_server_that_dies_is_restarted_on_its_port(
    valkey: services.EmbeddedRedis,
) -> None:
    said: list[str] = []
    embedded = services.EmbeddedServices(redis=valkey)
    watch = ServiceWatch(said.append, embedded.environ, embedded, clock=Clock())
    port = valkey.port
    os.kill(valkey.pids()[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while valkey.server() is not None:  # the kernel takes a moment to end it
        assert time.monotonic() < deadline
        time.sleep(0.02)
    watch.check()
    assert said[:2] == [
        f"the embedded Redis (127.0.0.1:{port}) stopped (its process is gone): "
        "pages keep working; fetches and emails wait until it is back",
        "restarting the embedded redis",
    ]
    # As up's loop does (every 0.2 s): a restart that found the dying server still
    # answering is retried on a later check.
    deadline = time.monotonic() + 20
    while not said[-1].startswith("the embedded Redis") or "is back" not in said[-1]:
        assert time.monotonic() < deadline, said
        time.sleep(0.2)
        watch.check()
    assert said[-1].startswith(f"the embedded Redis (127.0.0.1:{port}) is back after ")
    assert redis_reachable(valkey.url) is None and valkey.port == port


def test_an_embedded_server_that_hangs_is_waited_for_not_restarted(
    valkey: services.EmbeddedRedis,
) -> None:
    said: list[str] = []
    embedded = services.EmbeddedServices(redis=valkey)
    watch = ServiceWatch(said.append, embedded.environ, embedded, clock=Clock())
    pid = valkey.pids()[0]
    os.kill(pid, signal.SIGSTOP)
    try:
        watch.check()
        watch.check()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert len(said) == 1, said
    assert said[0].startswith(f"the embedded Redis (127.0.0.1:{valkey.port}) is unreachable (")
    watch.check()
    assert said[1].startswith(f"the embedded Redis (127.0.0.1:{valkey.port}) is back after ")
    assert valkey.pids() == [pid]  # the same process: nothing was restarted


def test_an_unreachable_postgres_says_why_and_what_it_means() -> None:
    url = f"postgres://postgres@127.0.0.1:{services.free_port()}/waic"
    assert "Connection refused" in (postgres_reachable(url) or "")
    said: list[str] = []
    ServiceWatch(said.append, {"DATABASE_URL": url}, clock=Clock()).check()
    assert len(said) == 1 and "is unreachable (" in said[0]
    assert said[0].endswith("pages answer 503 and jobs wait until it is back; nothing is lost")
