"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

No browser is downloaded: Playwright launches /usr/bin/chromium (`apt-get install
chromium`). Every page a test opens is watched for JavaScript errors and Content
Security Policy violations; any of them fails the test at teardown.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps as django_apps
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    sync_playwright,
)
from pytest_django import DjangoDbBlocker
from pytest_django.live_server_helper import LiveServer

from governance import models
from governance.seed import load_seed
from tests import factories
from tests.reference import migrated_data_missing, restore_migrated_data

CHROMIUM = Path("/usr/bin/chromium")
NO_PROXY_PORT = 9  # "discard": nothing listens on it here
GUARD_TEST_HOST = "offsite.test"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium calls Google, which this machine's closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing but the live server can be reached: every request for another host goes to
    # a proxy that is not there (loopback is never proxied), so it fails in the browser
    # and no name is even resolved. Watcher.request reports such a request. (Not
    # Playwright's request interception: that turns the browser's HTTP cache off and makes
    # every request a round trip through this process: the admin crawl took 1.8 times as
    # long.)
    f"--proxy-server=http://127.0.0.1:{NO_PROXY_PORT}",
    # Should the proxy setting ever be lost, no name resolves either; the one exception
    # leads back to loopback, for the test that proves the guard (test_network_guard.py).
    f"--host-resolver-rules=MAP {GUARD_TEST_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
]
# Wider than the 900px breakpoint, where the facet panel is always open.
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 5_000

# Reports violations as console errors, which the watcher below collects. Playwright
# injects init scripts through the DevTools protocol, so the page's CSP does not block it.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked `
    + `${event.blockedURI || "inline code"} (${event.sourceFile}:${event.lineNumber})`);
});
"""


# --- Test data and server -------------------------------------------------------------

# Statements added to the seed's four, so that every facet has several values with
# different counts, results span more than one page (20 a page) and years differ.
EXTRA_SPEAKERS = [
    ("Dana Whitfield", "US", "Under Secretary of Commerce"),
    ("Claire Moreau", "FR", "Minister for Digital Affairs"),
    ("Tom Ashby", "GB", "Secretary of State for Science"),
]
EXTRA_TOPICS = [
    "Export controls on advanced chips protect national security.",
    "Open-source models should be shared under common safety standards.",
    "Data sovereignty must be respected in any international AI framework.",
    "An international AI body needs a clear mandate and independent experts.",
]
EXTRA_KINDS = [models.Statement.Kind.PARAPHRASE, models.Statement.Kind.DIRECT_QUOTE]


@dataclass(frozen=True)
class Site:
    """The live server's address and what the tests can rely on in its database."""

    url: str
    statements: int
    sovereignty_statements: int
    quote: models.Statement  # the seed's direct quote by Li Qiang, with its evidence
    action_plan: models.Proposal

    def __call__(self, path: str) -> str:
        return self.url + path


# What migrations put in the test database and later tests rely on: the countries and
# their aliases, the staff groups and their permissions, content types.
KEPT_TABLES = {"governance_country", "governance_countryalias", "governance_historicalcountry"}


def remove_test_data() -> None:
    """Empty the tables the browser tests filled, keeping what migrations loaded. (A flush
    would also empty the groups and recreate content types under new ids, which breaks
    later tests that restore a serialized database.)"""
    tables = [
        m._meta.db_table
        for m in django_apps.get_app_config("governance").get_models()
        if m._meta.db_table not in KEPT_TABLES and not m._meta.proxy
    ]
    tables += ["auth_user", "django_session", "django_admin_log"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} CASCADE"
        )


