from __future__ import annotations

from collections.abc import Iterator

import pytest

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
