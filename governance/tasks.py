"""Celery tasks: thin and idempotent; keyword-only JSON arguments, a dict as the result."""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from governance import count_cache, web_load
from governance.extract.types import Extraction
from governance.ingest import pipeline, scheduling

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from governance.extract.candidates import Curated
    from governance.models import Document

logger = logging.getLogger(__name__)

# PostgreSQL restarting or unreachable: the task runs again later instead of failing.
# Backoff 2, 4, 8 … 60 s with jitter; 30 retries ride out about 25 minutes.
RETRY_WHILE_DATABASE_DOWN: dict[str, Any] = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "retry_kwargs": {"max_retries": 30},
}


@shared_task(name="governance.tasks.heartbeat")
def heartbeat() -> dict[str, str]:
    """Beat enqueues this every minute (settings), so the log shows worker and beat alive."""
    at = timezone.now().isoformat()
    logger.info("heartbeat at %s", at)
    return {"status": "ok", "at": at}


ENQUEUE_LOCK = 0x5741_4943  # "WAIC": the advisory lock beat's ticks take in turn


@shared_task(name="governance.tasks.enqueue_due_sources")
def enqueue_due_sources() -> dict[str, int]:
    """Beat runs this every minute: one ingest_source task per due Source.

    Postgres decides what is due. A source enqueued recently and not yet
    claimed is left alone, so a backlog does not pile up duplicates; once that
    window has passed its message is presumed lost and it is enqueued again.
    A broker that restarted empty lost every queued message at once: then all
    waiting sources are enqueued again on this tick.
    """
    with transaction.atomic():
        # Two beats ticking at once take turns: otherwise the one that finds the broker's
        # marker missing (the first tick ever, say) could forget, and enqueue again, what
        # the other had just enqueued.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ENQUEUE_LOCK])
        if scheduling.broker_forgot_its_messages():
            forgotten = scheduling.forget_enqueued()
            resent = scheduling.resend_lost_extractions(now=timezone.now(), older_than=timedelta(0))
            if forgotten or resent:
                logger.warning(
                    "the broker lost its queue; %s source(s) enqueued again, "
                    "%s extraction(s) resent",
                    forgotten,
                    resent,
                )
        ids = scheduling.mark_due_sources_enqueued(now=timezone.now())
    scheduling.send_ingest_tasks(ids)
    return {"enqueued": len(ids)}


@shared_task(
    name="governance.tasks.ingest_source",
    bind=True,
    # Retries are for transient errors only (timeouts, 5xx, network); see pipeline.ingest.
    max_retries=3,
    **RETRY_WHILE_DATABASE_DOWN,
)
def ingest_source(self: Task, *, source_id: int, resume_lease: str | None = None) -> dict[str, Any]:
    resume = datetime.fromisoformat(resume_lease) if resume_lease else None
    source = pipeline.claim(source_id, due_only=True, resume=resume)
    if source is None:
        # Another worker holds it, or a duplicate delivery came after the fetch finished.
        logger.info("source %s is being fetched elsewhere or not due; skipped", source_id)
        return {"source": source_id, "outcome": "claimed elsewhere or not due"}
    allow_retry = self.request.retries < self.max_retries
    try:
        attempt = pipeline.ingest(
            source, allow_retry=allow_retry, on_stored=scheduling.enqueue_extraction
        )
    except (OperationalError, InterfaceError) as exc:
        # PostgreSQL went away mid-attempt. The retry takes this attempt's lease back as
        # soon as the database is back, rather than waiting for the lease to lapse.
        assert source.lease_expires_at is not None
        raise self.retry(
            exc=exc,
            kwargs={"source_id": source_id, "resume_lease": source.lease_expires_at.isoformat()},
            countdown=get_exponential_backoff_interval(2, self.request.retries, 60, True),
            max_retries=RETRY_WHILE_DATABASE_DOWN["retry_kwargs"]["max_retries"],
        ) from exc
    run = attempt.run
    if attempt.retry:
        # Exponential backoff with full jitter (what Celery's retry_backoff would compute).
        countdown = random.uniform(0, min(600, 2 ** (self.request.retries + 1)))
        raise self.retry(countdown=countdown)
    return {
        "source": source_id,
        "run": run.pk,
        "outcome": run.outcome,
        "failure_reason": run.failure_reason,
        "new": run.documents_new,
        "updated": run.documents_updated,
        "duplicate": run.documents_duplicate,
    }


