"""Anonymous analyst pages from Redis (governance/page_cache.py): served again with a
fresh CSP nonce, never to a signed-in user, gone as soon as what they show changes."""

from __future__ import annotations

import gzip
import threading
import time

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory

from governance import page_cache
from governance.models import Country
from governance.page_cache import AnonymousPageCache
from tests.factories import DocumentFactory, PersonFactory, StatementFactory

pytestmark = pytest.mark.django_db


def test_a_second_visit_is_served_from_the_cache(client: Client) -> None:
    StatementFactory(text="Cached words for the test.")
    first = client.get("/statements/")
    second = client.get("/statements/")
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first.content == second.content
    assert "Cached words for the test." in second.content.decode()
    # No nonce: the page's one script is external, allowed by script-src 'self'.
    assert "nonce" not in second.content.decode()
    assert "script-src 'self'" in second["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("accept", "encoding", "decode"),
    [
        ("gzip, deflate, br, zstd", "gzip", gzip.decompress),
        ("deflate, gzip;q=0.5", "gzip", gzip.decompress),
        ("gzip;q=0, br", None, lambda body: body),
        ("", None, lambda body: body),
    ],
)
def test_pages_come_compressed_as_the_client_accepts(
    client: Client, accept: str, encoding: str | None, decode: object
) -> None:
    StatementFactory(text="Compressed words.")
    plain = client.get("/statements/", headers={"Accept-Encoding": ""}).content
    for outcome in ("hit", "hit"):
        response = client.get("/statements/", headers={"Accept-Encoding": accept})
        assert response["X-Page-Cache"] == outcome
        assert response.get("Content-Encoding") == encoding
        assert "Accept-Encoding" in response["Vary"]
        assert decode(response.content) == plain  # type: ignore[operator]


def test_a_page_with_a_nonce_gets_the_nonce_of_its_own_response(rf: RequestFactory) -> None:
    from django.utils.csp import LazyNonce

    def view(request: object) -> HttpResponse:
        return HttpResponse(f'<script nonce="{request._csp_nonce}">1</script>')  # type: ignore[attr-defined]

    middleware = AnonymousPageCache(view)
    bodies, nonces = [], []
    for _ in range(2):
        request = rf.get("/statements/?nonce-test=1")
        request._csp_nonce = LazyNonce()
        response = middleware(request)
        bodies.append(response.content.decode())
        nonces.append(str(request._csp_nonce))
    assert nonces[0] != nonces[1]
    assert bodies == [f'<script nonce="{n}">1</script>' for n in nonces]
    assert "Content-Encoding" not in response


def test_a_change_to_what_a_page_shows_is_seen_at_once(client: Client) -> None:
    person = PersonFactory(name="Page Person")
    statement = StatementFactory(speaker=person, text="First words.")
    url = person.get_absolute_url()
    client.get(url)
    assert client.get(url)["X-Page-Cache"] == "hit"
    statement.text = "Corrected words."
    statement.save()
    page = client.get(url)
    assert page["X-Page-Cache"] == "miss" and "Corrected words." in page.content.decode()


def test_a_new_document_refreshes_the_dashboard_but_not_the_statements(client: Client) -> None:
    StatementFactory()
    client.get("/"), client.get("/statements/")
    DocumentFactory()
    assert client.get("/")["X-Page-Cache"] == "miss"
    assert client.get("/statements/")["X-Page-Cache"] == "hit"


def test_signed_in_users_always_get_their_own_page(client: Client, admin_user: object) -> None:
    StatementFactory()
    client.get("/statements/")
    client.force_login(admin_user)
    for _ in range(2):
        response = client.get("/statements/")
        assert "X-Page-Cache" not in response
        assert "Admin" in response.content.decode() or "Log out" in response.content.decode()


def test_an_htmx_fragment_and_its_page_are_cached_apart(client: Client) -> None:
    StatementFactory(on_behalf_of_country=Country.objects.get(code="FR"))
    headers = {"HX-Request": "true", "HX-Target": "browser"}
    full = client.get("/statements/?country=fr")
    fragment = client.get("/statements/?country=fr", headers=headers)
    assert fragment["X-Page-Cache"] == "miss"
    again = client.get("/statements/?country=fr", headers=headers)
    assert again["X-Page-Cache"] == "hit" and "<html" not in again.content.decode()
    assert "<html" in client.get("/statements/?country=fr").content.decode()
    assert "<html" in full.content.decode()


