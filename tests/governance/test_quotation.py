# Curly quotation marks are this module's subject, not typos.
"""Issue 24, quotation hygiene: no statement is ever shown misquoted.

The seed and a made-up article with a statement of every kind are loaded through the
seed loader; then EVERY statement is read where analysts and machines meet it — its
page, the statements browser, global search, the Atom feed, the CSV/JSON exports, the
dataset dump and the API — and in each the words shown inside quotation marks must
occur verbatim in the statement's evidence (excerpt and document span), while a
paraphrase or remarks are shown with no quotation mark at all. Expected runs are read
back from what each surface shows, never from the rendering code.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client

from governance import dumps, models, quotation
from governance.seed import SeedError, load_seed

pytestmark = pytest.mark.django_db

MARKS = set(quotation.QUOTE_MARKS)
RUN = re.compile(r"“([^“”]*)”")
STOPWORDS = {"should", "would", "could", "their", "there", "which", "about"}

ARTICLE = "\n".join(
    [
        "Ministers met in Geneva for the AI Safety Forum on Tuesday.",
        "“We will publish our <b>model</b> evaluations & share them openly,” Minister Ada Vale"
        " said.",
        "Vale called the plan a turning point for open science and a race we cannot afford to"
        " lose, aides said.",
        "Vale said the forum should meet every year.",
        "Vale delivered remarks at the closing session.",
        "",
    ]
)


def made_up_seed(tmp_path: Path, statements: list[dict[str, Any]]) -> Path:
    (tmp_path / "article.txt").write_text(ARTICLE, encoding="utf-8")
    data = {
        "document": {
            "title": "Made-up forum article",
            "text_file": "article.txt",
            "language": "en",
            "source": {"name": "Made-up source", "kind": "manual"},
        },
        "events": [
            {
                "name": "AI Safety Forum 2026",
                "start_date": "2026-03-03",
                "end_date": "2026-03-05",
                "evidence": ["AI Safety Forum"],
            }
        ],
        "people": [{"slug": "ada-vale", "name": "Ada Vale", "evidence": ["Ada Vale"]}],
        "statements": statements,
    }
    path = tmp_path / "forum.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


MADE_UP = [
    {
        "speaker": "ada-vale",
        "kind": "direct_quote",
        "said_on": "2026-03-03",
        "event": "AI Safety Forum 2026",
        "text": "We will publish our <b>model</b> evaluations & share them openly",
        "evidence": ["We will publish our <b>model</b> evaluations & share them openly"],
    },
    {
        "speaker": "ada-vale",
        "kind": "partial_quote",
        "event": "AI Safety Forum 2026",  # undated: shown with the forum's dates
        "text": "Called the plan a turning point for open science and a race we cannot "
        "afford to lose.",
        "quoted": ["a turning point for open science", "a race we cannot afford to lose"],
        "evidence": [
            "Vale called the plan a turning point for open science and a race we cannot "
            "afford to lose, aides said."
        ],
    },
    {
        "speaker": "ada-vale",
        "kind": "paraphrase",
        "said_on": "2026-03-04",
        "text": "Said the forum should meet every year.",
        "evidence": ["Vale said the forum should meet every year."],
    },
    {
        "speaker": "ada-vale",
        "kind": "remarks",
        "said_on": "2026-03-05",
        "text": "Delivered remarks at the closing session.",
        "evidence": ["Vale delivered remarks at the closing session."],
    },
]


@pytest.fixture
def everything(tmp_path: Path) -> list[models.Statement]:
    load_seed()
    load_seed(made_up_seed(tmp_path, MADE_UP))
    statements = list(models.Statement.objects.order_by("pk"))
    assert {s.kind for s in statements} == set(models.Statement.Kind.values)
    return statements


def evidence_texts(statement: models.Statement) -> list[str]:
    """The statement's evidence, each both as stored and as the document's span."""
    out = []
    for ev in models.Evidence.objects.filter(
        content_type__model="statement", object_id=str(statement.pk)
    ).select_related("document"):
        assert ev.document.text[ev.start : ev.end] == ev.excerpt
        out.append(ev.excerpt)
    assert out, f"statement {statement.pk} has no evidence"
    return out


def assert_honest(shown: str, statement: models.Statement, where: str) -> None:
    """What `where` shows of `statement`: every run inside “ ” verbatim in its evidence
    (a run cut short by "…" up to the cut), no mark outside a run, none at all for a
    paraphrase or remarks, and a quote shows at least one run."""
    shown = html.unescape(shown)
    context = f"{where}, statement {statement.pk} ({statement.kind}): {shown!r}"
    if statement.kind in ("paraphrase", "remarks"):
        assert not MARKS & set(shown), context
        return
    runs = RUN.findall(shown)
    assert runs, context
    outside = RUN.sub("", shown)
    assert not MARKS & set(outside.rstrip("…")), context
    excerpts = evidence_texts(statement)
    for run in runs:
        words = run.removesuffix("…").rstrip()
        assert words and any(words in e for e in excerpts), context


def group(pattern: str, text: str) -> str:
    found = re.search(pattern, text, re.S)
    assert found is not None, (pattern, text[:200])
    return found.group(1)


def streamed(client: Client, params: dict[str, str]) -> str:
    response = client.get("/statements/", params)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]


def words_of_card(page: str, statement: models.Statement) -> str:
    """The words of the statement card (its first paragraph), tags stripped."""
    card = page[page.index('<article class="statement') :]
    para = re.search(r"<p[^>]*>(.*?)</p>", card, re.S)
    assert para is not None
    words = re.sub(r"<span class=\"tag\">.*?</span>", "", para.group(1))
    return re.sub(r"<[^>]+>", "", words).strip()


def test_every_statement_is_shown_quoted_honestly_everywhere(
    client: Client, everything: list[models.Statement]
) -> None:
    partial = next(s for s in everything if s.speaker and s.speaker.slug == "li-qiang" and s.quoted)
    assert partial.kind == "partial_quote"  # the "done when"
    for statement in everything:
        # The stored text holds no quotation mark the evidence does not have.
        if statement.kind != "direct_quote":
            assert not MARKS & set(statement.text), statement.text
        else:
            assert any(statement.text in e for e in evidence_texts(statement))

        # Its page.
        page = client.get(statement.get_absolute_url()).content.decode()
        assert_honest(words_of_card(page, statement), statement, "statement page")

        # The statements browser, searched for one of its words (the match highlighted).
        words = re.findall(r"[A-Za-z]{5,}", statement.text)
        word = max((w for w in words if w.lower() not in STOPWORDS), key=len)
        browser = client.get("/statements/", {"q": word}).content.decode()
        at = browser.find(f'href="/statements/{statement.pk}/"')
        assert at != -1, (word, statement.pk)
        card = browser[browser.rfind('<article class="statement', 0, at) :]
        assert_honest(words_of_card(card, statement), statement, "statements browser")

        # Global search.
        found = client.get("/search/", {"q": word}).content.decode()
        link = re.search(rf'<a href="/statements/{statement.pk}/">(.*?)</a>', found, re.S)
        assert link is not None, (word, statement.pk)
        assert_honest(re.sub(r"<[^>]+>", "", link.group(1)), statement, "search")

    # The Atom feed: every statement's entry title and summary.
    feed = client.get("/statements/feed/").content.decode()
    for statement in everything:
        entry = re.search(
            rf"<entry>(?:(?!</entry>).)*?statement:{statement.pk}</id>.*?</entry>", feed, re.S
        )
        assert entry is not None, statement.pk
        title = re.search(r"<title[^>]*>(.*?)</title>", entry.group(0), re.S)
        assert title is not None
        speaker = statement.speaker.name if statement.speaker else "Unattributed"
        assert_honest(html.unescape(title.group(1)).removeprefix(f"{speaker}: "), statement, "feed")
        summary = html.unescape(group(r"<summary[^>]*>(.*?)</summary>", entry.group(0)))
        words = re.sub(r"<[^>]+>", "", group(r"<p>(.*?)</p>", summary))
        assert_honest(words, statement, "feed summary")

    by_pk = {s.pk: s for s in everything}
    # Exports: JSON and CSV of the statements list.
    rows = json.loads(streamed(client, {"format": "json"}))
    assert {r["id"] for r in rows} == set(by_pk)
    for row in rows:
        statement = by_pk[row["id"]]
        assert_honest(row["display_text"], statement, "JSON export")
        assert not MARKS & set(row["text"]) or statement.kind == "direct_quote"
        assert row["quoted"] == RUN.findall(row["display_text"])
    text = streamed(client, {"format": "csv"})
    for row in csv.DictReader(io.StringIO(text)):
        statement = by_pk[int(row["id"])]
        assert_honest(row["display_text"], statement, "CSV export")
        assert row["quoted"].splitlines() == RUN.findall(row["display_text"])

    # The dataset dump's statements.csv.
    table = next(t for t in dumps.TABLES if t.file == "statements.csv")
    names = [c.name for c in table.columns]
    for cells in dumps.table_rows(table):
        row = dict(zip(names, cells, strict=True))
        statement = by_pk[int(row["id"])]
        assert_honest(row["display_text"], statement, "dump")
        quoted = json.loads(row["quoted"])
        assert quoted == statement.quoted

    # The API, list and detail.
    listed = client.get("/api/statements", {"limit": 100}).json()
    items = listed["results"]
    assert {i["id"] for i in items} == set(by_pk)
    for item in items:
        statement = by_pk[item["id"]]
        assert_honest(item["display_text"], statement, "API list")
        detail = client.get(f"/api/statements/{statement.pk}").json()
        assert_honest(detail["display_text"], statement, "API detail")
        assert detail["quoted"] == statement.quoted
        if statement.kind != "direct_quote":
            assert not MARKS & set(detail["text"])


def test_the_seed_shows_only_li_qiangs_words_in_quotation_marks(client: Client) -> None:
    load_seed()
    partial = models.Statement.objects.get(kind="partial_quote", speaker__slug="li-qiang")
    page = client.get(partial.get_absolute_url()).content.decode()
    assert RUN.findall(html.unescape(words_of_card(page, partial))) == [
        "the exclusive game of a few countries and companies"
    ]
    run = "“the exclusive game of a few countries and companies”"
    assert f'becoming <span class="quoted">{run}</span>.' in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # A paraphrase with marks in its text.
        (
            {"kind": "paraphrase", "text": "Said the forum should “meet every year”."},
            "never inside",
        ),
        # A partial quote whose quoted words are not in the evidence.
        (
            {
                "kind": "partial_quote",
                "quoted": ["meet every single year"],
                "text": "Said the forum should meet every single year.",
            },
            "verbatim",
        ),
        # A partial quote whose quoted words are not in its own text.
        ({"kind": "partial_quote", "quoted": ["every month"]}, "not in the statement"),
        # A partial quote with no quoted words.
        ({"kind": "partial_quote"}, "names the words"),
        # A direct quote that is not verbatim.
        ({"kind": "direct_quote", "text": "The forum should meet every year."}, "verbatim"),
    ],
)
def test_the_seed_loader_refuses_a_misquote_and_stores_nothing(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    bad = {**MADE_UP[2], **change}
    with pytest.raises(SeedError, match=message):
        load_seed(made_up_seed(tmp_path, [MADE_UP[0], bad]))
    assert not models.Statement.objects.exists()
    assert not models.Document.objects.filter(title="Made-up forum article").exists()


def test_display_rules() -> None:
    text = "Called it a good first step and long overdue."
    runs = ["a good first step", "long overdue"]
    assert (
        quotation.display_text("partial_quote", text, runs)
        == "Called it “a good first step” and “long overdue”."
    )
    assert quotation.display_text("direct_quote", "We act now.", []) == "“We act now.”"
    assert quotation.display_text("paraphrase", text, []) == text
    # A partial quote whose runs do not fit its text shows no marks rather than wrong ones.
    assert quotation.display_text("partial_quote", text, ["not there"]) == text
    # Cut short: the open quote is closed, the cut marked.
    cut = quotation.display_text("partial_quote", text, runs, limit=20)
    assert cut == "Called it “a good…”"
    # Search highlights survive inside and outside the quoted runs, escaped.
    marked = "Called it a \x02good\x03 first step and long \x02overdue\x03."
    shown = quotation.display_html(
        "partial_quote", text, runs, marked=marked, start_sel="\x02", stop_sel="\x03"
    )
    assert shown == (
        'Called it <span class="quoted">“a <mark>good</mark> first step”</span> and '
        '<span class="quoted">“long <mark>overdue</mark>”</span>.'
    )
    assert quotation.split_marked("Warned of “an exclusive game” and «a race».") == (
        "Warned of an exclusive game and a race.",
        ["an exclusive game", "a race"],
    )


# --- Extraction and review agree on the kind --------------------------------------------

QUOTED_PHRASE = (
    "Li Qiang spoke in Shanghai on Saturday.\n"
    "Chinese Premier Li Qiang emphasized the need for a unified international approach to "
    "regulating AI, warning against AI becoming “the exclusive game of a few countries and "
    "companies”.\n"
)


def test_reported_speech_with_a_quoted_phrase_is_filed_and_accepted_as_a_partial_quote(
    django_user_model: Any,
) -> None:
    from governance import review
    from governance.extract.candidates import write_candidates
    from governance.extract.pipeline import extract
    from governance.extract.types import Extraction, ParaphraseFound
    from tests import factories

    curator = django_user_model.objects.create_user("ada", password="x")
    document = factories.DocumentFactory(text=QUOTED_PHRASE)
    write_candidates(document, extract(QUOTED_PHRASE))
    quotes = models.Candidate.objects.filter(document=document, kind="quote")
    kinds = {c.payload["kind"] for c in quotes}
    assert kinds == {"partial"}, [c.payload for c in quotes]  # never "paraphrase" here
    # Reported speech holding the words, when the paraphrase rules file it, is one too: its
    # marks come out of the text and the words they held are the quoted runs.
    sentence = QUOTED_PHRASE.splitlines()[1]
    start = QUOTED_PHRASE.index("emphasized")
    end = QUOTED_PHRASE.index(sentence) + len(sentence) - 1
    found = ParaphraseFound("Li Qiang", QUOTED_PHRASE[start:end], start, end, "emphasized")
    write_candidates(document, Extraction(paraphrases=[found]))
    (para,) = models.Candidate.objects.filter(document=document, extractor__startswith="para")
    assert para.payload["kind"] == "partial"
    assert para.payload["quoted"] == ["the exclusive game of a few countries and companies"]
    quotes = models.Candidate.objects.filter(document=document, kind="quote")
    for candidate in quotes:
        # The payload's text carries no mark; its quoted words are verbatim in the span.
        assert not MARKS & set(candidate.payload["text"])
        span = document.text[candidate.start : candidate.end]
        review.accept(candidate.pk, user=curator)
        candidate.refresh_from_db()
        statement = models.Statement.objects.get(pk=candidate.record_id)
        assert statement.kind == "partial_quote"
        assert statement.quoted and all(run in span for run in statement.quoted)
        assert not MARKS & set(statement.text)
        assert "“the exclusive game of a few countries and companies”" in statement.display_text


def test_accepting_a_misquote_is_refused_and_stores_nothing(django_user_model: Any) -> None:
    from governance import review
    from tests import factories

    curator = django_user_model.objects.create_user("ada", password="x")
    text = "Ada Vale said the forum should meet every year."
    document = factories.DocumentFactory(text=text)
    start = text.index("the forum")
    candidate = models.Candidate.objects.create(
        document=document,
        kind="quote",
        payload={"speaker": "Ada Vale", "text": text[start:-1], "kind": "paraphrase"},
        start=start,
        end=len(text) - 1,
        excerpt=text[start:-1],
        confidence=0.6,
        extractor="paraphrase-test",
    )
    before = models.Person.objects.count()
    for edits, message in [
        ({"kind": "direct_quote", "text": "The forum must meet every year"}, "verbatim"),
        ({"kind": "partial_quote", "quoted": "meet every single year"}, "not in the statement"),
        (
            {
                "kind": "partial_quote",
                "text": "Wants it to meet every month.",
                "quoted": "every month",
            },
            "verbatim",
        ),
        ({"kind": "paraphrase", "text": "Said the forum should “meet yearly”."}, "verbatim"),
        ({"kind": "remarks", "text": "Spoke of a “yearly forum”."}, "never inside"),
    ]:
        with pytest.raises(review.ReviewError, match=message):
            review.accept(candidate.pk, user=curator, edits=edits)
        assert not models.Statement.objects.exists()
        assert models.Person.objects.count() == before
        candidate.refresh_from_db()
        assert candidate.status == models.Candidate.Status.PENDING
    # A curator's partial quote whose words are in the span is filed, marks around them only.
    review.accept(
        candidate.pk,
        user=curator,
        edits={"kind": "partial_quote", "text": "Wants the forum to “meet every year”."},
    )
    statement = models.Statement.objects.get()
    assert (statement.kind, statement.text, statement.quoted) == (
        "partial_quote",
        "Wants the forum to meet every year.",
        ["meet every year"],
    )
    assert statement.display_text == "Wants the forum to “meet every year”."


def test_the_migration_files_existing_statements_honestly() -> None:
    """Migration 0017 on rows written before quoted runs existed: a paraphrase with marks
    around words of its evidence becomes a partial quote, marks out of its text; one whose
    marked words are not in its evidence loses the marks; a partial quote of the
    quoted words alone quotes all of it; a direct quote loses a full stop its source lacks."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from tests import factories
    from tests.governance.ui_data import add_evidence

    migration = import_module("governance.migrations.0019_quotes_and_inferred_dates")
    text = (
        "Li warned against AI becoming the exclusive game of a few countries. "
        "“We share,” Li said. Others called it long overdue."
    )
    document = factories.DocumentFactory(text=text)
    speaker = factories.PersonFactory()

    def old(kind: str, words: str, evidence: str) -> models.Statement:
        statement = models.Statement.objects.create(speaker=speaker, kind=kind, text=words)
        add_evidence(statement, document, evidence)
        return statement

    marked = old(
        "paraphrase",
        "Warned against AI becoming “the exclusive game of a few countries”.",
        text[: text.index(".") + 1],
    )
    unverified = old("paraphrase", "Said “we share everything”.", "“We share,” Li said.")
    partial = old("partial_quote", "long overdue", "long overdue")
    direct = old("direct_quote", "We share.", "We share")
    migration.file_quotes_honestly(apps, SimpleNamespace(connection=connection))
    for statement in (marked, unverified, partial, direct):
        statement.refresh_from_db()
    assert (marked.kind, marked.text, marked.quoted) == (
        "partial_quote",
        "Warned against AI becoming the exclusive game of a few countries.",
        ["the exclusive game of a few countries"],
    )
    assert marked.fingerprint == models.Statement.make_fingerprint(
        speaker.pk, None, "partial_quote", marked.text
    )
    assert (unverified.kind, unverified.text) == ("paraphrase", "Said we share everything.")
    assert partial.quoted == ["long overdue"]
    assert direct.text == "We share"


def test_the_admin_form_checks_what_it_can_without_evidence() -> None:
    from django.core.exceptions import ValidationError

    def clean(**fields: Any) -> None:
        models.Statement(**fields).clean()

    clean(kind="paraphrase", text="Said it would act.")
    clean(kind="partial_quote", text="Called it long overdue.", quoted=["long overdue"])
    for fields in (
        {"kind": "paraphrase", "text": "Said it was “long overdue”."},
        {"kind": "remarks", "text": "Spoke.", "quoted": ["Spoke"]},
        {"kind": "partial_quote", "text": "Called it long overdue.", "quoted": []},
        {"kind": "partial_quote", "text": "Called it “long overdue”.", "quoted": ["long overdue"]},
        {"kind": "partial_quote", "text": "Called it long overdue.", "quoted": ["a step"]},
    ):
        with pytest.raises(ValidationError):
            clean(**fields)
