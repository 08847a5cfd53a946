"""'Cite this' on every record page: plain text and BibTeX, permanent URL, access date."""

from __future__ import annotations

import datetime
import html as htmllib
import re

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from governance import models
from governance.citations import Citation, bibtex_escape, bibtex_url, citation_for
from tests import factories
from tests.governance.ui_data import add_evidence

pytestmark = pytest.mark.django_db

SITE = "https://tracker.example.org"


def braces_balanced(text: str) -> bool:
    """Unescaped { and } pair up, as BibTeX requires of a field."""
    depth = 0
    for token in re.findall(r"\\[{}]|[{}]", text):
        if token in ("\\{", "\\}"):
            continue
        depth += 1 if token == "{" else -1
        if depth < 0:
            return False
    return depth == 0


def test_bibtex_escape_every_special_character() -> None:
    assert bibtex_escape("{ } % & # _ $ \\") == (r"\{ \} \% \& \# \_ \$ \textbackslash{}")
    assert bibtex_escape("50% of R&D_costs: $5 #1 {draft} ~x^2") == (
        r"50\% of R\&D\_costs: \$5 \#1 \{draft\} \textasciitilde{}x\textasciicircum{}2"
    )
    assert bibtex_escape("Plain words, “quotes” and ünïcode") == (
        "Plain words, “quotes” and ünïcode"
    )
    # A backslash becomes \textbackslash{}; its braces are not escaped a second time.
    assert bibtex_escape("a\\{b") == r"a\textbackslash{}\{b"


def test_bibtex_url_keeps_url_usable() -> None:
    assert bibtex_url("https://x.org/a_b?q=50%25#frag") == r"https://x.org/a_b?q=50\%25\#frag"
    assert bibtex_url("https://x.org/{a}\\b") == r"https://x.org/\%7Ba\%7D\%5Cb"


def test_bibtex_entry_of_a_title_full_of_specials() -> None:
    citation = Citation(
        kind="proposal",
        key="r-d-100",
        title="R&D {Fund} for 100% of #AI_safety at $0 \\ cost",
        url="https://tracker.example.org/proposals/r-d-100/",
        accessed=datetime.date(2026, 5, 14),
        date=datetime.date(2025, 7, 26),
    )
    assert citation.bibtex == (
        "@misc{aigt-proposal-r-d-100,\n"
        r"  title = {{R\&D \{Fund\} for 100\% of \#AI\_safety at \$0 \textbackslash{} cost}},"
        "\n"
        "  organization = {AI Governance Tracker},\n"
        r"  howpublished = {\url{https://tracker.example.org/proposals/r-d-100/}},"
        "\n"
        "  year = {2025},\n"
        "  date = {2025-07-26},\n"
        "  urldate = {2026-05-14},\n"
        "  note = {Accessed 2026-05-14}\n"
        "}\n"
    )
    assert braces_balanced(citation.bibtex)


def test_plain_text_format() -> None:
    citation = Citation(
        kind="statement",
        key="12",
        title="AI must serve the common good",
        url="https://tracker.example.org/statements/12/",
        accessed=datetime.date(2026, 5, 4),
        date=datetime.date(2025, 7, 26),
        author="Li Qiang",
    )
    assert citation.plain == (
        "Li Qiang. “AI must serve the common good.” Statement, 26 July 2025. "
        "AI Governance Tracker. https://tracker.example.org/statements/12/ "
        "(accessed 4 May 2026)."
    )
    undated = Citation("country", "CN", "China", f"{SITE}/countries/cn/", datetime.date(2026, 1, 2))
    assert undated.plain == (
        "“China.” Country. AI Governance Tracker. https://tracker.example.org/countries/cn/ "
        "(accessed 2 January 2026)."
    )
    assert "year" not in undated.bibtex and "@misc{aigt-country-cn," in undated.bibtex


@override_settings(SITE_URL=SITE)
def test_citation_for_uses_the_slug_url_and_record_date() -> None:
    proposal = factories.ProposalFactory(
        title="Global Compact", announced_on=datetime.date(2024, 9, 22)
    )
    citation = citation_for(proposal, accessed=datetime.date(2026, 1, 1))
    assert citation.url == f"{SITE}/proposals/{proposal.slug}/"
    assert citation.date == datetime.date(2024, 9, 22)
    assert "year = {2024}" in citation.bibtex
    with pytest.raises(TypeError):
        citation_for(models.Source(name="x"))


@pytest.fixture
def records() -> dict[str, object]:
    person = factories.PersonFactory(name="Ada_Lovelace & Co")
    document = factories.DocumentFactory(
        title="Report on 100% {compute}",
        text="Ada said: “Compute & care #1.” End.",
        published_at=datetime.datetime(2025, 3, 1, 12, tzinfo=datetime.UTC),
    )
    statement = factories.StatementFactory(
        speaker=person, text="Compute & care #1.", said_on=datetime.date(2025, 3, 1)
    )
    add_evidence(statement, document, "Compute & care #1.")
    return {
        "proposal": factories.ProposalFactory(
            title="Charter $1 for AI", announced_on=datetime.date(2024, 1, 5)
        ),
        "country": models.Country.objects.get(code="CN"),
        "person": person,
        "organization": factories.OrganizationFactory(name="Lab_42"),
        "event": factories.EventFactory(name="Summit #3", start_date=datetime.date(2025, 2, 10)),
        "statement": statement,
        "document": document,
    }


@override_settings(SITE_URL=SITE)
@pytest.mark.parametrize(
    "kind", ["proposal", "country", "person", "organization", "event", "statement", "document"]
)
def test_every_record_page_offers_a_citation(client: Client, records: dict, kind: str) -> None:
    record = records[kind]
    response = client.get(record.get_absolute_url())
    assert response.status_code == 200
    page = response.content.decode()
    box = re.search(r'<details class="panel cite" id="cite">(.*?)</details>', page, re.S)
    assert box, "the Cite this box"
    text = htmllib.unescape(box.group(1))
    permanent = SITE + record.get_absolute_url()
    today = timezone.localdate()
    assert f'href="{permanent}"' in box.group(1)
    plain = htmllib.unescape(re.search(r'<p class="cite-plain">(.*?)</p>', box.group(1)).group(1))
    assert plain.endswith(f"{permanent} (accessed {today:%-d %B %Y}).")
    bibtex = htmllib.unescape(re.search(r"<code>(.*?)</code>", box.group(1), re.S).group(1))
    assert bibtex.startswith("@misc{aigt-" + kind + "-")
    assert f"howpublished = {{\\url{{{permanent}}}}}" in bibtex
    assert f"note = {{Accessed {today.isoformat()}}}" in bibtex
    assert "organization = {AI Governance Tracker}" in bibtex
    assert braces_balanced(bibtex)
    assert "Cite this" in text


@override_settings(SITE_URL=SITE)
def test_record_specific_details(client: Client, records: dict) -> None:
    page = htmllib.unescape(client.get(records["statement"].get_absolute_url()).content.decode())
    assert r"author = {{Ada\_Lovelace \& Co}}" in page
    assert r"title = {{Compute \& care \#1.}}" in page
    assert "date = {2025-03-01}" in page
    assert "Ada_Lovelace & Co. “Compute & care #1.” Statement, 1 March 2025." in page
    page = htmllib.unescape(client.get(records["event"].get_absolute_url()).content.decode())
    assert r"title = {{Summit \#3}}" in page and "year = {2025}" in page
    page = htmllib.unescape(client.get(records["document"].get_absolute_url()).content.decode())
    assert r"title = {{Report on 100\% \{compute\}}}" in page
