"""Every error the API gives is JSON with a `detail` message: bad input is a 400 that
says which parameter and why, a query cancelled by the statement timeout a 503."""

from __future__ import annotations

from typing import Any

import psycopg2.errors
from django.db import Error, connection, transaction
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError


class ParamError(Schema):
    param: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ParamError] = []


class ApiError(HttpError):
    """An HttpError with the parameter errors behind it."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None):
        super().__init__(status, detail)
        self.errors = errors or []


def form_errors(form: Any) -> ApiError:
    """400 for a Django filter form's errors, named by their query parameter."""
    public = {"date_from": "from", "date_to": "to"}
    errors = [
        {"param": public.get(name, name), "message": " ".join(messages)}
        for name, messages in form.errors.items()
    ]
    return ApiError(400, "Invalid query parameters.", errors)


# Parts of a validation error's location that are not query parameters.
_SOURCES = {"query", "path", "params", "ninja_pagination"}


def _validation_error(request: HttpRequest, exc: ValidationError, api: NinjaAPI) -> HttpResponse:
    errors = []
    for error in exc.errors:
        # loc is e.g. ("query", "params", "year", 0): name the query parameter only.
        names = [p for p in error.get("loc", ()) if isinstance(p, str) and p not in _SOURCES]
        errors.append({"param": names[-1] if names else "request", "message": error.get("msg", "")})
    body = {"detail": "Invalid request parameters.", "errors": errors}
    return api.create_response(request, body, status=400)


def _http_error(request: HttpRequest, exc: HttpError, api: NinjaAPI) -> HttpResponse:
    body = {"detail": exc.message, "errors": getattr(exc, "errors", [])}
    return api.create_response(request, body, status=exc.status_code)


def _database_error(request: HttpRequest, exc: Error, api: NinjaAPI) -> HttpResponse:
    # Anything else, a lost database included, goes on to the middlewares (a JSON 503 from
    # governance.middleware.DatabaseUnavailable), not to ninja's own 500.
    if not isinstance(exc.__cause__, psycopg2.errors.QueryCanceled):
        raise exc
    # The cancelled query aborted the request's transaction (AnalystQueryTimeout's): roll it
    # back rather than let the middleware try to commit it.
    if connection.in_atomic_block:
        transaction.set_rollback(True)
    body = {"detail": "That query took too long; narrow the filters and try again."}
    return api.create_response(request, body, status=503)


def install(api: NinjaAPI) -> None:
    api.add_exception_handler(ValidationError, lambda r, e: _validation_error(r, e, api))
    api.add_exception_handler(HttpError, lambda r, e: _http_error(r, e, api))
    api.add_exception_handler(Error, lambda r, e: _database_error(r, e, api))
