"""Cursor pagination by keyset: each page starts strictly after the last row of the page
before, found through the list's stable order, never by OFFSET. Paging through a list
therefore returns every row exactly once even while rows are added or removed.

A list orders by at most one column (which may be null; nulls come last) and then by its
primary key, which makes the order total. The cursor is the position of a boundary row in
that order, signed so a client cannot forge or alter it, and bound to its list.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db.models import F, Model, Q, QuerySet, prefetch_related_objects
from django.db.models.expressions import OrderBy
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PaginationBase

from governance.api.errors import ApiError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_SALT = "governance.api.cursor"
INVALID_CURSOR = "Invalid cursor: use the `next` or `previous` link as given."


def _identity(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Keyset:
    """A list's total order: `field` (optional, nullable or not), then the primary key."""

    name: str  # a cursor of one list is refused by another
    field: str | None = None
    descending: bool = False
    nullable: bool = False
    parse: Callable[[Any], Any] = _identity  # cursor value (JSON) -> field value
    pk: str = "pk"

    def order_by(self, *, reverse: bool = False) -> list[OrderBy]:
        desc = self.descending != reverse
        out: list[OrderBy] = []
        if self.field:
            expr = F(self.field)
            if self.nullable:
                # Nulls last going forward, so first when walking backwards.
                nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
                out.append(expr.desc(**nulls) if desc else expr.asc(**nulls))
            else:
                out.append(expr.desc() if desc else expr.asc())
        out.append(F(self.pk).desc() if desc else F(self.pk).asc())
        return out

    def segments(self, position: tuple[Any, Any] | None, *, reverse: bool) -> list[Q]:
        """Filters for the rows after `position` (before it when `reverse`), as consecutive
        runs of the order. Each run is a range an index can answer; a null column splits
        the order in two runs (values, then nulls), since `col < x OR col IS NULL` cannot
        be read as one index range."""
        if position is None:
            return [Q()]
        value, pk = position
        desc = self.descending != reverse
        lt, le = ("lt", "lte") if desc else ("gt", "gte")
        if not self.field:
            return [Q(**{f"{self.pk}__{lt}": pk})]
        f = self.field
        if value is None:  # the boundary row is among the nulls
            among_nulls = Q(**{f"{f}__isnull": True, f"{self.pk}__{lt}": pk})
            return [among_nulls, Q(**{f"{f}__isnull": False})] if reverse else [among_nulls]
        # `field <= v AND (field < v OR pk < id)`: the first term is the index range.
        after = Q(**{f"{f}__{lt}": value}) | Q(**{f"{self.pk}__{lt}": pk})
        values = Q(**{f"{f}__{le}": value}) & after
        if self.nullable and not reverse:
            return [values, Q(**{f"{f}__isnull": True})]
        return [values]

    def position(self, row: Model) -> tuple[Any, Any]:
        value = getattr(row, self.field) if self.field else None
        return value, getattr(row, self.pk)


@dataclass
class Listing:
    """What a list endpoint returns: its filtered rows and the order to page them in."""

    queryset: QuerySet[Any]
    keyset: Keyset


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    return value


def encode_cursor(keyset: Keyset, position: tuple[Any, Any], *, reverse: bool) -> str:
    value, pk = position
    payload = {"k": keyset.name, "v": _to_json(value), "i": _to_json(pk), "r": reverse}
    return signing.dumps(payload, salt=_SALT, compress=True)


def decode_cursor(keyset: Keyset, cursor: str) -> tuple[tuple[Any, Any], bool]:
    """(position, reverse) from a cursor this list issued; ApiError(400) otherwise."""
    try:
        payload = signing.loads(cursor, salt=_SALT)
    except signing.BadSignature:
        raise ApiError(400, INVALID_CURSOR) from None
    if not isinstance(payload, dict) or payload.get("k") != keyset.name:
        raise ApiError(400, "This cursor belongs to another list or sort order.")
    try:
        value = None if payload["v"] is None else keyset.parse(payload["v"])
        return (value, payload["i"]), bool(payload["r"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, INVALID_CURSOR) from None


class KeysetPagination(PaginationBase):
    """`limit` and an opaque `cursor` in; `results` with absolute `next`/`previous` out."""

    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page")
        cursor: str | None = Field(
            None,
            max_length=1000,
            description="Opaque position from a `next` or `previous` link; omit for page 1",
        )

    class Output(Schema):
        next: str | None = Field(description="The next page, or null on the last")
        previous: str | None = Field(description="The page before, or null on the first")
        results: list[Any]

    items_attribute = "results"

    def paginate_queryset(
        self, queryset: Any, pagination: Input, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        listing: Listing = queryset
        keyset, limit = listing.keyset, pagination.limit
        position, reverse = (
            decode_cursor(keyset, pagination.cursor) if pagination.cursor else (None, False)
        )
        rows = _fetch(listing.queryset, keyset, position, reverse, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        if reverse:
            rows.reverse()
        # Going forward there is a next page when a row was left over; walking back, the
        # page we came from always follows (and vice versa for the page before).
        has_next = bool(rows) and (reverse or more)
        has_previous = position is not None and (not reverse or more)
        next_cursor = previous_cursor = None
        if has_next:
            next_cursor = encode_cursor(keyset, keyset.position(rows[-1]), reverse=False)
        if has_previous:
            if rows:
                previous_cursor = encode_cursor(keyset, keyset.position(rows[0]), reverse=True)
            else:  # past the end: walk back from the position asked for
                previous_cursor = encode_cursor(keyset, position, reverse=True)
        # Prefetches run once for the page, however many index runs were read.
        prefetch_related_objects(rows, *listing.queryset._prefetch_related_lookups)
        return {
            "next": _page_url(request, next_cursor),
            "previous": _page_url(request, previous_cursor),
            "results": rows,
        }


def _fetch(
    queryset: QuerySet[Any],
    keyset: Keyset,
    position: tuple[Any, Any] | None,
    reverse: bool,
    n: int,
) -> list[Any]:
    base = queryset.prefetch_related(None).order_by(*keyset.order_by(reverse=reverse))
    rows: list[Any] = []
    for segment in keyset.segments(position, reverse=reverse):
        rows += base.filter(segment)[: n - len(rows)]
        if len(rows) >= n:
            break
    return rows


def _page_url(request: HttpRequest, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.GET.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
