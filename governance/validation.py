"""Input every view can trust: no NUL characters, integers in ASCII digits and in range.

PostgreSQL refuses a NUL in any string (psycopg2 raises before the query runs), and its
integer columns overflow past their range; Python's `int()` reads Arabic-Indic and other
Unicode digits ("٣" is 3) while `str.isdigit()` accepts "²", which `int()` refuses. Each
of those was a 500 somewhere. `RefuseMalformedInput` answers a NUL anywhere in the path,
the query string or a form with one clear 400 before any view runs; views and forms read
integers with `ascii_int` and `IntegerField` below.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, QueryDict
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

MAX_BIGINT = 2**63 - 1  # PostgreSQL bigint (primary keys, PositiveBigIntegerField)
MAX_INT = 2**31 - 1  # integer
MAX_SMALLINT = 2**15 - 1  # smallint (PositiveSmallIntegerField)
NUL = "\x00"
API_PREFIX = "/api/"

_DIGITS = re.compile(r"[0-9]{1,19}")  # 19 digits hold any bigint; more never parse


def ascii_int(value: object, *, minimum: int = 0, maximum: int = MAX_BIGINT) -> int | None:
    """The non-negative integer written in ASCII digits in `value` (surrounding blanks
    allowed), or None when it is anything else or outside minimum..maximum."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= maximum else None


class IntegerField(forms.IntegerField):
    """Django's IntegerField, reading ASCII digits only (its `int()` takes "٣") and bounded
    to a PostgreSQL bigint unless told a smaller range, so no value overflows a column."""

    default_error_messages = {"invalid": "Enter a whole number in digits 0-9."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", MAX_BIGINT)
        kwargs.setdefault("min_value", -MAX_BIGINT - 1)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip():
            text = value.strip()
            negative = text[:1] == "-"
            digits = text[1:] if negative else text
            if not digits.isascii() or not digits.isdigit():
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            if len(digits.lstrip("0")) > 19:
                # Out of any column's range: said so without asking int() to read it all.
                bound = self.min_value if negative else self.max_value
                validator = MinValueValidator if negative else MaxValueValidator
                validator(bound)(-(10**20) if negative else 10**20)
        return super().to_python(value)


def has_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in data.lists())


NUL_MESSAGE = (
    "The address or the form contains a NUL character (code 0), which no page of this site "
    "accepts. Remove it and try again."
)


# The admin's `_to_field` names the field a popup selects by; Django's change and delete
# views look up an empty one as a field named "" (FieldDoesNotExist, a 500). The admin
# never sends it empty.
TO_FIELD = "_to_field"
TO_FIELD_MESSAGE = "The _to_field parameter, when given, names a field."


def _empty_to_field(data: QueryDict) -> bool:
    return TO_FIELD in data and not all(v.strip() for v in data.getlist(TO_FIELD))


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A clear 400: a JSON body under /api/, else a page (rendered without the session)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message}, status=400)
    html = render_to_string("400.html", {"message": message})
    response = HttpResponseBadRequest(html)
    response["Cache-Control"] = "no-store"
    patch_vary_headers(response, ["HX-Request"])
    return response


class RefuseMalformedInput:
    """A NUL in the path, a query parameter or a form field is refused with a 400 before
    any middleware or view passes it to the database (sessions, page cache, views)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            # The API validates each parameter itself and names it in its 400
            # (governance/api/filters.py); it reads no form and no session.
            return self.get_response(request)
        if NUL in request.path or has_nul(request.GET):
            return bad_request(request, NUL_MESSAGE)
        if _empty_to_field(request.GET):
            return bad_request(request, TO_FIELD_MESSAGE)
        if request.method == "POST":
            try:
                if has_nul(request.POST):
                    return bad_request(request, NUL_MESSAGE)
                if _empty_to_field(request.POST):
                    return bad_request(request, TO_FIELD_MESSAGE)
            except RequestDataTooBig:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
                return bad_request(
                    request,
                    f"The form is larger than this site accepts ({limit / 2**20:.1f} MB at "
                    "most). Go back to keep what you wrote, and send less.",
                )
            except (TooManyFieldsSent, SuspiciousOperation, BadRequest) as error:
                return bad_request(request, f"The form cannot be read: {error}")
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view's refusal (BadRequest, SuspiciousOperation) as the same clear 400, never
        Django's technical page, which DEBUG would otherwise show for it."""
        if isinstance(exception, BadRequest | SuspiciousOperation):
            return bad_request(request, str(exception) or "This request cannot be answered.")
        return None
