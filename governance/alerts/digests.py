"""Email digests: for each user, one email per run with what is new on everything they
follow at that frequency.

What is new for a follow
  - statements in its scope (a proposal's statements, a country's by its officials or
    about it, a person's, or a saved search's matches via governance/search.py) that
    were created or changed since the window start: a new statement, or an older one
    newly linked to the target ("updated");
  - participation changes of the target: each HistoricalParticipation record (added,
    changed, removed) is one item;
  - documents newly supporting its facts: evidence recorded since the window start on
    the target, its participations or its statements, and for a country the documents
    whose extraction found it mentioned.
  Each item is sent at most once per follow (the DigestItem ledger); so "new" means new
  to this follow since it was created.

No repeat, no miss
  - The ledger row (follow, kind, id) is unique and is written in the same transaction
    that advances the follow's watermark `digested_until`, right after the email was
    handed to the backend. A retried or overlapping run finds those rows and skips the
    items.
  - The window does not end at the last snapshot but starts LATE_COMMIT_GRACE before it:
    a fact's timestamp is taken when its transaction writes it, not when it commits, so
    one committed just after a snapshot can carry an older time. Re-reading the overlap
    costs little, and the ledger drops what was already sent. Anything recorded after
    the snapshot is after the next window's start, so it goes in the next digest.
  - The user's follows are locked (SELECT ... FOR UPDATE) from selection until the
    ledger is written, so two runs for one user take turns and the second sees the
    first's ledger.
  - A failed send raises inside that transaction: it rolls back, the watermark and the
    ledger stay as they were, and the next run selects the same items again.

At least once, not at most once: the only window for a duplicate is a crash (or a lost
database connection) after the mail server accepted the message and before the commit.
Losing an alert silently is worse for an analyst than seeing it twice, so the ledger is
written after the send, not before it.
"""

from __future__ import annotations

import email.policy
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import QueryDict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from governance.alerts.models import Digest, DigestItem, Follow, Frequency
from governance.alerts.tokens import make_token
from governance.models import (
    Document,
    DocumentCountry,
    Evidence,
    Participation,
    Person,
    Proposal,
    Statement,
)
from governance.search import StatementFilterForm, StatementFilters, filtered_statements
from governance.selectors import ids_as_text, statements_about_country

logger = logging.getLogger(__name__)

# How far before the last snapshot each window starts again (see the module docstring):
# far longer than any transaction of this app (review decisions, ingestion, extraction).
LATE_COMMIT_GRACE = timedelta(hours=24)
# Items listed per kind in one follow's section; the rest are counted, linked and recorded.
SHOWN_PER_KIND = 20

Kind = DigestItem.Kind


class Outcome(StrEnum):
    SENT = "sent"
    NOTHING_NEW = "nothing new"
    FAILED = "failed"
    SKIPPED = "skipped"  # no follows of this frequency, no address, or inactive


@dataclass
class Section:
    """One follow's part of a digest."""

    follow: Follow
    url: str
    unsubscribe_url: str
    statements: list[Statement] = field(default_factory=list)
    statement_ids: list[int] = field(default_factory=list)
    participations: list[Any] = field(default_factory=list)  # HistoricalParticipation
    participation_ids: list[int] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    document_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.statement_ids) + len(self.participation_ids) + len(self.document_ids)

    @property
    def more_statements(self) -> int:
        return len(self.statement_ids) - len(self.statements)

    @property
    def more_participations(self) -> int:
        return len(self.participation_ids) - len(self.participations)

    @property
    def more_documents(self) -> int:
        return len(self.document_ids) - len(self.documents)

    def ledger(self, digest: Digest) -> list[DigestItem]:
        keys = (
            [(Kind.STATEMENT, i) for i in self.statement_ids]
            + [(Kind.PARTICIPATION, i) for i in self.participation_ids]
            + [(Kind.DOCUMENT, i) for i in self.document_ids]
        )
        return [
            DigestItem(digest=digest, follow=self.follow, kind=kind, object_id=i)
            for kind, i in keys
        ]


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def unsubscribe_url(user_id: int, follow_id: int | None = None) -> str:
    return absolute(reverse("governance:unsubscribe", args=[make_token(user_id, follow_id)]))


def window_start(follow: Follow) -> datetime:
    """Items recorded from this time on are looked at (and dropped if already sent)."""
    if follow.digested_until is None:
        return follow.created_at
    return max(follow.created_at, follow.digested_until - LATE_COMMIT_GRACE)


