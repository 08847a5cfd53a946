"""Extraction in batches: spaCy parses a message's documents together, and each
document's outcome stays its own (governance.tasks.extract_documents)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from governance.extract import pipeline
from governance.extract.nlp import english
from governance.extract.types import Extraction
from governance.ingest import scheduling
from governance.models import Candidate, Document
from governance.seed import load_seed
from governance.tasks import extract_documents
from tests import factories
from tests.ingest.feeds import PARAGRAPHS

SEED = Path(__file__).resolve().parents[2] / "governance/fixtures/seed/waic-2025-article.txt"


def texts() -> list[str]:
    seed = SEED.read_text(encoding="utf-8")
    return [seed, *PARAGRAPHS, "\n\n".join(PARAGRAPHS[::-1]), "", "“" * 50 + " said Li."]


def test_a_batch_parses_each_text_as_it_would_be_parsed_alone() -> None:
    batched = [
        pipeline.extract(t, language="en", doc=d)
        for t, d in zip(texts(), pipeline.parse(texts()), strict=True)
    ]
    alone = [pipeline.extract(t, language="en") for t in texts()]
    assert batched == alone
    assert any(extraction.quotes for extraction in alone)  # there was something to differ


DATELINED = [
    "SHANGHAI, July 26 (Xinhua) - China proposed on Saturday to set up a global AI "
    "cooperation organization, Premier Li Qiang said at the opening.",
    "Seoul, May 22, 2024 - Sixteen companies signed the Frontier AI Safety Commitments, "
    "which call for published safety frameworks.",
    "AI body proposed\nBEIJING - The ministry proposed new rules for generative AI services.",
]


def test_the_lines_parsed_again_are_parsed_once_for_a_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proposal rules parse datelined lines again: for a batch, all its texts' lines in
    one pipeline call (the batch's own parse is the other), with the proposals each text
    gets alone."""
    calls: list[int] = []
    nlp = english()
    real_pipe = nlp.pipe

    def pipe(batch, **kwargs: object):  # texts or Docs, in a list or not
        batch = list(batch)
        calls.append(len(batch))
        return real_pipe(batch, **kwargs)

    alone = [pipeline.extract(t, language="en").proposals for t in DATELINED]
    monkeypatch.setattr(nlp, "pipe", pipe)
    docs = list(pipeline.parse(DATELINED))
    assert calls == [3, 3]  # the texts, then one line of each
    batched = [
        pipeline.extract(t, language="en", doc=d).proposals
        for t, d in zip(DATELINED, docs, strict=True)
    ]
    assert calls == [3, 3]  # the rules parsed nothing more
    assert batched == alone
    assert all(alone)  # each text has its proposal


def test_batches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    nlp = english()
    real_pipe = nlp.pipe

    def pipe(batch: list[str], **kwargs: object):
        calls.append(len(batch))
        return real_pipe(batch, **kwargs)

    monkeypatch.setattr(nlp, "pipe", pipe)
    monkeypatch.setattr(pipeline, "BATCH_TEXTS", 3)
    monkeypatch.setattr(pipeline, "BATCH_CHARS", 1_000)
    parsed = list(pipeline.parse(["a" * 10] * 4 + ["b" * 990, "c" * 2_000, "d"]))
    assert len(parsed) == 7 and all(doc is not None for doc in parsed)
    # Three texts at most, and 1,000 characters at most (a longer text goes alone).
    assert calls == [3, 2, 1, 1]


def test_a_failed_batch_leaves_each_text_to_be_parsed_alone() -> None:
    def pipe(batch: list[str], **kwargs: object):
        raise ValueError("a spaCy bug")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(english(), "pipe", pipe)
        assert list(pipeline.parse(["One.", "China proposed it."])) == [None, None]
    # extract() is given no parse then, and makes its own.
    assert pipeline.extract("China proposed it.", language="en", doc=None).countries


def test_extraction_batches_stop_at_a_size_and_at_a_length(settings: object) -> None:
    settings.EXTRACTION_BATCH_SIZE = 2
    lengths = [(1, 10), (2, 10), (3, 10), (4, pipeline.BATCH_CHARS), (5, 10), (6, 10)]
    assert scheduling.extraction_batches(lengths) == [[1, 2], [3], [4], [5, 6]]
    settings.EXTRACTION_BATCH_SIZE = 1
    assert scheduling.extraction_batches(lengths[:3]) == [[1], [2], [3]]
    assert scheduling.extraction_batches([]) == []


