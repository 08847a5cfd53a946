"""Whole analyst pages for anonymous visitors, cached in Redis until the data they show
changes (the count cache's revisions, governance/count_cache.py) or its TTL passes
(CURATED_TTL, INGESTED_TTL).

Only GETs of the pages listed in PAGES, from visitors without a session or message cookie,
answered 200 with HTML and no cookie of their own (a page that set the CSRF cookie holds a
form token and is never stored). The htmx headers the pages vary on are part of the key,
so a fragment and its full page are cached apart.

A page is stored under one key whatever the revisions, with the revisions it was rendered
at and when: a hit reads the current revisions and the page in one GET of several keys,
and serves the page if they match and it is younger than its TTL; a newer render
replaces it. A page that is stale only by its age or by newer ingested documents (its
curated revision still matches) is served as it is, for up to STALE_FOR seconds more,
while one request renders it again: under load the others then do not wait for that
render (bench/RESULTS.md: the dashboard's p99 after its minute lapsed). A change to
curated data is never served stale.

Pages carry no CSP nonce (templates/base.html), so a stored page is the same bytes for
everyone and is stored gzipped too, once per fill: a hit costs no compression. (Not
Brotli: installing it makes the ingestion fetcher offer and decode `br` as well, a codec
whose bombs bench/fetch_memory.py does not cover yet.) Should a page ever carry a nonce,
it is stored with a placeholder instead (uncompressed) and every hit gets its own
request's nonce put back, which the CSP header (ContentSecurityPolicyMiddleware, outside
this one) then names. A hit skips the database entirely, so this sits before the
database middlewares.

Dynamic pages are not compressed otherwise: at 1.5-6 ms of CPU for a 150 KB page, gzip
per response would cost more than the whole cached hit (bench/RESULTS.md).
"""

from __future__ import annotations

import gzip
import hashlib
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers

from governance import count_cache

# Seconds a page may be served from the cache at most. Revisions invalidate on every
# change to what a page shows, so a page of curated data keeps as long as the counts it
# shows (count_cache.ENTRY_TTL); one that shows ingested documents keeps a minute, which
# bounds what no revision covers ("documents this week", a run's age).
CURATED_TTL = count_cache.ENTRY_TTL
INGESTED_TTL = 60
# Seconds past that (or past a newer ingested revision) for which a page is still served
# while another request renders it again; a request that finds no one rendering renders.
STALE_FOR = 60
# A miss renders the page once: concurrent requests for it wait for that render (up to
# FILL_WAIT seconds, then render themselves) instead of all rendering it at once.
FILL_WAIT = 3.0
FILL_POLL = 0.05
MAX_BYTES = 2 * 2**20
NONCE = b"\x00csp-nonce\x00"  # where a stored page had its nonce
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
    "governance:country_list": (CURATED, INGESTED),  # its document counts
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
Stored = tuple[str, tuple[dict[str, str], bytes]]  # a page's key, (headers, body)


