"""Pages while PostgreSQL cannot be reached: a clear 503 at once, then back by themselves
(issue #8, scenario 3). The connection really fails: it is pointed at a port nobody
listens on, then back. tests/test_outages.py kills a real server under `manage.py up`."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from governance import database_health
from tests.ingest.worker import terminate_own_connection
from waic.services import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def database_down() -> Iterator[None]:
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    yield
    connection.close()
    connection.settings_dict["PORT"] = port
    database_health.reset()  # the verdict the failed connections left


def test_pages_api_and_fragments_answer_503_while_the_database_is_down(
    database_down: None,
) -> None:
    client = Client(raise_request_exception=False)
    for path in ("/", "/statements/", "/countries/cn/", "/review/", "/admin/"):
        started = time.monotonic()
        response = client.get(path)
        assert time.monotonic() - started < 5, path
        assert response.status_code == 503, path
        assert response["Retry-After"] == "5"
        page = response.content.decode()
        assert "The tracker's database is not answering" in page
        assert '<meta http-equiv="refresh" content="5">' in page  # it reloads itself
        assert response["Content-Security-Policy"]  # still under the policy
    fragment = client.get("/statements/?country=cn", headers={"HX-Request": "true"})
    assert fragment.status_code == 503 and b"<html" not in fragment.content
    assert b"not answering" in fragment.content and b"reloads itself" not in fragment.content
    api = client.get("/api/statements")
    assert api.status_code == 503
    assert api.json() == {"detail": "The database is unavailable; try again shortly."}
    # A form post too: nothing half-done, the same clear answer.
    assert client.post("/accounts/login/", {"username": "a", "password": "b"}).status_code == 503


def test_a_connection_the_server_dropped_is_replaced_on_the_next_request() -> None:
    client = Client()
    assert client.get("/statements/").status_code == 200
    pid = terminate_own_connection()  # the persistent connection, as a restart does
    # What a real server does as each request starts (Django's test client leaves it out
    # to keep a test's transaction): mark the persistent connection for a health check.
    close_old_connections()
    assert client.get("/statements/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
