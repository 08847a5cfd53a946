"""Candidates are filed as rows (one INSERT), not through the ORM: the same rows, the same
refusals."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from governance.extract import candidates
from governance.extract.candidates import (
    CandidateRow,
    Curated,
    _candidates,
    candidate_columns,
    write_candidates,
)
from governance.extract.pipeline import extract
from governance.models import Candidate, Document
from governance.seed import load_seed
from governance.tasks import extract_documents
from tests import factories

pytestmark = pytest.mark.django_db

SEED_ARTICLE = (
    Path(__file__).resolve().parents[2] / "governance/fixtures/seed/waic-2025-article.txt"
)
# Every column but the id, the document and the time it was filed.
COLUMNS = [
    f.attname
    for f in Candidate._meta.concrete_fields
    if f.attname not in {"id", "document_id", "created_at"}
]


class _Rollback(Exception):
    pass


def orm_files(row: CandidateRow, document: Document) -> tuple | None:
    """What the ORM files for `row` as write_candidates filed Candidates before
    (full_clean() as it was called, then save()), read back and rolled back; None if it
    refuses the row."""
    candidate = Candidate(document=document, **row._asdict())
    try:
        candidate.full_clean(
            exclude=["document", "record_type"], validate_unique=False, validate_constraints=False
        )
        with transaction.atomic():
            candidate.save()
            raise _Rollback(Candidate.objects.values_list(*COLUMNS).get(pk=candidate.pk))
    except (ValidationError, IntegrityError, DataError, ValueError):
        return None  # ValueError: psycopg2 refuses a NUL character itself
    except _Rollback as filed:
        return filed.args[0]


def insert_files(columns: tuple, document: Document) -> tuple:
    """What write_candidates' INSERT files for candidate_columns' `columns`, read back
    and rolled back."""
    row = (document.pk, *columns, candidates.PENDING, "", timezone.now())
    sql, params = candidates._inserts(Candidate, candidates._CANDIDATE_COLUMNS, [row])
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
            raise _Rollback(Candidate.objects.values_list(*COLUMNS).get(document=document))
    except _Rollback as filed:
        return filed.args[0]


def test_the_rows_filed_are_the_rows_the_orm_files() -> None:
    """The seed article's candidates, filed by write_candidates and by the ORM from the same
    rows (Candidate instances, full_clean, bulk_create) for a twin document: every column
    is the same, and one time stamps a document's candidates."""
    load_seed()  # people, organizations and countries for the candidates to link to
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    # Not the seed's own document: two more, with the same spans and another text.
    filed = factories.DocumentFactory(text=text + " One.")
    twin = factories.DocumentFactory(text=text + " Two.")
    extraction = extract(text)
    before = timezone.now()
    counts = write_candidates(filed, extraction)

    instances = []
    for row in _candidates(extraction, twin, Curated.named_in([extraction])):
        candidate = Candidate(document=twin, **row._asdict())
        candidate.full_clean(
            exclude=["document", "record_type"], validate_unique=False, validate_constraints=False
        )
        instances.append(candidate)
    Candidate.objects.bulk_create(instances)

    def rows(document: Document) -> list[tuple]:
        return sorted(Candidate.objects.filter(document=document).values_list(*COLUMNS), key=repr)

    assert counts["candidates"] == len(instances) > 30
    assert rows(filed) == rows(twin)
    kinds = {kind for kind, *_ in Candidate.objects.filter(document=filed).values_list("kind")}
    assert len(kinds) >= 8
    assert Candidate.objects.filter(document=filed).exclude(record_id="").count() >= 5
    stamps = set(Candidate.objects.filter(document=filed).values_list("created_at", flat=True))
    assert len(stamps) == 1 and before <= stamps.pop() <= timezone.now() + timedelta(seconds=1)


TEXT = "Chinese Premier Li Qiang said: “AI should be a common good.” Washington disagreed."
_anything = st.one_of(
    st.text(max_size=8),  # NUL characters included
    st.floats(),  # NaN and infinities included
    st.integers(),
    st.none(),
    st.just(object()),  # not JSON at all
)
MUTATIONS = {
    "kind": st.text(max_size=16),
    "start": st.integers(-2, len(TEXT) + 2) | st.just(2**31),
    "end": st.integers(-2, len(TEXT) + 2) | st.just(2**31),
    "payload": st.one_of(
        st.just({}),
        st.lists(st.integers(), max_size=2),
        st.none() | st.integers(),
        st.dictionaries(st.text(max_size=6), _anything, max_size=3),
    ),
    "extra": _anything,  # one more payload value, beside the required keys
    "excerpt": st.text(max_size=12),
    "confidence": st.floats() | st.integers(-1, 2),
    "extractor": st.text(max_size=110),
    "record_id": st.text(max_size=70),
}