def search_filters(query_string: str) -> StatementFilters:
    return StatementFilters.from_form(StatementFilterForm(QueryDict(query_string)))


def statements_in_scope(follow: Follow) -> QuerySet[Statement]:
    """Every statement the follow covers, whenever it was recorded."""
    if follow.proposal_id:
        linked = Statement.proposals.through.objects.filter(
            statement=OuterRef("pk"), proposal_id=follow.proposal_id
        )
        return Statement.objects.filter(Exists(linked))
    if follow.country_id:
        return statements_about_country(follow.country_id)
    if follow.person_id:
        return Statement.objects.filter(speaker_id=follow.person_id)
    return filtered_statements(search_filters(follow.saved_search))


def _not_sent(follow: Follow, kind: str, key: str = "pk") -> Exists:
    return Exists(DigestItem.objects.filter(follow=follow, kind=kind, object_id=OuterRef(key)))


def new_statements(follow: Follow, since: datetime) -> QuerySet[Statement]:
    history = Statement.history.model.objects.filter(id=OuterRef("pk"), history_date__gte=since)
    return (
        statements_in_scope(follow)
        .filter(Exists(history))
        .exclude(_not_sent(follow, Kind.STATEMENT))
        .annotate(is_new=Exists(history.filter(history_type="+")))
    )


def new_participation_changes(follow: Follow, since: datetime) -> QuerySet[Any]:
    history = Participation.history.model.objects.filter(history_date__gte=since)
    if follow.proposal_id:
        history = history.filter(proposal_id=follow.proposal_id)
    elif follow.country_id:
        history = history.filter(country_id=follow.country_id)
    elif follow.person_id:
        history = history.filter(person_id=follow.person_id)
    else:
        return history.none()  # a saved search follows statements only
    return history.exclude(_not_sent(follow, Kind.PARTICIPATION, "history_id"))


def new_documents(follow: Follow, since: datetime) -> QuerySet[Document]:
    if follow.saved_search:
        return Document.objects.none()  # a saved search follows statements only
    types = ContentType.objects.get_for_models(Proposal, Person, Participation, Statement)
    if follow.proposal_id:
        participations = Participation.objects.filter(proposal_id=follow.proposal_id)
    elif follow.country_id:
        participations = Participation.objects.filter(country_id=follow.country_id)
    else:
        participations = Participation.objects.filter(person_id=follow.person_id)
    keys = Q(content_type=types[Participation], object_id__in=ids_as_text(participations)) | Q(
        content_type=types[Statement], object_id__in=ids_as_text(statements_in_scope(follow))
    )
    if follow.proposal_id:
        keys |= Q(content_type=types[Proposal], object_id=str(follow.proposal_id))
    if follow.person_id:
        keys |= Q(content_type=types[Person], object_id=str(follow.person_id))
    supporting = Evidence.objects.filter(keys, created_at__gte=since).values("document_id")
    found = Q(pk__in=supporting)
    if follow.country_id:
        # Extraction publishes country mentions directly, when it finishes a document.
        mentioned = DocumentCountry.objects.filter(country_id=follow.country_id).values(
            "document_id"
        )
        found |= Q(pk__in=mentioned, extracted_at__gte=since)
    return Document.objects.filter(found).exclude(_not_sent(follow, Kind.DOCUMENT))


def collect(follow: Follow) -> Section:
    """What is new for one follow: every id (for the ledger), the first few in full."""
    since = window_start(follow)
    section = Section(
        follow,
        url=absolute(follow.get_absolute_url()),
        unsubscribe_url=unsubscribe_url(follow.user_id, follow.pk),
    )
    statements = new_statements(follow, since)
    section.statement_ids = list(statements.order_by("pk").values_list("pk", flat=True))
    if section.statement_ids:
        section.statements = list(
            statements.filter(pk__in=section.statement_ids[:SHOWN_PER_KIND])
            .select_related("speaker", "on_behalf_of_country")
            .order_by("pk")
        )
    changes = new_participation_changes(follow, since)
    section.participation_ids = list(
        changes.order_by("history_date", "history_id").values_list("history_id", flat=True)
    )
    if section.participation_ids:
        section.participations = list(
            changes.filter(history_id__in=section.participation_ids[:SHOWN_PER_KIND])
            .select_related("proposal", "event", "country", "organization", "person")
            .order_by("history_date", "history_id")
        )
    documents = new_documents(follow, since)
    section.document_ids = list(documents.order_by("pk").values_list("pk", flat=True))
    if section.document_ids:
        section.documents = list(
            Document.objects.filter(pk__in=section.document_ids[:SHOWN_PER_KIND])
            .only("id", "title", "publisher", "published_at", "url")
            .order_by("pk")
        )
    return section


