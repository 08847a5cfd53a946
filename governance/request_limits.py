"""A form too large to read gets a page naming the limit (413), not a bare 400.

Django raises RequestDataTooBig wherever the form is first read (the CSRF check, for
nearly every POST) and answers it with a plain 400, or with its debug page when DEBUG is
on. This middleware, placed before the NUL check and the CSRF check, reads the form
first and answers the error itself, with DEBUG on or off. Nothing reads a request's raw
body after its form in this project, so reading the form earlier changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class RequestTooLarge:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.content_type in FORM_TYPES:
            try:
                request.POST  # noqa: B018 (read here, so that a too large form is caught here)
            except RequestDataTooBig:
                return too_large()
        return self.get_response(request)


def too_large() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
    # No request context: the session and the user are not attached yet.
    html = render_to_string(
        "governance/request_too_large.html", {"limit_mb": f"{limit / 1024 / 1024:g}"}
    )
    response = HttpResponse(html, status=413)
    response["Cache-Control"] = "no-store"
    return response
