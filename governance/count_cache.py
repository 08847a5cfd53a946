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
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

REVISION_KEY = "counts:revision"
ENTRY_TTL = 15 * 60  # seconds


def revision() -> str:
    """The current revision; a new one if Redis has none (first use, or after a flush)."""
    current = cache.get(REVISION_KEY)
    if current is None:
        cache.add(REVISION_KEY, uuid.uuid4().hex, None)
        current = cache.get(REVISION_KEY) or "none"
    return current


def bump() -> None:
    """A new revision now, and again once the current transaction commits.

    Now: this process's next reads (inside the same transaction, tests included) see the
    change. After the commit: another process may have cached the pre-commit rows under
    the first new revision meanwhile."""
    _new_revision()
    transaction.on_commit(_new_revision)


def _new_revision() -> None:
    cache.set(REVISION_KEY, uuid.uuid4().hex, None)


def _key(name: str, params: Any) -> str:
    digest = hashlib.sha1(
        json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()
    return f"counts:{revision()}:{name}:{digest}"


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


def _changed(sender: type, **kwargs: Any) -> None:
    bump()


def connect_signals() -> None:
    """Bump on every write to what cached counts read (called from AppConfig.ready)."""
    from governance.models import (
        Country,
        Event,
        Participation,
        Person,
        Proposal,
        Statement,
    )

    for model in (Statement, Country, Event, Participation, Person, Proposal):
        uid = f"count_cache:{model.__name__}"
        post_save.connect(_changed, sender=model, dispatch_uid=uid + ":save")
        post_delete.connect(_changed, sender=model, dispatch_uid=uid + ":delete")
    for through in (Statement.proposals.through, Statement.countries.through):
        m2m_changed.connect(_changed, sender=through, dispatch_uid=f"count_cache:{through}")