class AnonymousPageCache:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kinds = self._revisions_for(request)
        if kinds is None:
            return self.get_response(request)
        key = self._key(request)
        accepted = _accepted_encodings(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        encoding = "gzip" if "gzip" in accepted else "identity"
        # One variant per key, so that a hit reads only the bytes it sends.
        names = [f"{key}:nonced", f"{key}:{encoding}"]
        # The revisions and the page in one round trip: each one more is a wait for
        # Redis, and on a host busy with ingestion every wait is a chance for a worker to
        # take the core (bench/RESULTS.md, search during ingestion).
        revision_keys = [count_cache.revision_key(kind) for kind in kinds]
        found = cache.get_many([*revision_keys, *names])
        current = _Revisions(
            kinds,
            tuple(
                found.get(name) or count_cache.revision(kind)
                for name, kind in zip(revision_keys, kinds, strict=True)
            ),
        )
        fresh, stale = current.stored(found, names)
        if fresh is not None:
            return self._replay(request, *fresh, "hit")
        lock = f"{key}:{':'.join(current.revisions)}:filling"
        token = uuid.uuid4().hex  # whose lock it is: only its holder may delete it
        held = cache.add(lock, token, int(FILL_WAIT) + 1)
        if not held:  # another request is rendering it
            if stale is not None:
                return self._replay(request, *stale, "stale")
            if (fresh := _wait_for(names, lock, current)) is not None:
                return self._replay(request, *fresh, "hit")
        try:
            response = self.get_response(request)
            if not self._storable(response):
                return response
            variants = self._variants(request, response)
            stored_at = time.time()
            cache.set_many(
                {
                    f"{key}:{name}": (current.revisions, stored_at, *value)
                    for name, value in variants.items()
                },
                current.ttl + STALE_FOR,
            )
        finally:
            # Not a waiter that gave up and rendered, nor a holder whose lock expired
            # and went to another request: either would let a third render too.
            if held and cache.get(lock) == token:
                cache.delete(lock)
        chosen = "nonced" if "nonced" in variants else encoding
        return self._replay(request, f"{key}:{chosen}", variants[chosen], "miss")

    @staticmethod
    def _variants(
        request: HttpRequest, response: HttpResponse
    ) -> dict[str, tuple[dict[str, str], bytes]]:
        body = response.content
        headers = {h: response[h] for h in KEPT_HEADERS if h in response}
        nonce = getattr(request, "_csp_nonce", None)
        if nonce and str(nonce).encode() in body:  # base64: the same bytes in any charset
            return {"nonced": (headers, body.replace(str(nonce).encode(), NONCE))}
        return {
            "identity": (headers, body),
            "gzip": (headers, gzip.compress(body, compresslevel=9, mtime=0)),
        }

    @staticmethod
    def _revisions_for(request: HttpRequest) -> tuple[str, ...] | None:
        if request.method != "GET" or "HTTP_AUTHORIZATION" in request.META:
            return None
        request.get_host()  # CommonMiddleware, inside this one, would refuse a bad Host
        cookies = request.COOKIES
        if settings.SESSION_COOKIE_NAME in cookies or "messages" in cookies:
            return None  # maybe signed in, or a message to show once
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        return PAGES.get(match.view_name)

    @staticmethod
    def _key(request: HttpRequest) -> str:
        """The page's key, the same across revisions: a page is stored with the revisions
        it was rendered at, and a newer render replaces it."""
        varying = "|".join(request.META.get(h, "") for h in VARY_HEADERS)
        raw = f"{request.get_full_path()}|{varying}".encode()
        digest = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
        return f"page:v{count_cache.SCHEMA}:{digest}"

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
    def _replay(
        request: HttpRequest, key: str, stored: tuple[dict[str, str], bytes], outcome: str
    ) -> HttpResponse:
        headers, body = stored
        variant = key.rsplit(":", 1)[1]
        if variant == "nonced":
            body = body.replace(NONCE, str(request._csp_nonce).encode())
        response = HttpResponse(body)
        for name, value in headers.items():
            response[name] = value
        if variant == "gzip":
            response["Content-Encoding"] = variant
        if variant != "nonced":
            patch_vary_headers(response, ["Accept-Encoding"])
        response["X-Page-Cache"] = outcome
        return response


class _Revisions:
    """The revisions a page depends on, as they are now, and what they make of a stored
    page: (revisions, stored at, headers, body)."""

    def __init__(self, kinds: tuple[str, ...], revisions: tuple[str, ...]) -> None:
        self.kinds, self.revisions = kinds, revisions
        self.ttl = INGESTED_TTL if INGESTED in kinds else CURATED_TTL

    def stored(
        self, found: dict[str, object], names: list[str]
    ) -> tuple[Stored | None, Stored | None]:
        """(fresh, stale): the first of `names` in `found` that may be served as it is,
        and the first that may be served while another request renders it again."""
        fresh = stale = None
        now = time.time()
        for name in names:
            value = found.get(name)
            if not (isinstance(value, tuple) and len(value) == 4):
                continue  # absent, or stored by an older version of this module
            revisions, stored_at, headers, body = value
            age = now - stored_at
            if revisions == self.revisions and age < self.ttl:
                fresh = fresh or (name, (headers, body))
            elif age < self.ttl + STALE_FOR and self._only_ingested_changed(revisions):
                stale = stale or (name, (headers, body))
        return fresh, stale

    def _only_ingested_changed(self, revisions: tuple[str, ...]) -> bool:
        return len(revisions) == len(self.revisions) and all(
            then == now or kind == INGESTED
            for kind, then, now in zip(self.kinds, revisions, self.revisions, strict=True)
        )


def _wait_for(names: list[str], lock: str, current: _Revisions) -> Stored | None:
    """The page once the request holding `lock` stored it; None as soon as the lock is
    gone without it (that render failed, or Redis is unreachable and `add` only said so)."""
    deadline = time.monotonic() + FILL_WAIT
    while time.monotonic() < deadline:
        found = cache.get_many([*names, lock])
        if (fresh := current.stored(found, names)[0]) is not None:
            return fresh
        if lock not in found:
            return None
        time.sleep(FILL_POLL)
    return None


def _accepted_encodings(header: str) -> set[str]:
    """Codings the client takes (q=0 refuses one)."""
    accepted = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        q = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(q) > 0:
                accepted.add(name.strip().lower())
        except ValueError:
            continue
    return accepted
