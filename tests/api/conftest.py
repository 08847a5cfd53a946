"""API test fixtures: the UI dataset, and a rate limit no ordinary test reaches."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from governance.api.throttle import ClientRateThrottle
from tests.governance.ui_data import ui_data

__all__ = ["ui_data"]  # the fixture, imported for pytest

# Every test client calls from 127.0.0.1, so all tests share one throttle bucket.
UNTHROTTLED = "1000000/min"
TEST_CLIENT_ADDRESS = "127.0.0.1"


def clear_throttle(address: str = TEST_CLIENT_ADDRESS) -> None:
    """Forget a client's request history (its key in the Redis cache)."""
    cache.delete(ClientRateThrottle.cache_format % {"scope": "api", "ident": address})


@pytest.fixture(scope="package", autouse=True)
def unthrottled() -> Iterator[None]:
    """For the whole package, module-scoped fixtures included; tests of the limit lower it
    inside. The history is cleared after, so later tests (the browser's, calling the API
    from the docs page at the real limit) do not inherit this package's requests."""
    clear_throttle()
    with override_settings(API_RATE_LIMIT=UNTHROTTLED):
        yield
    clear_throttle()


@pytest.fixture
def api() -> Client:
    return Client()