def test_errors_and_unlisted_pages_are_not_stored(client: Client) -> None:
    for _ in range(2):
        assert "X-Page-Cache" not in client.get("/people/no-such-person/")
        assert "X-Page-Cache" not in client.get("/accounts/login/")


def test_a_cached_page_is_not_served_to_a_foreign_host(client: Client) -> None:
    client.get("/statements/")
    assert client.get("/statements/")["X-Page-Cache"] == "hit"
    assert client.get("/statements/", headers={"Host": "evil.example"}).status_code == 400
    hit = client.get("/statements/")
    for header in ("X-Frame-Options", "Content-Security-Policy", "X-Content-Type-Options"):
        assert header in hit, header


def test_concurrent_misses_render_the_page_once(rf: RequestFactory) -> None:
    """A page that expired under load is rendered by one request; the others wait for it."""
    renders = []

    def view(request: object) -> HttpResponse:
        renders.append(1)
        time.sleep(0.3)
        return HttpResponse("<p>rendered</p>")

    middleware = AnonymousPageCache(view)
    responses = []

    def visit() -> None:
        responses.append(middleware(rf.get("/statements/?single-flight=1")))

    threads = [threading.Thread(target=visit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(renders) == 1
    assert sorted(r["X-Page-Cache"] for r in responses) == ["hit", "hit", "hit", "miss"]
    assert {r.content for r in responses} == {b"<p>rendered</p>"}


def test_a_failed_render_does_not_keep_the_others_waiting(rf: RequestFactory) -> None:
    def broken(request: object) -> HttpResponse:
        time.sleep(0.2)
        return HttpResponse("busy", status=503)

    middleware = AnonymousPageCache(broken)
    started = time.monotonic()
    threads = [
        threading.Thread(target=middleware, args=(rf.get("/statements/?failing=1"),))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 1.5  # not FILL_WAIT (3 s) for the waiters


def test_a_request_that_gave_up_waiting_leaves_the_others_lock(
    rf: RequestFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that waited FILL_WAIT for another's render, then rendered itself, must not
    delete the lock it never held: a third request would then render as well."""
    monkeypatch.setattr(page_cache, "FILL_WAIT", 0.2)
    real_add = cache.add
    locks: list[str] = []

    def add(key: str, value: object, timeout: float | None = None) -> bool:
        if key.endswith(":filling"):  # another process got there first, and is slow
            real_add(key, "another process", 30)
            locks.append(key)
        return real_add(key, value, timeout)

    monkeypatch.setattr(page_cache.cache, "add", add)
    response = AnonymousPageCache(lambda request: HttpResponse("<p>mine</p>"))(
        rf.get("/statements/?gave-up=1")
    )
    assert response["X-Page-Cache"] == "miss" and len(locks) == 1
    assert cache.get(locks[0]) == "another process"
    cache.delete(locks[0])


def test_a_hit_reads_the_revisions_and_the_page_in_one_round_trip(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each wait for Redis is a chance for a busy worker to take the core from the page
    (bench/RESULTS.md, search during ingestion): a hit makes one call, a GET of many keys."""
    from django.core.cache import cache

    StatementFactory()
    client.get("/statements/")
    calls: list[str] = []
    for name in ("get", "get_many", "add", "set", "set_many", "delete", "has_key"):
        method = getattr(cache, name)
        monkeypatch.setattr(
            cache, name, lambda *a, _m=method, _n=name, **k: calls.append(_n) or _m(*a, **k)
        )
    assert client.get("/statements/")["X-Page-Cache"] == "hit"
    assert calls == ["get_many"]


def test_a_page_of_an_older_revision_is_rendered_again_and_replaced(client: Client) -> None:
    from governance import count_cache

    StatementFactory(text="Before the change.")
    client.get("/statements/")
    count_cache.bump()  # as a write that the signals do not see, then the bulk path's bump
    again = client.get("/statements/")
    assert again["X-Page-Cache"] == "miss"
    assert client.get("/statements/")["X-Page-Cache"] == "hit"


def test_a_missing_revision_is_created_and_the_page_stored_under_it(client: Client) -> None:
    from django.core.cache import cache

    from governance import count_cache

    StatementFactory()
    cache.delete(count_cache.revision_key(count_cache.CURATED))  # as after a Redis flush
    assert client.get("/statements/")["X-Page-Cache"] == "miss"
    assert cache.get(count_cache.revision_key(count_cache.CURATED)) is not None
    assert client.get("/statements/")["X-Page-Cache"] == "hit"


class _Clock:
    """page_cache's `time` with the wall clock moved on by `ahead` seconds."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def __init__(self) -> None:
        self.ahead = 0.0

    def time(self) -> float:
        return time.time() + self.ahead


def _visits(middleware: AnonymousPageCache, url: str, count: int) -> list[tuple[str, bytes, float]]:
    """`count` concurrent visits: (outcome, body, seconds each took), ordered by time."""
    results: list[tuple[str, bytes, float]] = []

    def visit() -> None:
        started = time.monotonic()
        response = middleware(RequestFactory().get(url))
        results.append((response["X-Page-Cache"], response.content, time.monotonic() - started))

    threads = [threading.Thread(target=visit) for _ in range(count)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)  # the first one takes the render
    for thread in threads:
        thread.join()
    return sorted(results, key=lambda r: r[2])


class _SlowView:
    def __init__(self) -> None:
        self.renders = 0

    def __call__(self, request: object) -> HttpResponse:
        self.renders += 1
        time.sleep(0.4)
        return HttpResponse(f"<p>render {self.renders}</p>")


def test_a_page_past_its_ttl_is_served_stale_while_one_request_renders_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under load, the others neither wait for that render nor render it themselves."""
    from governance import page_cache

    clock = _Clock()
    monkeypatch.setattr(page_cache, "time", clock)
    view = _SlowView()
    middleware = AnonymousPageCache(view)
    _visits(middleware, "/?stale-by-age=1", 1)
    clock.ahead = page_cache.INGESTED_TTL + 1
    results = _visits(middleware, "/?stale-by-age=1", 4)
    assert view.renders == 2
    assert [(outcome, body) for outcome, body, _ in results] == [
        ("stale", b"<p>render 1</p>"),
        ("stale", b"<p>render 1</p>"),
        ("stale", b"<p>render 1</p>"),
        ("miss", b"<p>render 2</p>"),
    ]
    assert max(seconds for *_, seconds in results[:3]) < 0.2  # not the render's 0.4 s
    assert _visits(middleware, "/?stale-by-age=1", 1)[0][:2] == ("hit", b"<p>render 2</p>")


def test_a_page_of_older_ingested_documents_is_served_stale_while_it_is_rendered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from governance import count_cache

    view = _SlowView()
    middleware = AnonymousPageCache(view)
    _visits(middleware, "/?stale-by-ingestion=1", 1)
    count_cache.bump(count_cache.INGESTED)
    outcomes = [outcome for outcome, *_ in _visits(middleware, "/?stale-by-ingestion=1", 3)]
    assert outcomes == ["stale", "stale", "miss"] and view.renders == 2


def test_a_page_of_older_curated_data_is_never_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The others wait for the new render rather than see what a curator has changed."""
    from governance import count_cache

    view = _SlowView()
    middleware = AnonymousPageCache(view)
    _visits(middleware, "/?stale-by-curation=1", 1)
    count_cache.bump(count_cache.CURATED)
    results = _visits(middleware, "/?stale-by-curation=1", 3)
    assert {body for _, body, _ in results} == {b"<p>render 2</p>"}
    assert sorted(outcome for outcome, *_ in results) == ["hit", "hit", "miss"]
    assert view.renders == 2


def test_a_page_past_its_stale_time_is_not_served(monkeypatch: pytest.MonkeyPatch) -> None:
    from governance import page_cache

    clock = _Clock()
    monkeypatch.setattr(page_cache, "time", clock)
    view = _SlowView()
    middleware = AnonymousPageCache(view)
    _visits(middleware, "/statements/?too-stale=1", 1)
    clock.ahead = page_cache.CURATED_TTL + page_cache.STALE_FOR + 1
    results = _visits(middleware, "/statements/?too-stale=1", 3)
    assert {body for _, body, _ in results} == {b"<p>render 2</p>"}
    assert view.renders == 2
