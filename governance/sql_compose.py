"""Several ORM querysets sent as one SQL statement, for pages whose small reads would
otherwise each cost a round trip. The querysets keep their own plans: they become
scalar subqueries of one SELECT (uncorrelated, so each runs once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, Func, IntegerField, QuerySet


def compiled(qs: QuerySet[Any]) -> tuple[str, list[Any]]:
    """The SQL and parameters Django would send for `qs`."""
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


@dataclass(frozen=True)
class Rows:
    """A queryset whose rows come back in one column, as a list of dicts (via JSON)."""

    qs: QuerySet[Any]


def count_of(qs: QuerySet[Any], *, distinct: str = "") -> QuerySet[Any]:
    """One row, one column `n`: how many rows `qs` has (or distinct values of a column).
    A plain COUNT function, not an aggregate, so Django adds no GROUP BY."""
    if distinct:
        template, expressions = "COUNT(DISTINCT %(expressions)s)", [F(distinct)]
    else:
        template, expressions = "COUNT(*)", []
    counted = Func(*expressions, template=template, output_field=IntegerField())
    return qs.order_by().annotate(n=counted).values("n")


def select_scalars(columns: dict[str, QuerySet[Any] | Rows]) -> dict[str, Any]:
    """`SELECT (q1) AS a, (q2) AS b, …`: a queryset must return one column and at most
    one row (NULL when none); a `Rows` returns its rows as a list of dicts."""
    parts: list[str] = []
    params: list[Any] = []
    for name, qs in columns.items():
        if isinstance(qs, Rows):
            sql, qs_params = compiled(qs.qs)
            sql = f"SELECT coalesce(json_agg(r), '[]'::json) FROM ({sql}) r"
        else:
            sql, qs_params = compiled(qs)
        parts.append(f"({sql}) AS {connection.ops.quote_name(name)}")
        params += qs_params
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(columns, row, strict=True))
