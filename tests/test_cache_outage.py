"""Redis down: the cache (the API's rate-limit counters) answers "miss" at once, so pages
and the API keep working (issue #8, scenario 2)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from django.test import Client

from waic.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable_cache(settings: object) -> None:
    # A port nobody listens on: connections are refused, as when Redis is stopped.
    location = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": location}}


def test_an_unreachable_cache_misses_and_forgets_quickly(unreachable_cache: None) -> None:
    cache = caches["default"]
    started = time.monotonic()
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get("k", default="fallback") == "fallback"
    cache.set("k", 1)
    assert cache.add("k", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # Django's "could not set" list
    assert cache.delete("k") is False
    assert cache.has_key("k") is False
    assert time.monotonic() - started < 2


def test_pages_and_the_api_answer_while_redis_is_down(unreachable_cache: None) -> None:
    client = Client()
    for path in ("/", "/statements/", "/api/statements", "/api/countries"):
        response = client.get(path)
        assert response.status_code == 200, path


def test_a_reachable_cache_still_caches() -> None:
    cache = caches["default"]
    cache.set("outage-probe", 42, 10)
    assert cache.get("outage-probe") == 42
    cache.delete("outage-probe")


def test_a_value_that_cannot_be_read_back_is_a_miss() -> None:
    """Written by hand or by another version of the code: computed again, not a 500."""
    cache = caches["default"]
    key = cache.make_and_validate_key("unreadable-probe")
    cache._cache.get_client(key, write=True).set(key, b"\x80not a pickle")
    assert cache.get("unreadable-probe", "default") == "default"
    assert cache.get_many(["unreadable-probe"]) == {}
    cache.delete("unreadable-probe")


def test_after_a_failure_the_cache_is_skipped_for_a_while(
    unreachable_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page makes several cache calls; only the first pays for the dead server."""
    cache = caches["default"]
    assert cache.get("k") is None
    attempts = []
    monkeypatch.setattr(type(cache._cache), "get", lambda *a, **k: attempts.append(1))
    for _ in range(5):
        assert cache.get("k", "fallback") == "fallback"
    assert attempts == []
    monkeypatch.setattr(cache, "_skip_until", 0.0)
    cache.get("k")
    assert attempts == [1]  # tried again once the pause is over


def test_one_redis_client_serves_every_operation_and_thread() -> None:
    """waic.cache.ReusedRedisClient: not a new redis.Redis per call, as Django's makes."""
    from concurrent.futures import ThreadPoolExecutor

    cache = caches["default"]
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client("any-key", write=True) is client

    def round_trip(n: int) -> int:
        cache.set(f"reuse-probe-{n}", n, 10)
        return cache.get(f"reuse-probe-{n}")

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(round_trip, range(64))) == list(range(64))
    # Its connections dropped (Redis restarted, a network blip): the next call reconnects.
    client.connection_pool.disconnect()
    assert cache.get("reuse-probe-3") == 3
    cache.delete_many([f"reuse-probe-{n}" for n in range(64)])