@pytest.mark.django_db
def test_one_message_extracts_each_document_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    load_seed()
    english_one, broken, french = (
        factories.DocumentFactory(text=PARAGRAPHS[0], language="en"),
        factories.DocumentFactory(text=PARAGRAPHS[1], language="en"),
        factories.DocumentFactory(
            text="La Chine a proposé une organisation mondiale.", language="fr"
        ),
    )
    real_extract = pipeline.extract

    def extract(text: str, **kwargs: object) -> Extraction:
        if text == broken.text:
            raise RuntimeError("rule bug")
        return real_extract(text, **kwargs)

    monkeypatch.setattr(pipeline, "extract", extract)
    gone = 10**9
    result = extract_documents.run(document_ids=[english_one.pk, broken.pk, french.pk, gone])
    statuses = {outcome["document"]: outcome["status"] for outcome in result["documents"]}
    assert statuses == {
        english_one.pk: "done",
        broken.pk: "failed",
        french.pk: "done",
        gone: "gone",
    }
    assert Candidate.objects.filter(document=english_one).exists()
    assert not Candidate.objects.filter(document__in=[broken, french]).exists()
    extraction_status = dict(Document.objects.values_list("pk", "extraction_status"))
    assert extraction_status[english_one.pk] == "done"
    assert extraction_status[broken.pk] == "failed"
    assert extraction_status[french.pk] == "unsupported"


@pytest.mark.django_db
def test_a_batch_tells_the_caches_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each filed document bumps the ingested revision (the country pages list it); a
    batch does so once, after its last document, not a Redis write per document."""
    from governance import count_cache

    load_seed()
    documents = [factories.DocumentFactory(text=t, language="en") for t in PARAGRAPHS]
    moved: list[str] = []
    monkeypatch.setattr(count_cache, "_new_revision", moved.append)
    result = extract_documents.run(document_ids=[d.pk for d in documents])
    assert {o["status"] for o in result["documents"]} == {"done"}
    assert moved == [count_cache.INGESTED]


@pytest.mark.django_db(transaction=True)
def test_enqueued_documents_go_in_batches(
    monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    settings.EXTRACTION_BATCH_SIZE = 2
    sent: list[list[int]] = []
    monkeypatch.setattr(
        extract_documents, "delay", lambda *, document_ids: sent.append(document_ids)
    )
    documents = [factories.DocumentFactory(text=f"Text {n}.") for n in range(5)]
    ids = [d.pk for d in documents]
    with transaction.atomic():
        scheduling.enqueue_extraction(ids)
        assert sent == []  # only once the transaction commits
    assert sent == [ids[0:2], ids[2:4], ids[4:]]
    assert set(Document.objects.values_list("extraction_status", flat=True)) == {"pending"}


@pytest.mark.django_db
def test_a_language_detection_that_fails_fails_only_its_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = factories.DocumentFactory(text=PARAGRAPHS[0], language="")
    bad = factories.DocumentFactory(text=PARAGRAPHS[1], language="")

    def detect_language(text: str) -> str:
        if text == bad.text:
            raise RuntimeError("detector bug")
        return "en"

    monkeypatch.setattr(pipeline, "detect_language", detect_language)
    result = extract_documents.run(document_ids=[bad.pk, good.pk])
    statuses = {outcome["document"]: outcome["status"] for outcome in result["documents"]}
    assert statuses == {bad.pk: "failed", good.pk: "done"}
    bad.refresh_from_db()
    assert "detector bug" in bad.extraction_error


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=50), max_size=40),
    most=st.integers(min_value=1, max_value=6),
    most_size=st.integers(min_value=1, max_value=60),
)
def test_in_batches_cuts_each_run_as_late_as_its_limits_allow(
    sizes: list[int], most: int, most_size: int
) -> None:
    """parse() and the extraction messages share this cut: a run ends only when the next
    item would pass a limit, and only an item over the size limit by itself passes it."""
    batches = list(pipeline.in_batches(sizes, lambda n: n, most=most, most_size=most_size))
    assert [n for batch in batches for n in batch] == sizes
    for i, batch in enumerate(batches):
        assert batch and len(batch) <= most
        assert sum(batch) <= most_size or len(batch) == 1
        if i + 1 < len(batches):
            assert len(batch) == most or sum(batch) + batches[i + 1][0] > most_size
