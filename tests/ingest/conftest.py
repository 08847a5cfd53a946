from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings

from tests.ingest.payload_server import PayloadServer


@pytest.fixture
def payload_server() -> Iterator[PayloadServer]:
    """A fresh local server per test, stopped afterwards."""
    server = PayloadServer().start()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the fetcher reach 127.0.0.1, as INGEST_ALLOW_LOOPBACK does for the test server."""
    from django.conf import settings

    monkeypatch.setattr(settings, "INGEST_ALLOW_LOOPBACK", True)


@pytest.fixture
def queue_broker() -> Iterator[redis.Redis]:
    """The session's broker, with this session's queue and marker emptied before and after."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    keys = [
        settings.CELERY_TASK_DEFAULT_QUEUE,
        f"waic:queue-marker:{settings.CELERY_TASK_DEFAULT_QUEUE}",
    ]
    client.delete(*keys)
    yield client
    client.delete(*keys)
    client.close()


def queued(broker: redis.Redis) -> int:
    """Messages waiting on this session's queue."""
    return broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
