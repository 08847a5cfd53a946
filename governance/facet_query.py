"""Every facet of the statements browser in one query.

Each facet's counts are an ordinary grouped query (its own filters, its own plan, its top
rows only); they are glued with UNION ALL, and names and slugs are joined in *after*
grouping, so a label costs one primary-key lookup per shown row, never a join over the
statements. The labels of selected values come in the same query (with no count), so a
selected value that no statement matches any more still has its name. The sizes of the
facets' scopes come in the same query too (rows with no value), so a caller can tell a
cut scope from a whole one.

The scopes are common table expressions, computed once each however many facets count
them: with no facet ticked every facet counts the same statements, and scanning them once
instead of twelve times is what keeps a common term with a date range under the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

from governance.sql_compose import compiled


@dataclass(frozen=True)
class LabelTable:
    """Where a facet's keys get their URL value and label: `model` joined on `key`."""

    model: type[Model]
    key: str  # column the counted key matches (the primary key)
    value: str  # SQL for the URL value, over alias t: "t.slug", "lower(t.code)"
    label: str  # column shown to the analyst
    selected_by: str  # column the selected values are compared with


@dataclass(frozen=True)
class FacetRow:
    facet: str
    value: str | None  # None: `count` is the size of the facet's scope
    label: str | None
    count: int | None  # None: only the label of a selected value


def facet_rows(
    counts: dict[str, QuerySet[Any] | tuple[str, list[Any]]],
    labels: dict[str, LabelTable],
    selected: dict[str, list[str]],
    scopes: dict[str, str] | None = None,
    shared: dict[str, QuerySet[Any]] | None = None,
) -> list[FacetRow]:
    """One round trip for all facets. `counts` maps a facet to a grouped queryset (or its
    SQL and parameters) with columns `key` and `n`, ordered and sliced; facets without a
    LabelTable show the key.
    `shared` names querysets that become materialized common table expressions, which the
    `counts` may read by name; `scopes` maps a facet to the one of them it counts, whose
    number of rows is returned."""
    ctes: list[str] = []
    parts: list[str] = []
    params: list[Any] = []
    q = connection.ops.quote_name
    for cte, qs in (shared or {}).items():
        inner, inner_params = compiled(qs)
        ctes.append(f"{q(cte)} AS MATERIALIZED ({inner})")
        params += inner_params
    for name, cte in (scopes or {}).items():
        parts.append(f"SELECT %s, NULL, NULL, (SELECT COUNT(*) FROM {q(cte)})")
        params.append(name)
    for name, qs in counts.items():
        inner, inner_params = qs if isinstance(qs, tuple) else compiled(qs)
        table = labels.get(name)
        if table is None:
            parts.append(
                f"SELECT %s, f.key::text, f.key::text, f.n FROM ({inner}) f WHERE f.key IS NOT NULL"
            )
        else:
            parts.append(
                f"SELECT %s, ({table.value})::text, t.{q(table.label)}::text, f.n "
                f"FROM ({inner}) f JOIN {q(table.model._meta.db_table)} t "
                f"ON t.{q(table.key)} = f.key"
            )
        params += [name, *inner_params]
    for name, values in selected.items():
        table = labels.get(name)
        if table is None or not values:
            continue
        parts.append(
            f"SELECT %s, ({table.value})::text, t.{q(table.label)}::text, NULL::bigint "
            f"FROM {q(table.model._meta.db_table)} t WHERE t.{q(table.selected_by)} = ANY(%s)"
        )
        params += [name, list(values)]
    if not parts:
        return []
    sql = " UNION ALL ".join(f"({p})" for p in parts)
    if ctes:
        sql = f"WITH {', '.join(ctes)} {sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [FacetRow(*row) for row in cursor.fetchall()]
