"""Render a full page, or only the named partial when htmx asks for it (docs/architecture.md §4)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partials: tuple[str, ...] = (),
) -> TemplateResponse:
    """The page, or `template#<target>` for an htmx request targeting one of `partials`.

    History-restore requests always get the full page, since htmx swaps them
    into the whole body.
    """
    htmx = getattr(request, "htmx", None)
    name = template
    if htmx and not htmx.history_restore_request and htmx.target in partials:
        name = f"{template}#{htmx.target}"
    response = TemplateResponse(request, name, context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response
