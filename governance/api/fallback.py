"""What /api/ answers outside its operations: an index at /api/ and JSON 404s, so a
client never has to parse the site's HTML error page."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

RESOURCES = (
    "proposals",
    "countries",
    "people",
    "organizations",
    "statements",
    "participation",
    "events",
    "documents",
)


def index(request: HttpRequest) -> JsonResponse:
    base = request.build_absolute_uri("/api/")
    return JsonResponse(
        {
            "docs": base + "docs",
            "schema": base + "schema",
            "resources": {name: base + name for name in RESOURCES},
        }
    )


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return JsonResponse(
        {
            "detail": f"No API endpoint at {request.path}; see /api/docs for the list.",
            "errors": [],
        },
        status=404,
    )
