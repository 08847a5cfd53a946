"""Pages while PostgreSQL cannot be reached: a clear 503 at once, then back by themselves
(issue #8, scenario 3). The connection really fails: it is pointed at a port nobody
listens on, then back. tests/test_outages.py kills a real server under `manage.py up`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from django.core.cache import cache
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django.db.transaction import TransactionManagementError
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import database_health
from governance.database_errors import database_unavailable
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


@pytest.fixture
def verdict() -> Iterator[None]:
    """A test that declares the database down: forgotten after, and the connection whose
    socket the declaration shut down replaced."""
    database_health.reset()
    yield
    database_health.reset()
    connection.close()


def test_a_known_outage_is_answered_at_once_and_cleared_by_the_probe(verdict: None) -> None:
    client = Client()
    assert client.get("/statements/").status_code == 200  # this process serves requests
    database_health.mark_down("a test")
    assert cache.get(database_health.CACHE_KEY)  # the other web processes see it too
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/statements/?country=cn", headers={"HX-Request": "true"})
    assert time.monotonic() - started < 0.5
    assert response.status_code == 503 and b"not answering" in response.content
    assert len(queries) == 0  # nothing waited on the database
    with pytest.raises(OperationalError):  # no new connection attempted meanwhile
        connection.close()
        connection.ensure_connection()
    # The database does answer: the watchdog's probe lifts the verdict within a second.
    deadline = time.monotonic() + 3
    while database_health.is_down() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not database_health.is_down()
    assert cache.get(database_health.CACHE_KEY) is None
    assert client.get("/statements/").status_code == 200


def test_another_process_verdict_is_read_before_connecting(verdict: None) -> None:
    Client().get("/")
    cache.set(database_health.CACHE_KEY, time.time() + 3, 4)  # as another process does
    connection.close()
    started = time.monotonic()
    with pytest.raises(OperationalError):
        connection.ensure_connection()
    assert time.monotonic() - started < 0.5
    assert database_health.is_down()


def test_lost_connections_are_told_from_errors_in_the_query() -> None:
    def raised(action: Callable[[], object]) -> BaseException:
        try:
            action()
        except Exception as exc:
            return exc
        raise AssertionError("nothing raised")

    def query(sql: str) -> Callable[[], object]:
        def run() -> object:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

        return run

    refused = raised(lambda: psycopg2.connect(host="127.0.0.1", port=free_port(), user="x"))
    assert database_unavailable(refused)
    assert not database_unavailable(raised(query("SELECT * FROM no_such_table")))
    assert not database_unavailable(raised(query("SELECT 1/0")))
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 10")
    cancelled = raised(query("SELECT pg_sleep(1)"))
    assert isinstance(cancelled, OperationalError) and not database_unavailable(cancelled)
    connection.close()
    terminate_own_connection()  # the server ends the connection, as a restart does
    dropped = raised(query("SELECT 1"))
    assert isinstance(dropped, OperationalError) and database_unavailable(dropped)
    closed = raised(query("SELECT 1"))  # the same connection used again
    assert isinstance(closed, InterfaceError) and database_unavailable(closed)

    def while_handling() -> None:
        try:
            raise dropped
        except OperationalError:
            raise TransactionManagementError("rolling back failed") from None

    # Raised while handling the lost connection: its context still says what happened.
    assert database_unavailable(raised(while_handling))
    connection.close()
