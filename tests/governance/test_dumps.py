"""The full dataset dump: what is in the zip, pruning to the newest N, the atomic write,
the downloads page and the download view (including path traversal attempts)."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count
from django.test import Client, override_settings

from governance import dumps, models
from governance.tasks import build_dataset_dump
from tests.governance.ui_data import UIData, ui_data

__all__ = ["ui_data"]  # the fixture, imported for pytest

pytestmark = pytest.mark.django_db

# file -> the rows it must hold, counted from the models independently of dumps.TABLES.
EXPECTED_COUNTS = {
    "countries.csv": lambda: models.Country.objects.count(),
    "proposals.csv": lambda: models.Proposal.objects.count(),
    "action_plan_items.csv": lambda: models.ActionPlanItem.objects.count(),
    "participation.csv": lambda: models.Participation.objects.count(),
    "people.csv": lambda: models.Person.objects.count(),
    "roles.csv": lambda: models.Role.objects.count(),
    "organizations.csv": lambda: models.Organization.objects.count(),
    "organization_members.csv": lambda: models.Organization.members.through.objects.count(),
    "events.csv": lambda: models.Event.objects.count(),
    "event_figures.csv": lambda: models.EventFigure.objects.count(),
    "statements.csv": lambda: models.Statement.objects.count(),
    "statement_proposals.csv": lambda: models.Statement.proposals.through.objects.count(),
    "statement_countries.csv": lambda: models.Statement.countries.through.objects.count(),
    "statement_organizations.csv": lambda: models.Statement.organizations.through.objects.count(),
    "documents.csv": lambda: models.Document.objects.count(),
    "document_countries.csv": lambda: models.DocumentCountry.objects.count(),
    "evidence.csv": lambda: models.Evidence.objects.count(),
}


def read_csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def dictionary_columns(markdown: str) -> dict[str, list[str]]:
    """file -> the columns the markdown data dictionary describes."""
    out: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        elif current and (match := re.match(r"\| `([^`]+)` \| (.+) \|$", line)):
            assert match.group(2).strip(), f"{current}: {match.group(1)} has no description"
            out[current].append(match.group(1))
    return out


@pytest.fixture
def dump(ui_data: UIData, tmp_path: Path) -> dumps.Dump:
    return dumps.build_dump(tmp_path)


def test_the_dump_holds_every_table_with_its_dictionary_and_manifest(
    dump: dumps.Dump, tmp_path: Path
) -> None:
    with zipfile.ZipFile(dump.path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        assert names == {
            *EXPECTED_COUNTS,
            "data-dictionary.md",
            "data-dictionary.csv",
            "manifest.json",
        }
        manifest = json.loads(archive.read("manifest.json"))
        described = dictionary_columns(archive.read("data-dictionary.md").decode())
        described_csv: dict[str, list[str]] = {}
        for row in read_csv(archive, "data-dictionary.csv"):
            assert row["description"]
            described_csv.setdefault(row["file"], []).append(row["column"])
        for name, expected in EXPECTED_COUNTS.items():
            text = archive.read(name).decode("utf-8")
            header = next(csv.reader(io.StringIO(text)))
            rows = read_csv(archive, name)
            assert len(rows) == expected() == manifest["row_counts"][name], name
            assert all(len(r) == len(header) and None not in r for r in rows), name
            # The dictionary describes exactly the columns of every CSV, in order.
            assert described[name] == header == described_csv[name], name
    assert manifest["format_version"] == 1
    assert manifest["tracker_version"] == "0.1.0"
    assert manifest["schema_migration"]
    built = datetime.datetime.fromisoformat(manifest["built_at"])
    assert abs(built - dump.built_at) < datetime.timedelta(seconds=1)
    assert dump.path.parent == tmp_path and dump.path.name == dumps_name(dump)
    # Only the finished dump is left in the directory, no temporary file.
    assert [p.name for p in tmp_path.iterdir()] == [dump.path.name]


def dumps_name(dump: dumps.Dump) -> str:
    return f"waic-dataset-{dump.built_at.astimezone(datetime.UTC):%Y%m%dT%H%M%SZ}.zip"


def test_dump_rows_hold_the_records(dump: dumps.Dump, ui_data: UIData) -> None:
    with zipfile.ZipFile(dump.path) as archive:
        statements = {int(r["id"]): r for r in read_csv(archive, "statements.csv")}
        evidence = read_csv(archive, "evidence.csv")
        documents = {int(r["id"]): r for r in read_csv(archive, "documents.csv")}
        participation = {int(r["id"]): r for r in read_csv(archive, "participation.csv")}
        links = read_csv(archive, "statement_proposals.csv")
        countries = {r["code"]: r for r in read_csv(archive, "countries.csv")}
        people = {r["slug"]: r for r in read_csv(archive, "people.csv")}
    for s in ui_data.statements:
        row = statements[s.pk]
        assert row["text"] == s.text and row["kind"] == s.kind
        assert row["said_on"] == (s.said_on.isoformat() if s.said_on else "")
        assert row["country_code"] == (s.country or "")
        assert row["url"] == f"http://127.0.0.1:8000/statements/{s.pk}/"
    # Every evidence row is the exact span of its document, and the document is listed.
    for row in evidence:
        document = models.Document.objects.get(pk=int(row["document_id"]))
        assert document.text[int(row["start"]) : int(row["end"])] == row["excerpt"]
        assert int(row["document_id"]) in documents
    statement_evidence = {r["record_id"] for r in evidence if r["record_type"] == "statement"}
    assert statement_evidence == {str(s.pk) for s in ui_data.statements}
    for p in ui_data.participations:
        assert participation[p.pk]["role"] == p.role
        assert participation[p.pk]["country_code"] == (p.country or "")
    expected_links = {(s.pk, slug) for s in ui_data.statements for slug in s.proposals}
    slug_of = dict(models.Proposal.objects.values_list("pk", "slug"))
    assert {(int(r["statement_id"]), slug_of[int(r["proposal_id"])]) for r in links} == (
        expected_links
    )
    # Documents: metadata, not the full text.
    first = ui_data.documents[0]
    assert "text" not in documents[first.pk]
    assert documents[first.pk]["text_length"] == str(len(first.text))
    assert documents[first.pk]["content_sha256"] == first.content_sha256
    assert countries["CN"]["name"] == "China" and countries["CN"]["url"].endswith("/countries/cn/")
    li = ui_data.people["Li Qiang"]
    assert people[li.slug]["name"] == "Li Qiang" and people[li.slug]["merged_into_id"] == ""


def test_many_to_many_rows_and_lists_in_cells(ui_data: UIData, tmp_path: Path) -> None:
    un = ui_data.organizations["United Nations"]
    un.members.set(["CN", "FR"])
    models.Person.objects.filter(pk=ui_data.people["Li Qiang"].pk).update(aliases=["Li", "LQ"])
    dump = dumps.build_dump(tmp_path)
    with zipfile.ZipFile(dump.path) as archive:
        members = read_csv(archive, "organization_members.csv")
        people = {r["name"]: r for r in read_csv(archive, "people.csv")}
    assert {(int(r["organization_id"]), r["country_code"]) for r in members} == {
        (un.pk, "CN"),
        (un.pk, "FR"),
    }
    assert people["Li Qiang"]["aliases"] == "Li; LQ"


def fake_dump(directory: Path, when: datetime.datetime, content: bytes = b"old") -> Path:
    path = directory / f"waic-dataset-{when:%Y%m%dT%H%M%SZ}.zip"
    path.write_bytes(content)
    return path


def test_only_the_newest_dumps_are_kept(ui_data: UIData, tmp_path: Path) -> None:
    base = datetime.datetime(2026, 1, 1, 3, 30, tzinfo=datetime.UTC)
    old = [fake_dump(tmp_path, base + datetime.timedelta(days=n)) for n in range(5)]
    other = tmp_path / "notes.txt"
    other.write_text("not a dump")
    building = tmp_path / ".building-x.zip.tmp"
    building.write_bytes(b"in progress")
    dump = dumps.build_dump(tmp_path, keep=3)
    kept = sorted(p.name for p in tmp_path.iterdir())
    # The new one and the two newest old ones; other files are never touched.
    assert kept == sorted([dump.path.name, old[4].name, old[3].name, other.name, building.name])
    assert [d.name for d in dumps.list_dumps(tmp_path)] == [
        dump.path.name,
        old[4].name,
        old[3].name,
    ]
    with override_settings(DUMPS_KEEP=1):
        dumps.build_dump(tmp_path)
    assert len(dumps.list_dumps(tmp_path)) == 1


def test_a_failed_build_leaves_no_file_and_keeps_the_old_dumps(
    ui_data: UIData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fake_dump(tmp_path, datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    def broken(table: dumps.Table) -> object:
        if table.file == "statements.csv":
            raise RuntimeError("database went away")
        return real(table)

    real = dumps.table_rows
    monkeypatch.setattr(dumps, "table_rows", broken)
    with pytest.raises(RuntimeError):
        dumps.build_dump(tmp_path, keep=1)
    assert list(tmp_path.iterdir()) == [old]


def test_build_dump_command(ui_data: UIData, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("build_dump", "--dir", str(tmp_path), "--keep", "2", stdout=out)
    (path,) = tmp_path.iterdir()
    assert str(path) in out.getvalue()
    n = models.Statement.objects.count()
    assert f"statements.csv: {n:,} rows" in out.getvalue()


# --- /data/ and downloads ---------------------------------------------------------------


def test_downloads_page_shows_the_latest_dump_and_older_ones(
    client: Client, ui_data: UIData, tmp_path: Path
) -> None:
    older = fake_dump(tmp_path, datetime.datetime(2026, 1, 2, 3, 30, tzinfo=datetime.UTC))
    with override_settings(DUMPS_DIR=tmp_path):
        dump = dumps.build_dump(keep=5)
        page = client.get("/data/").content.decode()
    assert f'href="/data/dumps/{dump.path.name}"' in page
    assert f'href="/data/dumps/{older.name}"' in page
    assert page.index(dump.path.name) < page.index(older.name)
    assert "2 January 2026" in page
    n = models.Statement.objects.count()
    assert re.search(rf"<code>statements.csv</code></td><td class=\"num\">{n}</td>", page)
    # The notes on list exports name every list's columns.
    for column in ("source_url", "evidence", "participant_type", "countries"):
        assert f"<code>{column}</code>" in page


def test_downloads_page_without_dumps(client: Client, tmp_path: Path) -> None:
    with override_settings(DUMPS_DIR=tmp_path / "missing"):
        response = client.get("/data/")
    assert response.status_code == 200
    assert "No dump has been built yet" in response.content.decode()


def test_download_a_dump(client: Client, tmp_path: Path) -> None:
    path = fake_dump(
        tmp_path, datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.UTC), b"PK zip"
    )
    with override_settings(DUMPS_DIR=tmp_path):
        response = client.get(f"/data/dumps/{path.name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{path.name}"'
    assert b"".join(response.streaming_content) == b"PK zip"


@pytest.mark.parametrize(
    "url",
    [
        "/data/dumps/waic-dataset-20260101T000000Z.zip",  # the right shape, but absent
        "/data/dumps/secret.zip",  # a file in DUMPS_DIR that is not a dump
        "/data/dumps/..%2Fsecret.zip",
        "/data/dumps/..%2F..%2Fetc%2Fpasswd",
        "/data/dumps/%2Fetc%2Fpasswd",
        "/data/dumps/..",
        "/data/dumps/../dumps/secret.zip",
        "/data/dumps/waic-dataset-20260101T000000Z.zip%00.txt",
        "/data/dumps/waic-dataset-20261399T000000Z.zip",  # not a date
        "/data/dumps/.building-1.zip.tmp",
    ],
)
def test_anything_but_an_existing_dump_is_not_found(
    client: Client, tmp_path: Path, url: str
) -> None:
    dumps_dir = tmp_path / "dumps"
    dumps_dir.mkdir()
    (dumps_dir / "secret.zip").write_bytes(b"secret")
    (dumps_dir / ".building-1.zip.tmp").write_bytes(b"partial")
    (tmp_path / "secret.zip").write_bytes(b"outside")
    with override_settings(DUMPS_DIR=dumps_dir):
        response = client.get(url)
    # A NUL in the path is refused before any view (governance/validation.py): a 400.
    assert response.status_code == (400 if "%00" in url else 404)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"secret" not in body and b"partial" not in body and b"outside" not in body


def test_statement_counts_in_manifest_match_grouped_counts(dump: dumps.Dump) -> None:
    """The per-country statement rows in the dump agree with the database's grouping."""
    with zipfile.ZipFile(dump.path) as archive:
        rows = read_csv(archive, "statements.csv")
    by_country: dict[str, int] = {}
    for row in rows:
        by_country[row["country_code"]] = by_country.get(row["country_code"], 0) + 1
    grouped = dict(
        models.Statement.objects.values_list("on_behalf_of_country")
        .annotate(n=Count("*"))
        .order_by()
    )
    assert by_country == {(k or ""): v for k, v in grouped.items()}


def test_beat_builds_it_daily() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["build-dataset-dump"]
    assert entry["task"] == build_dataset_dump.name == "governance.tasks.build_dataset_dump"
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    assert schedule.hour == {settings.DUMPS_HOUR} and schedule.minute == {30}
    assert schedule.day_of_week == set(range(7))