def build_corpus() -> tuple[int, int]:
    """The seed file plus 24 statements by three more countries' officials, 2023-2025."""
    load_seed()
    event = models.Event.objects.get()
    export_control = models.Proposal.objects.get(kind=models.Proposal.Kind.EXPORT_CONTROL)
    speakers = []
    for name, code, title in EXTRA_SPEAKERS:
        person = factories.PersonFactory(name=name)
        country = models.Country.objects.get(code=code)
        role = models.Role.objects.create(person=person, title=title, country=country)
        speakers.append((person, role, country))
    sovereignty = 0
    for i in range(24):
        person, role, country = speakers[i % len(speakers)]
        topic = EXTRA_TOPICS[i % len(EXTRA_TOPICS)]
        sovereignty += "sovereignty" in topic
        statement = factories.StatementFactory(
            speaker=person,
            speaker_role=role,
            on_behalf_of_country=country,
            kind=EXTRA_KINDS[i % len(EXTRA_KINDS)],
            text=f"{topic} ({person.name}, remark {i + 1})",
            said_on=datetime.date(2023 + i % 3, 1 + i % 12, 1 + i),
            event=event if i % 4 == 0 else None,
        )
        statement.countries.add(country)
        if topic.startswith("Export controls"):
            statement.proposals.add(export_control)
    return models.Statement.objects.count(), sovereignty


@pytest.fixture(scope="package")
def site(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Site]:
    """A live server on 127.0.0.1 over data built once for all the browser tests.

    Not pytest-django's function-scoped live_server: that makes every test transactional,
    so each would flush every table, then reload the migrated countries and the seed
    (about 4 s a test). The pages under test only read, so one data set serves all of
    them; afterwards the tables it filled are emptied, leaving the migrated reference
    data as the other tests expect it.
    """
    with django_db_blocker.unblock():
        if migrated_data_missing():
            restore_migrated_data()
        statements, sovereignty = build_corpus()
        server = LiveServer("127.0.0.1")
        server._live_server_modified_settings.enable()  # ALLOWED_HOSTS gets 127.0.0.1
        try:
            yield Site(
                url=server.url,
                statements=statements,
                sovereignty_statements=sovereignty,
                quote=models.Statement.objects.get(
                    kind=models.Statement.Kind.DIRECT_QUOTE, speaker__slug="li-qiang"
                ),
                action_plan=models.Proposal.objects.get(kind=models.Proposal.Kind.ACTION_PLAN),
            )
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            remove_test_data()
            # Playwright's sync API runs the tests inside a greenlet, whose context-local
            # connection pytest-django's teardown never sees: close it here.
            connection.close()


# --- Browser --------------------------------------------------------------------------


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    """Playwright for this package's tests only.

    Its sync API keeps an asyncio loop running on the main thread, which makes Django
    refuse ORM calls (SynchronousOnlyOperation) from the tests and their fixtures. The
    ORM is still used synchronously, so Django's check is off while Playwright runs, and
    package scope turns it back on for the tests after these.
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as instance:
            yield instance
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright: Playwright, site: Site) -> Iterator[Browser]:
    # After `site`, so that closing Chromium (and its keep-alive connections, each holding
    # a server thread and its database connection) comes before the server stops.
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}: "
            "run `apt-get install chromium` (Playwright must not download a browser).",
            pytrace=False,
        )
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Watcher:
    """Collects what must never happen on a page: JS errors, CSP violations, off-host requests."""

    problems: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs blocked resources ("Refused to …") and failed loads as errors too.
        if message.type == "error":
            self.problems.append(f"console error on {message.location.get('url')}: {message.text}")

    def page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught JavaScript error: {error}")

    def request(self, request: Request) -> None:
        # Only the live server on 127.0.0.1 may be asked; anything else is a bug (a CDN).
        # Chromium's proxy setting (CHROMIUM_ARGS) has already made it fail.
        if urlsplit(request.url).hostname != "127.0.0.1":
            self.problems.append(f"request off 127.0.0.1 blocked: {request.url}")

    def watch(self, context: BrowserContext) -> None:
        context.add_init_script(CSP_REPORTER)
        context.on("request", self.request)
        context.on("console", self.console)
        context.on("weberror", lambda web_error: self.page_error(web_error.error))


def open_context(browser: Browser, watcher: Watcher, **options: object) -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORT, **options)
    context.set_default_timeout(TIMEOUT_MS)
    watcher.watch(context)
    return context


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    watcher = Watcher()
    yield watcher
    assert not watcher.problems, "problems in the browser:\n" + "\n".join(watcher.problems)


@pytest.fixture
def page(browser: Browser, watcher: Watcher) -> Iterator[Page]:
    context = open_context(browser, watcher)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_without_js(browser: Browser, watcher: Watcher) -> Iterator[Page]:
    context = open_context(browser, watcher, java_script_enabled=False)
    yield context.new_page()
    context.close()
