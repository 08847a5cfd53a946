"""Analyst pages run their queries under a statement timeout (issue: "a slow query
degrades to a clear message, not a 500")."""

from __future__ import annotations

from collections.abc import Callable

import psycopg2.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

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
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)", [str(timeout_ms)]
                )
            response = self.get_response(request)
            if isinstance(response, _TimedOut):
                transaction.set_rollback(True)
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
