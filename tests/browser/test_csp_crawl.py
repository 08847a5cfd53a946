"""No Content Security Policy violation anywhere a browser goes (issue #8, item 12).

Chromium crawls, under the site's enforced policy, the admin as a superuser (index, app
indexes, every registered model's changelist, add form, change form, history and delete
confirmation for one object, without confirming), the review pages, and the error
pages (400, 403, the CSRF and lockout pages, 404, 500, 503) with DEBUG off. Every page
is watched for `securitypolicyviolation` events (a listener injected before any page
script) and for console errors that mention the Content Security Policy. A control
proves the detector fires on a page the live server serves with an inline script.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import RequestFactory, override_settings
from django.urls import include, path, reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page
from pytest_django import DjangoDbBlocker
from simple_history.admin import SimpleHistoryAdmin

from governance import models
from governance.alerts.models import Digest, DigestItem, Follow
from governance.extract.candidates import write_candidates
from governance.extract.types import CountryFound, Extraction, Mention, PersonFound, QuoteFound
from tests import factories
from tests.browser.conftest import TIMEOUT_MS, VIEWPORT, Site, Watcher

pytestmark = [pytest.mark.django_db, pytest.mark.browser]

PASSWORD = "csp-crawl-pass-123"
TEXT = "Chinese Premier Li Qiang said: “AI should be a common good.” Washington disagreed."
LOCKED = "csp-locked-out"

# Runs before any script of the page (Playwright injects it through DevTools, so the
# policy does not apply to it) and reports each violation to the test as it happens.
LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    page: location.href,
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI || "inline",
    source: `${event.sourceFile || location.href}:${event.lineNumber}`,
    sample: event.sample || "",
  });
}, true);
"""


# --- What the live server serves besides the site: a violating page, errors -----------------


def violating(request: HttpRequest) -> HttpResponse:
    """The control: inline code the policy must block, next to a nonced script it allows."""
    template = engines["django"].from_string(
        "<!doctype html><html><head><title>control</title>"
        "<style>p { color: red }</style></head><body>"
        "<p style='color: blue'>inline style attribute</p>"
        "<script>document.body.dataset.inline = 'ran'</script>"
        "<script nonce='{{ csp_nonce }}'>document.body.dataset.nonced = 'ran'</script>"
        "</body></html>"
    )
    return HttpResponse(template.render(request=request))