# An end past PostgreSQL's integer, whose excerpt still matches (a slice to the text's end).
PAST_THE_INTEGER = CandidateRow(
    "date", 70, 2**31, {"text": "x", "date": "x"}, TEXT[70:], 1, "d", None, ""
)


@st.composite
def rows(draw: st.DrawFn) -> CandidateRow:
    """A valid row on TEXT, then, most of the time, one of its fields changed."""
    kind = draw(st.sampled_from(Candidate.Kind.values))
    start = draw(st.integers(0, len(TEXT) - 1))
    end = draw(st.integers(start + 1, len(TEXT)))
    payload = {key: "x" for key in Candidate.REQUIRED_PAYLOAD_KEYS[kind]}
    row = CandidateRow(
        kind, start, end, payload, TEXT[start:end], 0.5, f"{kind}-rules-v1", None, ""
    )
    field = draw(st.sampled_from([None, *MUTATIONS]))
    if field is None:
        return row
    value = draw(MUTATIONS[field])
    if field == "extra":
        return row._replace(payload={**payload, "extra": value})
    return row._replace(**{field: value})


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=rows())
# Past PostgreSQL's integer: the excerpt still matches, as a slice to the end of the text.
@example(
    row=CandidateRow("date", 70, 2**31, {"text": "x", "date": "x"}, TEXT[70:], 0.5, "d", None, "")
)
def test_a_row_is_refused_or_filed_exactly_as_the_orm_does(row: CandidateRow) -> None:
    document = Document.objects.filter(text=TEXT).first() or factories.DocumentFactory(text=TEXT)
    by_orm = orm_files(row, document)
    try:
        columns = candidate_columns(row, TEXT)
    except ValidationError:
        assert by_orm is None
    else:
        assert columns[:3] == row[:3] and columns[4:] == row[4:]
        assert by_orm is not None and insert_files(columns, document) == by_orm


def test_a_refusal_names_the_field() -> None:
    row = CandidateRow("quote", 0, 7, {"speaker": "Li", "text": "x"}, "Chinese", 0.5, "q", None, "")
    for change, field in [
        ({"kind": "rumour"}, "kind"),
        ({"payload": {"speaker": "Li"}}, "payload"),
        ({"payload": {"speaker": "Li", "text": math.nan}}, "payload"),
        ({"payload": {"speaker": "Li", "text": "a\x00b"}}, "payload"),
        ({"excerpt": "Chines"}, "excerpt"),
        ({"end": 0}, "end"),
        ({"confidence": 1.5}, "confidence"),
        ({"extractor": "x" * 101}, "extractor"),
        ({"record_id": "9" * 65}, "record_id"),
    ]:
        with pytest.raises(ValidationError) as refused:
            candidate_columns(row._replace(**change), TEXT)
        assert set(refused.value.message_dict) == {field}, change


def test_a_refused_candidate_fails_its_document_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule's bug caught at filing: that document is failed with the reason and nothing of
    it is written; the batch's other document is filed."""
    broken, fine = (
        factories.DocumentFactory(text=TEXT),
        factories.DocumentFactory(text=TEXT + " More."),
    )
    made = candidates._candidates

    def one_bad(extraction, document, curated):
        rows = list(made(extraction, document, curated))
        if document.pk == broken.pk:
            rows.append(rows[-1]._replace(end=rows[-1].end + 1))  # the excerpt is not [start:end]
        return iter(rows)

    monkeypatch.setattr(candidates, "_candidates", one_bad)
    outcomes = extract_documents.run(document_ids=[broken.pk, fine.pk])["documents"]
    assert [o["status"] for o in outcomes] == ["failed", "done"]
    broken.refresh_from_db()
    assert broken.extraction_status == "failed" and "excerpt" in broken.extraction_error
    assert not broken.candidates.exists() and not broken.mentions.exists()
    assert fine.candidates.count() == outcomes[1]["candidates"] > 3


def test_filing_does_not_wait_for_the_disk() -> None:
    """Candidates are derived data: their commit is asynchronous (SET LOCAL, so only for the
    filing transaction; here it lasts to the end of the test's own transaction)."""
    document = factories.DocumentFactory(text=TEXT)
    with connection.cursor() as cursor:
        # The server's own default is "on" (a real one's, and the throwaway test server's);
        # set here too, so a server configured otherwise cannot make this pass untested.
        cursor.execute("SET LOCAL synchronous_commit = on")
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("on",)
        write_candidates(document, extract(TEXT))
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone() == ("off",)
    assert document.candidates.count() > 3


def test_a_document_deleted_before_filing_is_gone() -> None:
    """Deleted between the batch's read and its filing (a curator's merge, say)."""
    from governance.tasks import _filed

    document = factories.DocumentFactory(text=TEXT)
    extraction = extract(TEXT)
    Document.objects.filter(pk=document.pk).delete()
    outcome = _filed(document, extraction, Curated.named_in([extraction]))
    assert outcome == {"document": document.pk, "status": "gone"}