@shared_task(name="governance.tasks.resend_lost_extractions")
def resend_lost_extractions() -> dict[str, int]:
    """Beat runs this every few minutes: extraction messages lost before or after they
    were sent are sent again (Postgres, not the queue, knows what still waits)."""
    older_than = timedelta(seconds=settings.EXTRACTION_RESEND_AFTER)
    return {"resent": scheduling.resend_lost_extractions(now=timezone.now(), older_than=older_than)}


@shared_task(name="governance.tasks.extract_documents", **RETRY_WHILE_DATABASE_DOWN)
def extract_documents(*, document_ids: list[int]) -> dict[str, Any]:
    """Run the extraction pipeline on stored Documents and file their Candidates
    (scheduling.enqueue_extraction sends them in batches)."""
    return {"documents": _extract_all(document_ids)}


@shared_task(name="governance.tasks.extract_document", **RETRY_WHILE_DATABASE_DOWN)
def extract_document(*, document_id: int) -> dict[str, Any]:
    """One document: what extract_documents does for a batch (messages sent before there
    were batches are still read)."""
    (outcome,) = _extract_all([document_id])
    return outcome


def _extract_all(document_ids: list[int]) -> list[dict[str, Any]]:
    """spaCy parses the English documents together (extract.pipeline.parse) and the
    curated records they name are looked up together (candidates.Curated); the rules and
    the writes are each document's own, so one that fails leaves the others done."""
    from governance.extract.candidates import Curated
    from governance.extract.pipeline import is_read, parse
    from governance.models import Document

    found = Document.objects.in_bulk(document_ids)
    documents = [found[pk] for pk in dict.fromkeys(document_ids) if pk in found]
    languages = {d.pk: _language(d) for d in documents}
    read = {d.pk: is_read(languages[d.pk]) for d in documents}
    parses = parse(d.text for d in documents if read[d.pk])  # lazily
    yielding = web_load.Yielding()  # analysts first: before the parse and each document
    extractions = {}
    for d in documents:
        yielding.wait()
        extractions[d.pk] = _extraction(d, languages[d.pk], next(parses) if read[d.pk] else None)
    if yielding.waited:
        logger.info("extraction waited %.1f s for the web server", yielding.waited)
    curated = Curated.named_in(e for e in extractions.values() if isinstance(e, Extraction))
    with count_cache.bumps_deferred():  # the cached pages learn of the batch once
        outcomes = [
            _filed(d, extraction, curated)
            if isinstance(extraction := extractions[d.pk], Extraction)
            else extraction
            for d in documents
        ]
    return outcomes + [{"document": pk, "status": "gone"} for pk in document_ids if pk not in found]


def _language(document: Document) -> str:
    """The document's language for batching. Should detection fail, "": extract() then
    detects again inside _extraction's guard, which marks that one document failed."""
    from governance.extract.pipeline import language_of

    try:
        return language_of(document.text, document.language)
    except Exception:
        logger.exception("language detection of document %s failed", document.pk)
        return ""


def _extraction(document: Document, language: str, doc: Doc | None) -> Extraction | dict:
    """What the rules find in the document; if they fail, the document is marked failed
    and its outcome returned instead."""
    from governance.extract.pipeline import extract

    published = document.published_at.date() if document.published_at else None
    try:
        return extract(document.text, language=language, published=published, doc=doc)
    except (OperationalError, InterfaceError):
        raise  # the database, not the rules: retried (RETRY_WHILE_DATABASE_DOWN)
    except Exception as exc:
        # A rule's bug must not lose the document: it stays visible as failed, to re-run.
        logger.exception("extraction of document %s failed", document.pk)
        _mark_failed(document, f"{type(exc).__name__}: {exc}")
        return {"document": document.pk, "status": "failed"}


