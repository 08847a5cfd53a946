"""Reads for the curators' pages: the review queue grouped by document, and queue health."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Min, Q, QuerySet, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from governance.models import (
    ActionPlanItem,
    Candidate,
    Decision,
    Document,
    EventFigure,
    Participation,
    Role,
    Source,
    Statement,
)
from governance.review import KIND_ORDER
from governance.spans import split_at_spans
from governance.validation import IntegerField

DOCUMENTS_PER_PAGE = 3

# The record a candidate matches, with what its name and link read (its __str__ and
# get_absolute_url): otherwise one query per row, for the speaker of each statement.
RECORDS_AS_SHOWN = GenericPrefetch(
    "record",
    [
        Statement.objects.select_related("speaker"),
        Role.objects.select_related("person", "organization", "country"),
        EventFigure.objects.select_related("event"),
        ActionPlanItem.objects.select_related("proposal"),
        Participation.objects.select_related(
            "country", "organization", "person", "proposal", "event"
        ),
    ],
)

STATUS_CHOICES = [("pending", "Pending"), ("decided", "Decided"), ("all", "All")]


class QueueFilterForm(forms.Form):
    kind = forms.MultipleChoiceField(
        required=False, choices=Candidate.Kind.choices, widget=forms.CheckboxSelectMultiple
    )
    status = forms.ChoiceField(required=False, choices=STATUS_CHOICES)
    source = forms.ModelChoiceField(
        required=False, queryset=Source.objects.order_by("name"), empty_label="Any source"
    )
    min_confidence = forms.FloatField(
        required=False, min_value=0, max_value=1, label="Confidence at least"
    )
    date_from = forms.DateField(required=False, label="Fetched from")
    date_to = forms.DateField(required=False, label="Fetched to")
    document = IntegerField(required=False, widget=forms.HiddenInput)


def filtered_candidates(data: dict[str, Any]) -> QuerySet[Candidate]:
    qs = Candidate.objects.all()
    status = data.get("status") or "pending"
    if status == "pending":
        qs = qs.filter(status=Candidate.Status.PENDING)
    elif status == "decided":
        qs = qs.exclude(status=Candidate.Status.PENDING)
    if kinds := data.get("kind"):
        qs = qs.filter(kind__in=kinds)
    if source := data.get("source"):
        qs = qs.filter(document__source=source)
    if (confidence := data.get("min_confidence")) is not None:
        qs = qs.filter(confidence__gte=confidence)
    if start := data.get("date_from"):
        qs = qs.filter(document__fetched_at__date__gte=start)
    if end := data.get("date_to"):
        qs = qs.filter(document__fetched_at__date__lte=end)
    if document := data.get("document"):
        qs = qs.filter(document=document)
    return qs


@dataclass
class Segment:
    text: str
    candidate_ids: list[int] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)


def highlight_candidates(text: str, candidates: list[Candidate]) -> list[Segment]:
    """The document's text cut at every candidate span (the same cutting as the document
    page's evidence); marked parts name their candidates, and each candidate's anchor
    sits where its span begins."""
    pieces = split_at_spans(text, [(c.start, c.end) for c in candidates])
    return [
        Segment(
            piece.text,
            [candidates[i].pk for i in piece.covered_by],
            [f"span-c{candidates[i].pk}" for i in piece.starts],
        )
        for piece in pieces
    ]


@dataclass
class DocumentGroup:
    document: Document
    candidates: list[Candidate]
    segments: list[Segment]
    pending: int


def review_page(data: dict[str, Any], page_number: Any) -> tuple[Page, list[DocumentGroup], int]:
    """Documents with matching candidates, oldest first (a queue), a few per page."""
    candidates = filtered_candidates(data)
    total = candidates.count()
    documents = (
        Document.objects.filter(pk__in=candidates.values("document"))
        .annotate(first_candidate=Min("candidates__created_at"))
        .order_by("first_candidate", "pk")
        .only("id", "title", "text", "publisher", "published_at", "fetched_at", "url", "source")
    )
    page = Paginator(documents, DOCUMENTS_PER_PAGE).get_page(page_number)
    docs = list(page)
    by_document: dict[int, list[Candidate]] = defaultdict(list)
    rows = (
        candidates.filter(document__in=docs)
        .select_related("decided_by", "record_type")
        .prefetch_related(RECORDS_AS_SHOWN)
        # What others depend on first (a proposal before its participations and items),
        # so that accepting down the list never meets "accept the proposal first".
        .annotate(
            kind_rank=Case(
                *(When(kind=kind, then=n) for n, kind in enumerate(KIND_ORDER)),
                default=len(KIND_ORDER),
            )
        )
        .order_by("document", "kind_rank", "start")
    )
    for candidate in rows:
        by_document[candidate.document_id].append(candidate)
    pending = dict(
        Candidate.objects.filter(document__in=docs, status=Candidate.Status.PENDING)
        .values_list("document")
        .annotate(n=Count("*"))
        .order_by()
    )
    groups = [
        DocumentGroup(
            d,
            by_document[d.pk],
            highlight_candidates(d.text, by_document[d.pk]),
            pending.get(d.pk, 0),
        )
        for d in docs
    ]
    return page, groups, total


# --- Queue health ---------------------------------------------------------------------

AGE_BUCKETS = [
    ("under a day", datetime.timedelta(days=1)),
    ("1–7 days", datetime.timedelta(days=7)),
    ("1–4 weeks", datetime.timedelta(days=28)),
    ("older", None),
]


@dataclass
class RuleRate:
    extractor: str
    accepted: int
    rejected: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def rate(self) -> float:
        return self.accepted / self.decided if self.decided else 0.0


def queue_health(days: int = 14) -> dict[str, Any]:
    """Pending by kind and age, decisions per curator per day, acceptance per rule."""
    now = timezone.now()
    pending = Candidate.objects.filter(status=Candidate.Status.PENDING)
    age_columns = {}
    previous = None
    for label, limit in AGE_BUCKETS:
        condition = Q()
        if limit is not None:
            condition &= Q(created_at__gt=now - limit)
        if previous is not None:
            condition &= Q(created_at__lte=now - previous)
        age_columns[label] = Count("pk", filter=condition)
        previous = limit
    by_kind = list(
        pending.values("kind")
        .annotate(
            total=Count("pk"),
            **{f"age{i}": column for i, column in enumerate(age_columns.values())},
        )
        .order_by("kind")
    )
    kind_labels = dict(Candidate.Kind.choices)
    pending_rows = [
        {
            "kind": kind_labels.get(row["kind"], row["kind"]),
            "total": row["total"],
            "ages": [row[f"age{i}"] for i in range(len(age_columns))],
        }
        for row in by_kind
    ]
    since = now - datetime.timedelta(days=days)
    per_day = (
        Decision.objects.filter(created_at__gte=since, undone_at__isnull=True)
        .annotate(day=TruncDate("created_at"))
        .values("day", "user")
        .annotate(n=Count("pk"))
        .order_by("-day")
    )
    users = dict(get_user_model().objects.values_list("pk", "username"))
    decisions = [
        {"day": row["day"], "user": users.get(row["user"], "—"), "count": row["n"]}
        for row in per_day
    ]
    rates = (
        Candidate.objects.exclude(status=Candidate.Status.PENDING)
        .values("extractor")
        .annotate(
            accepted=Count("pk", filter=Q(status=Candidate.Status.ACCEPTED)),
            rejected=Count("pk", filter=Q(status=Candidate.Status.REJECTED)),
        )
        .order_by("extractor")
    )
    rules = sorted(
        (RuleRate(r["extractor"], r["accepted"], r["rejected"]) for r in rates),
        key=lambda r: (r.rate, -r.decided),
    )
    return {
        "pending_total": pending.count(),
        "age_labels": [label for label, _ in AGE_BUCKETS],
        "pending_rows": pending_rows,
        "decisions": decisions,
        "days": days,
        "rules": rules,
    }
