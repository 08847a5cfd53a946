"""The first pages show the seed data, link every fact to its source, and pin their queries."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import models
from tests import factories

# Every test here reads the seed article's records, loaded once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_for_the_module")]

QUOTE_START = "AI should be a common good for all of humanity."


def get(client: Client, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, url
    return response.content.decode()


def test_dashboard_shows_quote_with_speaker_and_source(client: Client) -> None:
    html = get(client, "/")
    assert QUOTE_START in html
    assert "Li Qiang" in html and "Premier of China" in html
    document = models.Document.objects.get()
    quote = models.Statement.objects.get(kind="direct_quote")
    span = quote.evidence.get(excerpt__startswith="AI should")
    # The source link lands on the exact span in the document.
    assert f'href="/documents/{document.pk}/#span-{span.start}-{span.end}"' in html
    for proposal in models.Proposal.objects.all():
        assert proposal.title in html
    for country in ["China", "United States", "Russia", "Germany", "South Korea", "Qatar"]:
        assert country in html
    assert "WAIC 2025" in html  # the recent-events timeline


def test_every_record_page_renders(client: Client) -> None:
    urls = [
        *(p.get_absolute_url() for p in models.Proposal.objects.all()),
        *(p.get_absolute_url() for p in models.Person.objects.all()),
        *(o.get_absolute_url() for o in models.Organization.objects.all()),
        *(e.get_absolute_url() for e in models.Event.objects.all()),
        *(s.get_absolute_url() for s in models.Statement.objects.all()),
        *(d.get_absolute_url() for d in models.Document.objects.all()),
        "/countries/cn/",
        "/countries/us/",
    ]
    assert len(urls) > 25
    for url in urls:
        get(client, url)


def test_proposal_page_lists_items_and_participation(client: Client) -> None:
    plan = models.Proposal.objects.get(kind="action_plan")
    html = get(client, plan.get_absolute_url())
    for item in plan.items.all():
        assert item.heading in html
    assert "Ministry of Foreign Affairs of China" in html and "Issuer" in html


class DocumentText(HTMLParser):
    """The document page's text as served: every character, with the spans covering it."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.covering: list[list[str]] = []  # the data-spans of each open element
        self.chars: list[tuple[str, frozenset[str]]] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "article" and "doc-text" in (found.get("class") or ""):
            self.inside = True
        elif self.inside:
            if found.get("class") == "anchor":
                self.anchors.append(found["id"] or "")
            self.covering.append((found.get("data-spans") or "").split())

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.inside = False
        elif self.inside:
            self.covering.pop()

    def handle_data(self, data: str) -> None:
        if self.inside:
            keys = frozenset(k for keys in self.covering for k in keys)
            self.chars += [(c, keys) for c in data]


def test_document_page_marks_every_span_exactly(client: Client) -> None:
    """Each span's characters, and only they, name it, however the seed's spans overlap;
    the text itself is plain (no <mark>) until the reader targets a span."""
    document = models.Document.objects.get()
    html = get(client, document.get_absolute_url())
    served = DocumentText()
    served.feed(html)
    assert "".join(c for c, _ in served.chars) == document.text
    spans = set(document.evidence.values_list("start", "end"))
    assert sorted(served.anchors) == sorted(f"span-{s}-{e}" for s, e in spans)
    for start, end in spans:
        named = [i for i, (_, keys) in enumerate(served.chars) if f"{start}-{end}" in keys]
        assert named == list(range(start, end)), (start, end)
    assert "<mark" not in html
    assert "js/evidence" in html  # the script that marks the targeted span


def test_country_page_is_case_insensitive_and_404s_cleanly(client: Client) -> None:
    assert "Washington" in get(client, "/countries/us/")  # an alias, shown on the page
    assert client.get("/countries/zz/").status_code == 404
    assert client.get("/people/nobody/").status_code == 404


def test_pages_vary_on_htmx_headers(client: Client) -> None:
    response = client.get("/", headers={"HX-Request": "true"})
    assert "HX-Request" in response["Vary"]


def test_dashboard_query_count_does_not_grow_with_data(client: Client) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            get(client, "/")
        return len(ctx.captured_queries)

    baseline = queries()
    for _ in range(5):
        statement = factories.StatementFactory()
        statement.proposals.add(factories.ProposalFactory())
    assert queries() == baseline
    # 3 of them open the page's read transaction with its statement timeout (in tests:
    # savepoint, set_config, release); the performance issue brings the rest down.
    assert baseline <= 19


def test_manage_py_check_is_clean() -> None:
    call_command("check", fail_level="WARNING")


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/statements/",
        "/proposals/",
        "/countries/",
        "/countries/cn/",
        "/events/",
        "/people/",
        "/organizations/",
        "/search/?q=china",
        "/compare/?countries=cn,us",
    ],
)
def test_no_template_syntax_leaks_into_pages(client: Client, url: str) -> None:
    """A multi-line {# #} comment is not a comment in Django: it would print."""
    html = get(client, url)
    for token in ("{#", "#}", "{%", "%}", "{{", "}}"):
        assert token not in html, f"{token!r} in {url}"


def test_country_tabs_are_links_and_htmx_partials(client: Client) -> None:
    """Each tab is a bookmarkable ?tab= link; htmx gets only the tab region, a history
    restore the whole page; a bogus tab falls back to the first."""
    full = get(client, "/countries/cn/?tab=statements")
    assert "<html" in full and QUOTE_START in full
    assert 'href="?tab=documents"' in full and 'aria-current="page" class="active"' in full
    partial = get(
        client, "/countries/cn/?tab=statements", HX_Request="true", HX_Target="country-tabs"
    )
    assert "<html" not in partial and QUOTE_START in partial and 'class="tabs"' in partial
    restored = get(
        client,
        "/countries/cn/?tab=statements",
        HX_Request="true",
        HX_Target="country-tabs",
        HX_History_Restore_Request="true",
    )
    assert "<html" in restored
    documents = get(client, "/countries/cn/?tab=documents")
    assert models.Document.objects.get().title in documents and QUOTE_START not in documents
    assert "Proposed or issued" in get(client, "/countries/cn/?tab=nonsense")


def test_a_proposer_with_two_roles_is_named_once(client: Client) -> None:
    proposal = factories.ProposalFactory(title="A Plan Proposed and Issued by One Country")
    china = models.Country.objects.get(code="CN")
    for role in ("proposer", "issuer"):
        models.Participation.objects.create(proposal=proposal, country=china, role=role)
    body = client.get(proposal.get_absolute_url()).content.decode()
    proposers = re.search(r"<dt>Proposed or issued by</dt><dd>(.*?)</dd>", body).group(1)
    assert proposers.count(">China</a>") == 1
    assert '<span class="muted">(issuer, proposer)</span>' in proposers
