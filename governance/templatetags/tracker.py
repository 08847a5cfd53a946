"""Small display helpers for the analyst pages."""

from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.db.models import Model

from governance.search import COUNT_CAP

register = template.Library()


@register.filter
def capped(count: int, capped: bool | None = None) -> str:
    """ "1,234", or "10,000+" when the count stopped at the cap."""
    if capped or (capped is None and count > COUNT_CAP):
        return f"{intcomma(COUNT_CAP)}+"
    return intcomma(count)


@register.filter
def fact_key(record: Model) -> str:
    """ "participation-12": what a fact row's `data-fact` names, so that a reader (or a
    test) can tell which record each row of a page shows."""
    return f"{record._meta.model_name}-{record.pk}"
