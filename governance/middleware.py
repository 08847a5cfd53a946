"""Pages degrade to a clear 503 instead of a 500 or a hang: a query over the analysts'
statement timeout, or a database that cannot be reached."""

from __future__ import annotations

import sys
from collections.abc import Callable

import psycopg2.errors
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from governance import database_health
from governance.database_errors import database_unavailable

# Staff pages (admin, review) may legitimately run long; static files touch no database.
EXEMPT_PREFIXES = ("/admin/", "/static/")


class _TimedOut(HttpResponse):
    """Placeholder returned from inside the aborted transaction; replaced after it."""


class AnalystQueryTimeout:
    """Wrap each public GET in one read transaction with `SET LOCAL statement_timeout`.

    A cancelled query aborts the transaction, so the clear "too slow" page is rendered
    only after the transaction has been rolled back (the page itself reads the session).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timeout_ms = settings.ANALYST_QUERY_TIMEOUT_MS
        if (
            not timeout_ms
            or request.method not in ("GET", "HEAD")
            or request.path.startswith(EXEMPT_PREFIXES)
        ):
            return self.get_response(request)
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # JIT off: on large data the facet query's cost estimates pass the JIT
                    # thresholds and compiling costs more than running it
                    # (bench/analyst-queries.md).
                    cursor.execute(
                        "SELECT set_config('statement_timeout', %s, true), "
                        "set_config('jit', 'off', true)",
                        [str(timeout_ms)],
                    )
                response = self.get_response(request)
                if isinstance(response, _TimedOut):
                    transaction.set_rollback(True)
        except (DatabaseError, InterfaceError) as exc:
            # The server went while the transaction was open (or at its commit).
            if not database_unavailable(exc):
                raise
            return DatabaseUnavailable.unavailable(request)
        if isinstance(response, _TimedOut):
            htmx = getattr(request, "htmx", None)
            fragment = htmx and not htmx.history_restore_request
            template = "partials/query_timeout.html" if fragment else "query_timeout.html"
            response = render(request, f"governance/{template}", status=503)
            patch_vary_headers(response, ["HX-Request"])
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError) and isinstance(
            exception.__cause__, psycopg2.errors.QueryCanceled
        ):
            return _TimedOut(status=503)
        return None


# Seconds after which a client may try again while the database is unreachable.
RETRY_AFTER = 5


def _database_reachable() -> bool:
    """Connect (or keep the connection) and check it; False if PostgreSQL is not there.

    With CONN_HEALTH_CHECKS the persistent connection is pinged once per request anyway;
    doing it first here costs nothing more. Bounded: a new connection by connect_timeout
    (or at once while the database is known to be down), the ping on a server that
    stopped answering by the watchdog of governance/database_health.py."""
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except (OperationalError, InterfaceError):
        connection.close_if_unusable_or_obsolete()
        return False
    return True


def _connection_broken() -> bool:
    """The request's connection failed mid-way (psycopg2 marks it closed)."""
    raw = connection.connection
    return raw is not None and bool(raw.closed)


def _note_database_lost(sender: object, request: HttpRequest | None = None, **_: object) -> None:
    """Django turns an exception in an inner middleware into a 500 response before this
    middleware sees it; remember when it was the database's doing."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and database_unavailable(exc):
        request._database_lost = True  # type: ignore[attr-defined]


got_request_exception.connect(_note_database_lost, dispatch_uid="database_lost")


class DatabaseUnavailable:
    """While PostgreSQL is down (restarting, unplugged, hung), every page answers a clear
    503 within seconds and recovers by itself as soon as it is back. A request that loses
    the database midway gets the same page instead of a 500, whatever raised the error:
    a view, a template, an inner middleware, the transaction's end.

    While governance/database_health.py holds a "down" verdict (another request found
    out, in this process or another), the answer is immediate: nothing touches the
    database. It sits before the session, auth and message middlewares, whose work at a
    response's end can also meet the lost database, and renders without the session or
    the user, which live in the unreachable database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/static/"):
            return self.get_response(request)
        if database_health.is_down() or not _database_reachable():
            return self.unavailable(request)
        response = self.get_response(request)
        if response.status_code == 500 and (
            getattr(request, "_database_lost", False)
            or database_health.is_down()
            or _connection_broken()
            or not _database_reachable()
        ):
            return self.unavailable(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if (
            database_unavailable(exception)
            or database_health.is_down()
            or _connection_broken()
            or (isinstance(exception, DatabaseError) and not _database_reachable())
        ):
            return self.unavailable(request)
        return None

    @staticmethod
    def unavailable(request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"detail": "The database is unavailable; try again shortly."}, status=503
            )
        else:
            # From the headers: this runs before django-htmx's middleware sets request.htmx.
            fragment = (
                request.headers.get("HX-Request") == "true"
                and request.headers.get("HX-History-Restore-Request") != "true"
            )
            name = "partials/database_unavailable.html" if fragment else "database_unavailable.html"
            # No request context: its processors would read the session and the user.
            html = render_to_string(f"governance/{name}", {"retry_after": RETRY_AFTER})
            response = HttpResponse(html, status=503)
            patch_vary_headers(response, ["HX-Request"])
        response["Retry-After"] = str(RETRY_AFTER)
        response["Cache-Control"] = "no-store"
        return response
