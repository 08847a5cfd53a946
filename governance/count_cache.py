"""Counts that are expensive at scale but change only when curated data changes (the
statements browser's facet counts, the dashboard's figures), cached in Redis under a
*revision* that every such change moves on.

Invalidation is by revision, not by key: a change to a statement, its links, or a record
whose name a facet shows bumps the revision, and every cached count of the old revision
is simply never asked for again (it expires after ENTRY_TTL). It bumps again once the
transaction commits: a reader that filled the cache between the write and the commit
would otherwise have filed the old rows under the new revision.

What does not go through the ORM's signals bumps explicitly: `bump()` after the data
generator's COPY, after a merge, and after bulk updates (see the callers). ENTRY_TTL bounds
what an unforeseen path could leave stale. With Redis unreachable every read is a miss and
the counts are computed as before (waic/cache.py).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

# Two revisions: curated data (statements, records, participations) and what ingestion
# writes (documents, runs), which changes far more often and only a few pages show.
CURATED, INGESTED = "curated", "ingested"
ENTRY_TTL = 15 * 60  # seconds
# Part of every key: raise it when the shape of a cached value changes, so that a deploy
# never reads what the previous version stored.
SCHEMA = 2


def revision_key(kind: str) -> str:
    """The cache key of `kind`'s revision, for a caller reading it with other keys."""
    return f"revision:{kind}"


def revision(kind: str = CURATED) -> str:
    """The current revision; a new one if Redis has none (first use, or after a flush)."""
    key = revision_key(kind)
    current = cache.get(key)
    if current is None:
        cache.add(key, uuid.uuid4().hex, None)
        current = cache.get(key) or "none"
    return current


# The kinds bumped inside bumps_deferred(), bumped once each on leaving it.
_deferred: ContextVar[set[str] | None] = ContextVar("count_cache_deferred", default=None)


def bump(kind: str = CURATED) -> None:
    """A new revision now, and again once the current transaction commits (outside one,
    now is after the commit: once is enough).

    Now: this process's next reads (inside the same transaction, tests included) see the
    change. After the commit: another process may have cached the pre-commit rows under
    the first new revision meanwhile."""
    if (deferred := _deferred.get()) is not None:
        deferred.add(kind)
        return
    _new_revision(kind)
    if transaction.get_connection().in_atomic_block:  # in autocommit, that was the commit
        transaction.on_commit(lambda: _new_revision(kind))


@contextmanager
def bumps_deferred() -> Iterator[None]:
    """Inside, bump() only notes the kind; on leaving (an error included), each kind
    noted is bumped once. For a job that commits many writes and reads no counts
    meanwhile: an extraction batch bumped twice per document, two Redis writes each."""
    token = _deferred.set(set())
    try:
        yield
    finally:
        kinds = _deferred.get() or set()
        _deferred.reset(token)
        for kind in sorted(kinds):
            bump(kind)


def bump_all() -> None:
    for kind in (CURATED, INGESTED):
        bump(kind)


def _new_revision(kind: str) -> None:
    cache.set(revision_key(kind), uuid.uuid4().hex, None)


def _key(name: str, params: Any) -> str:
    digest = hashlib.sha1(
        json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()
    return f"counts:v{SCHEMA}:{revision()}:{name}:{digest}"


def peek(name: str, params: Any) -> Any:
    """The value stored for (name, params) at the current revision, or None."""
    return cache.get(_key(name, params))


def store(name: str, params: Any, value: Any) -> None:
    cache.set(_key(name, params), value, ENTRY_TTL)


def cached[T](name: str, params: Any, compute: Callable[[], T]) -> T:
    """compute()'s result for (name, params) at the current revision, from the cache when
    there; params must be JSON-serializable (they are hashed into the key)."""
    key = _key(name, params)
    hit = cache.get(key)
    if hit is not None:
        return hit
    value = compute()
    cache.set(key, value, ENTRY_TTL)
    return value


def _curated_changed(sender: type, **kwargs: Any) -> None:
    bump(CURATED)


def _ingested_changed(sender: type, **kwargs: Any) -> None:
    bump(INGESTED)


# What ingestion writes; the review queue's own bookkeeping and the alerts change nothing
# a cached page shows (an accepted candidate writes curated records, which bump).
INGESTED_MODELS = {"Document", "DocumentCountry", "IngestRun", "Source"}
UNSHOWN_MODELS = {"Candidate", "Decision", "Merge", "Follow", "Digest", "DigestItem"}


def connect_signals() -> None:
    """Bump on every write to what cached counts and pages read (from AppConfig.ready):
    every model of the app, its many-to-many tables included, but the ones above."""
    from django.apps import apps

    for model in apps.get_app_config("governance").get_models(include_auto_created=True):
        name = model.__name__
        if name in UNSHOWN_MODELS or name.startswith("Historical"):
            continue
        receiver = _ingested_changed if name in INGESTED_MODELS else _curated_changed
        uid = f"count_cache:{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=uid + ":save")
        post_delete.connect(receiver, sender=model, dispatch_uid=uid + ":delete")
        if model._meta.auto_created:  # a many-to-many table: add(), remove(), clear()
            m2m_changed.connect(receiver, sender=model, dispatch_uid=uid + ":m2m")
