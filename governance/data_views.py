"""The downloads page (/data/) and the full dataset dumps it offers."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse

from governance import dumps, exports

# Where each list export lives, for the notes on the downloads page.
EXPORT_PAGES = {
    "statements": "governance:statement_list",
    "proposals": "governance:proposal_list",
    "participation": "governance:participation_list",
    "countries": "governance:country_list",
    "documents": "governance:document_list",
}


def downloads(request: HttpRequest) -> TemplateResponse:
    available = dumps.list_dumps()
    context = {
        "latest": available[0] if available else None,
        "older": available[1:],
        "exports": [(spec, reverse(EXPORT_PAGES[spec.name])) for spec in exports.SPECS],
        "tables": dumps.TABLES,
    }
    return TemplateResponse(request, "governance/downloads.html", context)


def dump_download(request: HttpRequest, name: str) -> FileResponse:
    # find_dump accepts only the exact dump file pattern: no path can reach outside
    # DUMPS_DIR, and anything else is simply not found.
    path = dumps.find_dump(name)
    if path is None:
        raise Http404("No dataset dump by that name.")
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="application/zip"
    )