CHANGE_WORDS = {"+": "added", "~": "changed", "-": "removed"}


def participation_line(record: Any) -> str:
    """ "China — Supporter — Global AI Governance Action Plan (added)"."""
    participant = record.country or record.organization or record.person or "Someone"
    subject = record.proposal or record.event or "a removed record"
    roles = dict(Participation.Role.choices)
    change = CHANGE_WORDS.get(record.history_type, "changed")
    return f"{participant} — {roles.get(record.role, record.role)} — {subject} ({change})"


class DigestMessage(EmailMultiAlternatives):
    def message(self, *, policy: email.policy.Policy = email.policy.default) -> Any:
        # The List-Unsubscribe URL is one long token. Folded to 78-character lines,
        # Python's email package would RFC 2047-encode it, and mail clients would no
        # longer see a URL there; RFC 5322 allows lines of up to 998 characters.
        return super().message(policy=policy.clone(max_line_length=998))


def build_message(user: Any, frequency: str, sections: list[Section]) -> DigestMessage:
    total = sum(s.total for s in sections)
    label = Frequency(frequency).label.lower()
    context = {
        "user": user,
        "frequency": label,
        "sections": sections,
        "total": total,
        "site_url": settings.SITE_URL,
        "following_url": absolute(reverse("governance:following")),
        "unsubscribe_all_url": unsubscribe_url(user.pk),
    }
    for section in sections:
        section.participation_lines = [participation_line(r) for r in section.participations]
        for statement in section.statements:
            statement.digest_url = absolute(statement.get_absolute_url())
        for document in section.documents:
            document.digest_url = absolute(document.get_absolute_url())
    subject = f"Your {label} digest: {total} new item{'' if total == 1 else 's'} on what you follow"
    message = DigestMessage(
        subject=subject,
        body=render_to_string("governance/email/digest.txt", context),
        to=[user.email],
        headers={
            # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs.
            "List-Unsubscribe": f"<{context['unsubscribe_all_url']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"{label} digest <digest.{frequency}.{_host()}>",
            "Auto-Submitted": "auto-generated",
        },
    )
    html = render_to_string("governance/email/digest.html", context)
    message.attach_alternative(html, "text/html")
    return message


def _host() -> str:
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"


def send_user_digest(user_id: int, frequency: str) -> Outcome:
    """Send one user their digest of `frequency`, and record it; see the module docstring."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return Outcome.SKIPPED
    try:
        with transaction.atomic():
            follows = list(
                Follow.objects.select_for_update(of=("self",))
                .filter(user=user, frequency=frequency)
                .select_related("proposal", "country", "person")
                .order_by("created_at", "pk")
            )
            if not follows:
                return Outcome.SKIPPED
            # Taken once the lock is held and before anything is selected.
            snapshot = timezone.now()
            sections = [s for s in (collect(f) for f in follows) if s.total]
            if sections:
                build_message(user, frequency, sections).send()
                digest = Digest.objects.create(
                    user=user,
                    frequency=frequency,
                    snapshot_at=snapshot,
                    item_count=sum(s.total for s in sections),
                )
                DigestItem.objects.bulk_create([i for s in sections for i in s.ledger(digest)])
            Follow.objects.filter(pk__in=[f.pk for f in follows]).filter(
                Q(digested_until__isnull=True) | Q(digested_until__lt=snapshot)
            ).update(digested_until=snapshot)
    except Exception:
        # The mail backend failed (or the database did): nothing was recorded, so the
        # next run selects the same items again.
        logger.exception("%s digest for user %s was not sent", frequency, user_id)
        return Outcome.FAILED
    return Outcome.SENT if sections else Outcome.NOTHING_NEW


def users_to_digest(frequency: str) -> list[int]:
    """Users with at least one follow of `frequency`."""
    return list(
        Follow.objects.filter(frequency=frequency)
        .order_by("user_id")
        .values_list("user_id", flat=True)
        .distinct()
    )