def server_error(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("deliberate 500 for the CSP crawl")


def slow_query(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")  # cancelled by the analyst query timeout
    return HttpResponse("not reached")


# ROOT_URLCONF while a test needs these pages: the site's URLs, plus three of its own.
urlpatterns = [
    path("csp-crawl/violating/", violating),
    path("csp-crawl/server-error/", server_error),
    path("csp-crawl/slow/", slow_query),
    path("", include("waic.urls")),
]


@pytest.fixture
def extra_pages() -> Iterator[None]:
    # The live server runs in a thread of this process, so it sees these settings.
    with override_settings(ROOT_URLCONF=__name__, ANALYST_QUERY_TIMEOUT_MS=200):
        yield


# --- The detector ------------------------------------------------------------------------


@dataclass
class Violations:
    """Violations and CSP console errors, each named with the page the crawl was on."""

    current: str = ""
    found: list[str] = field(default_factory=list)
    directives: list[str] = field(default_factory=list)

    def event(self, report: dict[str, Any]) -> None:
        self.directives.append(report["directive"])
        self.found.append(
            f"{self.current} ({report['page']}): {report['directive']} blocked "
            f"{report['blocked']} at {report['source']} {report['sample']!r}".rstrip()
        )

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.found.append(f"{self.current}: console: {message.text}")

    def watch(self, context: BrowserContext) -> None:
        context.expose_function("__cspViolation", self.event)
        context.add_init_script(LISTENER)
        context.on("console", self.console)


def new_context(browser: Browser, violations: Violations, watcher: Watcher) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    violations.watch(context)
    context.on("request", watcher.request)  # nothing but 127.0.0.1
    context.on("weberror", lambda web_error: watcher.page_error(web_error.error))
    return context


def settle(page: Page) -> None:
    """Let violation events queued during loading reach the listener and the test."""
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((done) => setTimeout(done, 50))")


def visit(page: Page, violations: Violations, name: str, url: str, status: int = 200) -> None:
    violations.current = name
    response = page.goto(url)
    assert response is not None, (name, url)
    assert response.status == status, (name, url, response.status)
    assert "Content-Security-Policy" in {k.title() for k in response.headers}, (name, url)
    settle(page)


LOGIN_FORMS = {"/admin/login/": "#login-form", "/accounts/login/": "form.login-form"}


def log_in(
    page: Page, violations: Violations, site: Site, login_path: str, username: str, password: str
) -> int:
    """Fill and send a log-in form; the status of the page it leads to."""
    visit(page, violations, f"log-in page {login_path}", site(login_path))
    form = page.locator(LOGIN_FORMS[login_path])
    form.locator("#id_username").fill(username)
    form.locator("#id_password").fill(password)
    violations.current = f"after logging in as {username}"
    with page.expect_navigation() as navigation:
        form.locator("[type=submit]").click()
    settle(page)
    return navigation.value.status if navigation.value else 0


def no_violations(violations: Violations, watcher: Watcher) -> None:
    assert not violations.found, "CSP violations:\n" + "\n".join(violations.found)
    assert not watcher.problems, "problems in the browser:\n" + "\n".join(watcher.problems)


# --- Data: one object of every registered model ---------------------------------------


@dataclass(frozen=True)
class Crawl:
    admin: User
    analyst: User
    document: models.Document
    candidate: models.Candidate
    survivor: models.Person
    loser: models.Person


@pytest.fixture(scope="module")
def crawl(site: Site, django_db_blocker: DjangoDbBlocker) -> Iterator[Crawl]:
    """A superuser, an analyst, and a row for each model the seed leaves empty; removed
    after the module, as later browser tests count what they see."""
    with django_db_blocker.unblock():
        superuser = User.objects.create_superuser("cspadmin", "csp@example.org", PASSWORD)
        analyst = User.objects.create_user("cspanalyst", password=PASSWORD)
        source = factories.SourceFactory(name="CSP crawl wire")
        run = models.IngestRun.objects.create(
            source=source, outcome=models.IngestRun.Outcome.NEW, finished_at=timezone.now()
        )
        document = factories.DocumentFactory(source=source, text=TEXT, title="CSP crawl document")
        quote_text = "AI should be a common good."
        start = TEXT.index(quote_text)
        write_candidates(
            document,
            Extraction(
                countries=[CountryFound("CN", [Mention("Chinese", 0, 7, "demonym")])],
                people=[PersonFound("Li Qiang", "Premier", "China", [Mention("Li Qiang", 16, 24)])],
                quotes=[QuoteFound("Li Qiang", quote_text, start, start + len(quote_text))],
            ),
        )
        candidate = document.candidates.order_by("pk").first()
        decision = models.Decision.objects.create(
            candidate=document.candidates.order_by("pk").last(),
            user=superuser,
            action=models.Decision.Action.REJECT,
            note="not what the text says",
        )
        survivor = factories.PersonFactory(name="Ada Crawl")
        loser = factories.PersonFactory(name="Ada Crawl (duplicate)")
        merge = models.Merge.objects.create(
            content_type=ContentType.objects.get_for_model(models.Person),
            survivor_id=str(survivor.pk),
            loser_id="999999",
            user=superuser,
        )
        follow = Follow.objects.create(user=analyst, proposal=site.action_plan)
        digest = Digest.objects.create(
            user=analyst, frequency=follow.frequency, snapshot_at=timezone.now(), item_count=1
        )
        DigestItem.objects.create(
            digest=digest, follow=follow, kind=DigestItem.Kind.STATEMENT, object_id=site.quote.pk
        )
        access = {"user_agent": "csp crawl", "ip_address": "127.0.0.1", "http_accept": "*/*"}
        # Six failures lock this name out: the lockout page is one of the error pages.
        AccessAttempt.objects.create(
            username=LOCKED, path_info="/accounts/login/", failures_since_start=6, **access
        )
        AccessFailureLog.objects.create(username=LOCKED, path_info="/accounts/login/", **access)
        try:
            yield Crawl(superuser, analyst, document, candidate, survivor, loser)
        finally:
            for record in (merge, decision, run):
                record.delete()
            document.delete()  # its candidates, their decisions and mentions go with it
            for record in (source, survivor, loser, digest, follow):
                record.delete()
            names = [LOCKED, superuser.username, analyst.username]
            for access_model in (AccessAttempt, AccessFailureLog, AccessLog):
                access_model.objects.filter(username__in=names).delete()
            superuser.delete()
            analyst.delete()


def admin_pages(superuser: User) -> list[tuple[str, str]]:
    """(name, path) of every admin page to open: for each registered model its
    changelist, add form, and change, history and delete pages of its first object."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    pages = [
        ("admin index", reverse("admin:index")),
        ("admin password change", reverse("admin:password_change")),
        ("user password form", reverse("admin:auth_user_password_change", args=[superuser.pk])),
    ]
    pages += [
        (f"admin app {label}", reverse("admin:app_list", args=[label]))
        for label in sorted({model._meta.app_label for model in admin.site._registry})
    ]
    empty = []
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda m: m[0]._meta.label):
        label, info = model._meta.label, (model._meta.app_label, model._meta.model_name)
        pages.append((f"{label} changelist", reverse("admin:{}_{}_changelist".format(*info))))
        if model_admin.has_add_permission(request):
            pages.append((f"{label} add", reverse("admin:{}_{}_add".format(*info))))
        obj = model_admin.get_queryset(request).order_by("pk").first()
        if obj is None:
            empty.append(label)
            continue
        key = quote(obj.pk)
        pages.append((f"{label} change", reverse("admin:{}_{}_change".format(*info), args=[key])))
        pages.append((f"{label} history", reverse("admin:{}_{}_history".format(*info), args=[key])))
        if model_admin.has_delete_permission(request, obj):
            pages.append(
                (f"{label} delete", reverse("admin:{}_{}_delete".format(*info), args=[key]))
            )
        if isinstance(model_admin, SimpleHistoryAdmin) and (past := obj.history.first()):
            pages.append(
                (
                    f"{label} past version",
                    reverse(
                        "admin:{}_{}_simple_history".format(*info), args=[key, past.history_id]
                    ),
                )
            )
    assert not empty, f"give these models a row in the crawl fixture: {empty}"
    pages += [
        ("statement search", reverse("admin:governance_statement_changelist") + "?q=AI"),
        (
            "raw-id lookup popup",
            reverse("admin:governance_document_changelist") + "?_to_field=id&_popup=1",
        ),
        (
            "ingest runs by date",
            reverse("admin:governance_ingestrun_changelist")
            + f"?started_at__year={datetime.date.today().year}",
        ),
    ]
    return pages


# --- The crawl ---------------------------------------------------------------------------


def test_the_admin_raises_no_violation(browser: Browser, site: Site, crawl: Crawl) -> None:
    violations, watcher = Violations(), Watcher()
    context = new_context(browser, violations, watcher)
    page = context.new_page()
    try:
        log_in(page, violations, site, "/admin/login/", crawl.admin.username, PASSWORD)
        assert page.url.endswith("/admin/"), page.url
        for name, url in admin_pages(crawl.admin):
            visit(page, violations, name, site(url))
        visit(page, violations, "404 in the admin", site("/admin/no-such/"), 404)
        # What the admin's scripts do on interaction: an "add another" inline row, the
        # date shortcuts and calendar, the navigation sidebar and the theme switch.
        event = models.Event.objects.order_by("pk").first()
        change_event = reverse("admin:governance_event_change", args=[event.pk])
        visit(page, violations, "event change form", site(change_event))
        violations.current = "event change form, widgets"
        page.locator(".add-row a").first.click()
        page.locator(".datetimeshortcuts a").first.click()  # "Today"
        page.locator("button[id^=calendarlink]").first.click()
        # Picking a day sets the date and closes the calendar.
        page.locator("dialog.calendarbox[open] td a").first.click()
        page.locator("#toggle-nav-sidebar").click()
        page.locator("button.theme-toggle").first.click()
        settle(page)
        # The other delete confirmation: the changelist's "delete selected" action.
        people = reverse("admin:governance_person_changelist")
        visit(page, violations, "person changelist", site(people))
        violations.current = "delete selected people: confirmation"
        page.locator("input.action-select").first.check()
        page.locator("select[name=action]").select_option("delete_selected")
        with page.expect_navigation():
            page.locator("button[name=index]").first.click()
        settle(page)
        assert "Are you sure" in page.content()
        violations.current = "admin logout"
        with page.expect_navigation():
            page.locator("#logout-form button").click()
        settle(page)
        assert page.get_by_role("link", name="Log in").count() == 1  # logged out, sent home
    finally:
        context.close()
    no_violations(violations, watcher)


def test_the_review_pages_raise_no_violation(browser: Browser, site: Site, crawl: Crawl) -> None:
    violations, watcher = Violations(), Watcher()
    context = new_context(browser, violations, watcher)
    page = context.new_page()
    candidate, document = crawl.candidate.pk, crawl.document.pk
    pages = [
        ("review queue", reverse("governance:review_queue")),
        (
            "review queue, one document",
            reverse("governance:review_queue") + f"?document={document}",
        ),
        ("queue health", reverse("governance:review_health")),
        ("new source", reverse("governance:review_new_source")),
        ("add a fact", reverse("governance:review_add_fact", args=[document])),
        ("edit a candidate", reverse("governance:review_edit", args=[candidate])),
        ("link a candidate", reverse("governance:review_link", args=[candidate])),
        ("merge suggestions", reverse("governance:review_merges")),
        (
            "merge confirmation",
            reverse("governance:review_merge", args=["person", crawl.survivor.pk, crawl.loser.pk]),
        ),
    ]
    try:
        log_in(page, violations, site, "/accounts/login/", crawl.admin.username, PASSWORD)
        for name, url in pages:
            visit(page, violations, name, site(url))
        # The keyboard shortcuts: move, open the reject form, close it.
        visit(page, violations, "review queue, keys", site(pages[1][1]))
        page.locator("html[data-review-keys=on]").wait_for()
        for key in ("j", "j", "k", "r", "Escape"):
            page.keyboard.press(key)
        settle(page)
    finally:
        context.close()
    no_violations(violations, watcher)


def test_the_error_pages_raise_no_violation(
    browser: Browser, site: Site, crawl: Crawl, extra_pages: None
) -> None:
    violations, watcher = Violations(), Watcher()
    context = new_context(browser, violations, watcher)
    page = context.new_page()
    too_many_fields = "&".join(f"f{i}=1" for i in range(1001))  # DATA_UPLOAD_MAX_NUMBER_FIELDS
    try:
        visit(page, violations, "404", site("/no-such-page/"), 404)
        visit(page, violations, "404 of an unknown proposal", site("/proposals/no-such/"), 404)
        visit(
            page, violations, "400 (too many fields)", site(f"/statements/?{too_many_fields}"), 400
        )
        visit(page, violations, "500", site("/csp-crawl/server-error/"), 500)
        visit(page, violations, "503 (query timeout)", site("/csp-crawl/slow/"), 503)
        log_in(page, violations, site, "/accounts/login/", crawl.analyst.username, PASSWORD)
        visit(page, violations, "403 (review, as an analyst)", site("/review/"), 403)
        # A form posted without its CSRF token: Django's CSRF failure page.
        visit(page, violations, "a page to post from", site("/"))
        violations.current = "403 (CSRF)"
        with page.expect_navigation() as navigation:
            page.evaluate(
                """() => {
                  const form = Object.assign(document.createElement("form"),
                    {method: "post", action: "/accounts/logout/"});
                  document.body.append(form);
                  form.submit();
                }"""
            )
        assert navigation.value and navigation.value.status == 403
        settle(page)
        assert "CSRF" in page.content()
    finally:
        context.close()
    # The lockout page, as someone with six failed log-ins (a fresh context: no session).
    context = new_context(browser, violations, watcher)
    page = context.new_page()
    try:
        assert log_in(page, violations, site, "/accounts/login/", LOCKED, "wrong") == 429
    finally:
        context.close()
    no_violations(violations, watcher)


def test_the_detector_sees_a_violation(browser: Browser, site: Site, extra_pages: None) -> None:
    """The control: a page from the live server, under the site's own policy, with an
    inline script, an inline style element and a style attribute."""
    violations, watcher = Violations(), Watcher()
    context = new_context(browser, violations, watcher)
    page = context.new_page()
    try:
        visit(page, violations, "control", site("/csp-crawl/violating/"))
        ran = page.evaluate("() => ({...document.body.dataset})")
    finally:
        context.close()
    assert set(violations.directives) == {"script-src-elem", "style-src-elem", "style-src-attr"}
    assert all(v.startswith("control") for v in violations.found), violations.found
    assert ran == {"nonced": "ran"}  # the nonce lets its script through, nothing else runs
