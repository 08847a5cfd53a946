"""Every fact shown on a record page shows its source: the seed is loaded, every record
page visited, and each fact row (an element with `data-fact="<model>-<pk>"`) must link
the evidence of that very record, a link that lands on a span of a document page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import lxml.html
import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model
from django.test import Client

from governance import models

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_for_the_module")]


def _page(client: Client, url: str) -> lxml.html.HtmlElement:
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml.html.fromstring(response.content.decode())


def _record(key: str) -> Model:
    model_name, _, pk = key.rpartition("-")
    return apps.get_model("governance", model_name)._default_manager.get(pk=pk)


def _evidence_urls(record: Model) -> set[str]:
    rows = models.Evidence.objects.filter(
        content_type=ContentType.objects.get_for_model(record), object_id=str(record.pk)
    ).select_related("document")
    return {ev.get_absolute_url() for ev in rows}


def _expected_facts(url: str) -> set[str]:
    """The facts a record page must show, from the database: what each page promises."""
    match = [r for r in _records() if r.get_absolute_url() == url]
    if not match:
        return set()
    record = match[0]
    keys: set[str] = set()

    def key(r: Model) -> str:
        return f"{r._meta.model_name}-{r.pk}"

    if isinstance(record, models.Proposal):
        keys |= {key(i) for i in record.items.all()}
        keys |= {key(p) for p in record.participations.all()}
        if record.headquarters_statement:
            keys.add(key(record.headquarters_statement))
    elif isinstance(record, models.Event):
        keys |= {key(f) for f in record.figures.all()}
        keys |= {key(p) for p in record.participations.all()}
    elif isinstance(record, models.Person | models.Organization):
        keys |= {key(r) for r in record.roles.all()}
        keys |= {key(p) for p in record.participations.all()}
    elif isinstance(record, models.Country):
        keys |= {key(p) for p in record.participations.all()}
    elif isinstance(record, models.Statement):
        keys.add(key(record))
    return keys


def _records() -> Iterator[Model]:
    yield from models.Proposal.objects.all()
    yield from models.Event.objects.all()
    yield from models.Person.objects.all()
    yield from models.Organization.objects.all()
    yield from models.Statement.objects.all()
    # The countries taking part: every country with a recorded role.
    yield from models.Country.objects.filter(participations__isnull=False).distinct()


def test_every_fact_on_every_record_page_links_its_source(client: Client) -> None:
    pages = [r.get_absolute_url() for r in _records()]
    pages += ["/participation/", "/compare/?countries=cn,us,ru,fr"]
    assert len(pages) > 30
    document_pages: dict[str, str] = {}
    checked = 0
    for url in pages:
        html = _page(client, url)
        rows = html.xpath("//*[@data-fact]")
        found = {row.get("data-fact") for row in rows}
        missing = _expected_facts(url) - found
        assert not missing, f"{url}: facts shown without a fact row: {sorted(missing)}"
        for row in rows:
            key = row.get("data-fact")
            links = row.xpath(".//a[@data-source]/@href")
            assert links, f"{url}: {key} shows no source"
            # Each link is the evidence of the row's own record, not some other fact's.
            assert set(links) <= _evidence_urls(_record(key)), f"{url}: {key} {links}"
            for link in links:
                path, fragment = urlsplit(link).path, urlsplit(link).fragment
                if path not in document_pages:
                    response = client.get(path)
                    assert response.status_code == 200, link
                    document_pages[path] = response.content.decode()
                # The fragment names an element of the document page: the span.
                assert f'id="{fragment}"' in document_pages[path], link
                checked += 1
    assert checked > 100


def test_the_roundtable_delegates_show_their_sentence(client: Client) -> None:
    event = models.Event.objects.get(short_name="WAIC 2025")
    html = _page(client, event.get_absolute_url())
    sentence = (
        "The forum included delegates from over 30 countries, including Russia, Germany, "
        "South Korea, South Africa, and Qatar."
    )
    delegates = models.Participation.objects.filter(event=event, role="delegate")
    assert delegates.count() == 5
    for p in delegates:
        (row,) = html.xpath(f'//*[@data-fact="participation-{p.pk}"]')
        assert p.country.name in row.text_content()
        # The whole sentence, not a cut: the row's own words are only "Russia" or "Qatar".
        assert sentence in row.text_content()


def test_headquarters_row_says_who_said_it(client: Client) -> None:
    proposal = models.Proposal.objects.get(kind="international_body")
    statement = proposal.headquarters_statement
    assert statement is not None and statement.speaker.name == "Ma Zhaoxu"
    html = _page(client, proposal.get_absolute_url())
    # The row names the statement as its fact (its card in the statements list does too).
    (row,) = html.xpath(f'//*[@data-fact="statement-{statement.pk}"][dt="Proposed headquarters"]')
    assert "Shanghai (under consideration)" in row.text_content()
    hrefs = row.xpath(".//a/@href")
    assert statement.speaker.get_absolute_url() in hrefs
    assert statement.get_absolute_url() in hrefs
    assert "Vice Foreign Minister" in row.text_content()
