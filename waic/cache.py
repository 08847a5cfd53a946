"""Django's Redis cache, made to fail soft: while Redis is unreachable a read is a miss and
a write does nothing, after at most the socket timeouts in CACHES' OPTIONS.

The cache holds nothing that must survive (counts, pages, API rate-limit counters), so
pages keep working through a Redis outage; the API's rate limit is lifted until Redis
returns, and the log says so once a minute per process instead of on every request.
"""

from __future__ import annotations

import functools
import logging
import pickle
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# A value this code cannot read back (written by another version of it, or by hand) is a
# miss too: the cache holds nothing that cannot be computed again.
UNREADABLE = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError)
WARN_EVERY = 60.0
# After Redis failed to answer, this many seconds pass before the next attempt: a page
# makes several cache calls, and each attempt on a server that is gone costs the socket
# timeout (and redis-py's retries) again.
RETRY_AFTER = 2.0
_last_warning = 0.0


def _warn(operation: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY:
        _last_warning = now
        logger.warning(
            "cache unavailable or unreadable (%s failed: %s); serving without it", operation, exc
        )


def _soft(
    method: Callable[..., Any], fallback: Callable[..., Any], *, reads: bool = False
) -> Callable[..., Any]:
    """`method`, answering fallback(*args, **kwargs) when Redis cannot be reached (or,
    for a read, when a value cannot be unpickled)."""
    caught = UNREACHABLE + UNREADABLE if reads else UNREACHABLE

    @functools.wraps(method)
    def soft(self: RedisCache, *args: Any, **kwargs: Any) -> Any:
        if time.monotonic() < getattr(self, "_skip_until", 0.0):
            return fallback(*args, **kwargs)
        try:
            return method(self, *args, **kwargs)
        except caught as exc:
            if isinstance(exc, UNREACHABLE):
                self._skip_until = time.monotonic() + RETRY_AFTER
            _warn(method.__name__, exc)
            return fallback(*args, **kwargs)

    return soft


def _default(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return kwargs.get("default", default)


class ReusedRedisClient(RedisCacheClient):
    """Django's client builds a new redis.Redis (and its few hundred response callbacks)
    for every cache operation: 150 µs on this project's 2-core host, more than the
    round trip to Redis itself, paid by every page served from the cache. One redis.Redis
    per connection pool serves every call instead: it takes a connection from the pool
    for each command, so threads can share it, and the pool notices a fork."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = super().get_client(key, write=write)
        return client


class TolerantRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedRedisClient

    get = _soft(RedisCache.get, _default, reads=True)
    get_many = _soft(RedisCache.get_many, lambda *a, **k: {}, reads=True)
    has_key = _soft(RedisCache.has_key, lambda *a, **k: False)
    add = _soft(RedisCache.add, lambda *a, **k: False)
    set = _soft(RedisCache.set, lambda *a, **k: None)
    # Django's contract: the keys that could not be set.
    set_many = _soft(RedisCache.set_many, lambda data, *a, **k: list(data))
    touch = _soft(RedisCache.touch, lambda *a, **k: False)
    delete = _soft(RedisCache.delete, lambda *a, **k: False)
    delete_many = _soft(RedisCache.delete_many, lambda *a, **k: None)

    def _with_redis(self, operation: Callable[[Any], Any]) -> Any:
        return operation(self._cache.get_client(write=True))

    # operation(the redis.Redis client) for what the cache API lacks (a hash, say), under
    # the same rules: None while Redis cannot be reached. Keys: make_key() them first.
    with_redis = _soft(_with_redis, lambda *a, **k: None)
