"""CSV safe to open: a feed entry whose title or author is a spreadsheet formula comes out
neutralized (a leading quote) in the documents export and in the dump's documents.csv,
and raw in the JSON export; numbers stay numbers; every CSV writer goes through
governance.spreadsheet."""

from __future__ import annotations

import ast
import csv
import io
import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from governance import dumps, spreadsheet
from governance.models import Document, Event, EventFigure
from tests.ingest.feeds import PARAGRAPHS, rss
from tests.ingest.payload_server import PayloadServer

pytestmark = pytest.mark.django_db

TITLE = "=cmd|' /C calc'!A0"
AUTHOR = "@SUM(1+1)"


@pytest.fixture
def formula_document() -> Document:
    """Ingested the way an attacker's feed would be: through `manage.py ingest`."""
    server = PayloadServer().start()
    try:
        server.add(
            "/feed.xml",
            body=rss(
                [
                    {
                        "title": TITLE,
                        "author": AUTHOR,
                        "link": "http://wire.test/formula",
                        "content": PARAGRAPHS[0],
                    }
                ]
            ),
        )
        with override_settings(INGEST_ALLOW_LOOPBACK=True):
            call_command("ingest", server.url("/feed.xml"), stdout=StringIO())
    finally:
        server.stop()
    document = Document.objects.get()
    # The stored record keeps exactly what the feed said: only the CSV changes it.
    assert (document.title, document.author) == (TITLE, AUTHOR)
    return document


def _download(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_documents_csv_export_neutralizes_formulas(
    client: Client, formula_document: Document
) -> None:
    body = _download(client, "/documents/?format=csv")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["title"] == "'" + TITLE
    assert row["author"] == "'" + AUTHOR
    assert row["id"] == str(formula_document.pk)
    # No line of the file has a cell that starts with the formula itself.
    for record in csv.reader(io.StringIO(body)):
        assert not any(cell.startswith(("=", "@")) for cell in record)
    assert spreadsheet.restore(row["title"]) == TITLE


def test_documents_json_export_keeps_the_raw_value(
    client: Client, formula_document: Document
) -> None:
    [row] = json.loads(_download(client, "/documents/?format=json"))
    assert (row["title"], row["author"]) == (TITLE, AUTHOR)


def test_dump_documents_csv_neutralizes_formulas(
    formula_document: Document, tmp_path: Path
) -> None:
    dump = dumps.build_dump(tmp_path)
    with zipfile.ZipFile(dump.path) as archive:
        text = archive.read("documents.csv").decode("utf-8")
        dictionary = archive.read(dumps.DICTIONARY_MD).decode("utf-8")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["title"] == "'" + TITLE and row["author"] == "'" + AUTHOR
    assert "single quote" in dictionary


def test_numbers_stay_numbers_and_text_that_looks_negative_is_text(tmp_path: Path) -> None:
    event = Event.objects.create(name="-Summit", slug="summit")
    EventFigure.objects.create(event=event, label="-5 delegations", value=800)
    dump = dumps.build_dump(tmp_path)
    with zipfile.ZipFile(dump.path) as archive:
        [figure] = list(
            csv.DictReader(io.StringIO(archive.read("event_figures.csv").decode("utf-8")))
        )
        [row] = list(csv.DictReader(io.StringIO(archive.read("events.csv").decode("utf-8"))))
    assert figure["value"] == "800" and figure["label"] == "'-5 delegations"
    assert row["name"] == "'-Summit"
    out = io.StringIO()
    spreadsheet.Writer(out).writerow([-3, -2.5, "-3", "'=x", "'Tis", "a=b"])
    assert out.getvalue() == "-3,-2.5,'-3,''=x,'Tis,a=b\r\n"


def test_every_csv_writer_in_the_app_goes_through_the_helper() -> None:
    """A new CSV writer written with the csv module directly would skip the neutralizing."""
    offenders = []
    for path in sorted((Path(settings.BASE_DIR) / "governance").rglob("*.py")):
        if path.name == "spreadsheet.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
                and node.attr in ("writer", "DictWriter")
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
