"""Whole analyst pages for anonymous visitors, cached in Redis until the data they show
changes (the count cache's revisions, governance/count_cache.py) or PAGE_TTL passes.

Only GETs of the pages listed in PAGES, from visitors without a session or message cookie,
answered 200 with HTML and no cookie of their own (a page that set the CSRF cookie holds a
form token and is never stored). The htmx headers the pages vary on are part of the key,
so a fragment and its full page are cached apart.

Each response keeps its own CSP nonce: the stored page has the nonce of the response that
filled it replaced by a placeholder, and every hit puts the current request's nonce back
(ContentSecurityPolicyMiddleware, outside this one, sends the matching header). A hit
skips the database entirely, so this sits before the database middlewares.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from governance import count_cache

# Seconds a page may be served from the cache at most. Revisions invalidate on every
# change to what a page shows; this bounds what no revision covers (relative dates,
# "documents this week").
PAGE_TTL = 60
MAX_BYTES = 2 * 2**20
NONCE_PLACEHOLDER = "\x00csp-nonce\x00"
CURATED, INGESTED = count_cache.CURATED, count_cache.INGESTED
# URL name -> the revisions its content depends on.
PAGES: dict[str, tuple[str, ...]] = {
    "governance:dashboard": (CURATED, INGESTED),
    "governance:search": (CURATED, INGESTED),
    "governance:compare": (CURATED,),
    "governance:statement_list": (CURATED,),
    "governance:statement_detail": (CURATED,),
    "governance:proposal_list": (CURATED,),
    "governance:proposal_detail": (CURATED,),
    "governance:country_list": (CURATED,),
    "governance:country_detail": (CURATED, INGESTED),  # documents mentioning it
    "governance:participation_list": (CURATED,),
    "governance:person_list": (CURATED,),
    "governance:person_detail": (CURATED,),
    "governance:organization_list": (CURATED,),
    "governance:organization_detail": (CURATED,),
    "governance:event_list": (CURATED,),
    "governance:event_detail": (CURATED,),
    "governance:document_list": (CURATED, INGESTED),
    "governance:document_detail": (CURATED, INGESTED),
}
VARY_HEADERS = ("HTTP_HX_REQUEST", "HTTP_HX_TARGET", "HTTP_HX_HISTORY_RESTORE_REQUEST")
KEPT_HEADERS = ("Content-Type", "Vary", "Content-Language", "X-Robots-Tag")


class AnonymousPageCache:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        revisions = self._revisions_for(request)
        if revisions is None:
            return self.get_response(request)
        key = self._key(request, revisions)
        stored = cache.get(key)
        if stored is not None:
            return self._replay(request, stored)
        response = self.get_response(request)
        if self._storable(response):
            body = response.content.decode(response.charset)
            nonce = getattr(request, "_csp_nonce", None)
            if nonce:  # generated, so the page carries it
                body = body.replace(str(nonce), NONCE_PLACEHOLDER)
            headers = {h: response[h] for h in KEPT_HEADERS if h in response}
            cache.set(key, (body, headers), PAGE_TTL)
            response["X-Page-Cache"] = "miss"
        return response

    @staticmethod
    def _revisions_for(request: HttpRequest) -> tuple[str, ...] | None:
        if request.method != "GET" or "HTTP_AUTHORIZATION" in request.META:
            return None
        cookies = request.COOKIES
        if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
            return None  # maybe signed in, or a message to show once
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        return PAGES.get(match.view_name)

    @staticmethod
    def _key(request: HttpRequest, revisions: tuple[str, ...]) -> str:
        varying = "|".join(request.META.get(h, "") for h in VARY_HEADERS)
        current = ":".join(count_cache.revision(kind) for kind in revisions)
        raw = f"{request.get_full_path()}|{varying}".encode()
        digest = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        return f"page:{current}:{digest}"

    @staticmethod
    def _storable(response: HttpResponse) -> bool:
        return (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and response.get("Content-Type", "").startswith("text/html")
            and "no-store" not in response.get("Cache-Control", "")
            and len(response.content) <= MAX_BYTES
        )

    @staticmethod
    def _replay(request: HttpRequest, stored: tuple[str, dict[str, str]]) -> HttpResponse:
        body, headers = stored
        if NONCE_PLACEHOLDER in body:
            body = body.replace(NONCE_PLACEHOLDER, str(request._csp_nonce))
        response = HttpResponse(body)
        for name, value in headers.items():
            response[name] = value
        response["X-Page-Cache"] = "hit"
        return response
