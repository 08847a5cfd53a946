"""Record pages read the sources of the record (and of its figures or rows) in one query,
with their documents: more sources add no query."""

from __future__ import annotations

import lxml.html
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import models
from tests.factories import DocumentFactory, EventFactory, PersonFactory
from tests.governance.ui_data import add_evidence

pytestmark = pytest.mark.django_db


def _sources(record: models.Event | models.Person | models.EventFigure, n: int) -> list[str]:
    titles = []
    for _ in range(n):
        document = DocumentFactory()  # unique text (its hash is unique)
        document.text += " Over 800 companies came."
        document.save()
        add_evidence(record, document, "Over 800 companies came.")
        titles.append(document.title)
    return titles


def _queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def _figure_links(body: str, figure: models.EventFigure) -> int:
    html = lxml.html.fromstring(body)
    return len(html.xpath(f'//*[@data-fact="eventfigure-{figure.pk}"]//a[@data-source]'))


def test_event_page_sources_of_event_and_figures_in_one_query(client: Client) -> None:
    event = EventFactory()
    figure = models.EventFigure.objects.create(event=event, label="companies", value=800)
    titles = _sources(event, 1)  # the event's sources show their document's title
    _sources(figure, 1)  # a figure's, a source link each in the figure's row
    before, body = _queries(client, event.get_absolute_url())
    assert titles[0] in body and _figure_links(body, figure) == 1
    titles += _sources(event, 3)
    _sources(figure, 3)
    after, body = _queries(client, event.get_absolute_url())
    assert after == before
    assert all(title in body for title in titles)
    assert _figure_links(body, figure) == 4


def test_person_page_sources_add_no_query(client: Client) -> None:
    person = PersonFactory()
    titles = _sources(person, 1)
    before, body = _queries(client, person.get_absolute_url())
    assert titles[0] in body
    titles += _sources(person, 3)
    after, body = _queries(client, person.get_absolute_url())
    assert after == before
    assert all(title in body for title in titles)