def _filed(document: Document, extraction: Extraction, curated: Curated) -> dict[str, Any]:
    """write_candidates' outcome. If it fails for want of anything but the database (a
    rule's bug: a candidate candidates.candidate_columns refuses, say), none of the
    document's candidates are written, it is marked failed with the reason, to re-run
    once fixed, and the batch's other documents go on."""
    from governance.extract.candidates import write_candidates

    try:
        return {
            "document": document.pk,
            "status": "done",
            **write_candidates(document, extraction, curated),
        }
    except (OperationalError, InterfaceError):
        raise  # retried (RETRY_WHILE_DATABASE_DOWN)
    except type(document).DoesNotExist:
        return {"document": document.pk, "status": "gone"}  # deleted since it was read
    except Exception as exc:
        logger.exception("candidates of document %s could not be filed", document.pk)
        _mark_failed(document, f"{type(exc).__name__}: {exc}")
        return {"document": document.pk, "status": "failed"}


def _mark_failed(document: Document, error: str) -> None:
    from governance.models import Document, ExtractionStatus

    Document.objects.filter(pk=document.pk).update(
        extraction_status=ExtractionStatus.FAILED,
        extraction_error=error,
        extracted_at=timezone.now(),
    )


@shared_task(name="governance.tasks.send_digests", **RETRY_WHILE_DATABASE_DOWN)
def send_digests(*, frequency: str) -> dict[str, Any]:
    """Beat runs this daily and weekly: one send_user_digest task per user who follows
    something at that frequency, so one slow or failing mailbox holds up no one else."""
    from governance.alerts.digests import users_to_digest
    from governance.alerts.models import Frequency

    if frequency not in Frequency.values:
        raise ValueError(f"Unknown digest frequency {frequency!r}")
    user_ids = users_to_digest(frequency)
    for user_id in user_ids:
        send_user_digest.delay(user_id=user_id, frequency=frequency)
    return {"frequency": frequency, "users": len(user_ids)}


@shared_task(
    name="governance.tasks.send_user_digest",
    bind=True,
    max_retries=3,
    **RETRY_WHILE_DATABASE_DOWN,
)
def send_user_digest(self: Task, *, user_id: int, frequency: str) -> dict[str, Any]:
    """One user's digest. A failed send recorded nothing, so a retry (or the next run)
    sends the same items; a retry after a success finds them in the ledger."""
    from governance.alerts.digests import Outcome
    from governance.alerts.digests import send_user_digest as send

    outcome = send(user_id, frequency)
    if outcome == Outcome.FAILED and self.request.retries < self.max_retries:
        raise self.retry(countdown=60 * 5 * (self.request.retries + 1))
    return {"user": user_id, "frequency": frequency, "outcome": str(outcome)}


@shared_task(
    name="governance.tasks.build_dataset_dump",
    # Acknowledged on receipt, unlike the other tasks: a build can outlast the broker's
    # visibility timeout, and a redelivered message would build the same dump twice. A
    # build lost with its worker is replaced by the next day's.
    acks_late=False,
    soft_time_limit=settings.DUMPS_TIME_LIMIT,
    time_limit=settings.DUMPS_TIME_LIMIT + 60,
)
def build_dataset_dump() -> dict[str, Any]:
    """Beat runs this daily: the full dataset dump into DUMPS_DIR, older ones pruned."""
    from governance import dumps

    dump = dumps.build_dump()
    return {
        "name": dump.name,
        "size": dump.size,
        "rows": (dump.manifest or {}).get("row_counts", {}),
    }
